"""Parameters of the built-in operators (one class per operator, ``<Op>Spec``)."""

from __future__ import annotations

from typing import ClassVar
from typing import Literal

from pydantic import Field
from pydantic import PositiveFloat
from pydantic import PositiveInt
from pydantic import model_validator

from archon.spec._models import MAX_SAMPLES
from archon.spec._models import LLMNodeSpec
from archon.spec._models import NodeSpec


class GenerateSpec(LLMNodeSpec):
    """generate: ``samples`` answers from each model in ``model``/``models``."""

    consumes: ClassVar[frozenset[str]] = frozenset({"query"})
    op: Literal["generate"] = "generate"
    samples: PositiveInt = Field(default=1, le=MAX_SAMPLES, description="samples per model")
    models: list[str] | None = Field(default=None, description="several models (aliases or strings)")
    early_stop: float | None = Field(
        default=None,
        gt=0.5,
        lt=1.0,
        description="adaptive sampling: draw samples in waves of `wave` and stop once the leading answer's "
        "posterior probability of being the majority reaches this (e.g. 0.95); `samples` is the maximum",
    )
    wave: PositiveInt = Field(default=4, le=MAX_SAMPLES, description="samples per wave with early_stop (per model)")
    normalize: Literal["exact", "text", "number"] = Field(
        default="text", description="with early_stop: how answers are compared (as vote compares them)"
    )

    first: PositiveInt | None = Field(
        default=None,
        le=MAX_SAMPLES,
        description="first-finish: launch every sample, keep the first this many to finish, cancel the rest",
    )

    @model_validator(mode="after")
    def _first_or_early_stop(self) -> GenerateSpec:
        if self.first is not None and self.early_stop is not None:
            raise ValueError("first and early_stop do not combine: use one")
        return self

    def max_calls(self, n_in: int, n_models: int = 1) -> int:
        return self.samples * n_models

    def max_out(self, n_in: int, n_models: int = 1) -> int:
        return min(self.first, self.samples * n_models) if self.first else self.samples * n_models


class CritiqueSpec(LLMNodeSpec):
    """critique: one call writes a critique of every candidate."""

    op: Literal["critique"] = "critique"

    def max_calls(self, n_in: int, n_models: int = 1) -> int:
        return 1 if n_in else 0


class RankSpec(LLMNodeSpec):
    """rank: one call orders the candidates; the best ``top_k`` go on."""

    op: Literal["rank"] = "rank"
    top_k: PositiveInt = Field(default=5, le=MAX_SAMPLES, description="how many candidates to keep")
    method: Literal["list", "pairwise"] = Field(
        default="list",
        description="list: one call orders them all; pairwise: pairs judged in both orders, "
        "aggregated Bradley-Terry (2 calls per pair)",
    )
    pairs: PositiveInt | None = Field(
        default=None, le=4096, description="pairwise: the most pairs compared (default: every pair)"
    )

    def max_calls(self, n_in: int, n_models: int = 1) -> int:
        if n_in <= 1:
            return 0
        if self.method == "list":
            return 1
        every = n_in * (n_in - 1) // 2
        return 2 * (every if self.pairs is None else min(self.pairs, every))

    def max_out(self, n_in: int, n_models: int = 1) -> int:
        return min(self.top_k, n_in)


class FuseSpec(LLMNodeSpec):
    """fuse: ``samples`` calls each merge the candidates into one answer."""

    op: Literal["fuse"] = "fuse"
    samples: PositiveInt = Field(default=1, le=MAX_SAMPLES, description="fused answers to write")

    def max_calls(self, n_in: int, n_models: int = 1) -> int:
        return self.samples if n_in else 0

    def max_out(self, n_in: int, n_models: int = 1) -> int:
        return self.samples if n_in else 0


class VerifySpec(LLMNodeSpec):
    """verify: one call per candidate judges it; those judged correct go on."""

    op: Literal["verify"] = "verify"
    on_none: Literal["keep_all", "keep_best"] = Field(
        default="keep_all", description="when no candidate is judged correct: keep all, or the first"
    )
    judgments: PositiveInt = Field(
        default=1, le=MAX_SAMPLES, description="judgments per candidate (samples 0..m-1 of the verify call)"
    )
    min_correct: PositiveInt | None = Field(
        default=None, description="k of the k-of-m rule: judgments that must say correct (default: a majority)"
    )

    @model_validator(mode="after")
    def _k_of_m(self) -> VerifySpec:
        if self.min_correct is not None and self.min_correct > self.judgments:
            raise ValueError(f"min_correct ({self.min_correct}) must be at most judgments ({self.judgments})")
        return self

    def max_calls(self, n_in: int, n_models: int = 1) -> int:
        return n_in * self.judgments


class VoteSpec(NodeSpec):
    """vote: the majority answer first (self-consistency); makes no calls."""

    needs_model: ClassVar[bool] = False
    op: Literal["vote"] = "vote"
    model: str | None = Field(
        default=None, description="accepted and unused, so vote and fuse can be swapped in a search"
    )
    template: str | None = Field(default=None, description="accepted and unused (see model)")
    system: str | None = Field(default=None, description="accepted and unused (see model)")
    normalize: Literal["exact", "text", "number"] = Field(
        default="text", description="how answers are compared: exact, text (case/space/punctuation), number"
    )


class UnitTestGenerateSpec(LLMNodeSpec):
    """unit_test_generate: one call writes ``count`` tests for the query."""

    consumes: ClassVar[frozenset[str]] = frozenset({"query"})
    produces: ClassVar[str] = "tests"
    op: Literal["unit_test_generate"] = "unit_test_generate"
    count: PositiveInt = Field(default=5, le=MAX_SAMPLES, description="tests to write")
    kind: Literal["code", "text"] = Field(
        default="text", description="code: Python assert lines; text: natural-language checks"
    )

    def max_calls(self, n_in: int, n_models: int = 1) -> int:
        return 1

    def max_out(self, n_in: int, n_models: int = 1) -> int:
        return 0

    def yields_tests(self) -> str | None:
        return self.kind


class UnitTestEvaluateSpec(LLMNodeSpec):
    """unit_test_evaluate: orders candidates by tests passed (code runs in the sandbox)."""

    consumes: ClassVar[frozenset[str]] = frozenset({"candidates", "tests"})
    needs_model: ClassVar[bool] = False
    op: Literal["unit_test_evaluate"] = "unit_test_evaluate"
    top_k: PositiveInt | None = Field(default=None, le=MAX_SAMPLES, description="keep only the best top_k")
    tests_field: str | None = Field(
        default=None, description="read tests from this field of the input item instead of a tests node"
    )
    tests_kind: Literal["code", "text"] = Field(default="code", description="kind of the tests read from tests_field")
    timeout_s: PositiveFloat = Field(default=10.0, le=600, description="sandbox time limit per candidate")
    memory_mb: PositiveInt = Field(default=512, le=65536, description="sandbox memory limit per candidate")

    def max_calls(self, n_in: int, n_models: int = 1) -> int:
        # Text tests are judged by the model (one call per candidate); code tests are run.
        return n_in if self.model is not None else 0


BUILTIN_NODE_TYPES: dict[str, type[NodeSpec]] = {
    cls.model_fields["op"].default: cls
    for cls in (
        GenerateSpec,
        CritiqueSpec,
        RankSpec,
        FuseSpec,
        VerifySpec,
        VoteSpec,
        UnitTestGenerateSpec,
        UnitTestEvaluateSpec,
    )
}
