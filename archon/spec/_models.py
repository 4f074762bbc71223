"""pydantic models of the pipeline file (the YAML boundary only)."""

from __future__ import annotations

from typing import Any
from typing import ClassVar
from typing import Literal

from pydantic import BaseModel
from pydantic import ConfigDict
from pydantic import Field
from pydantic import NonNegativeInt
from pydantic import PositiveFloat
from pydantic import PositiveInt
from pydantic import field_validator
from pydantic import model_validator

#: Upper bounds that keep a typo (``samples: 10^30``) from exhausting memory at run time.
MAX_TOKENS = 1_000_000
MAX_SAMPLES = 1000


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PriceSpec(_Strict):
    """Dollars per 1,000 tokens."""

    prompt: float = Field(default=0.0, ge=0)
    completion: float = Field(default=0.0, ge=0)


class ModelSpec(_Strict):
    """A model alias: a model string plus its sampling defaults and connection settings."""

    model: str = Field(
        min_length=1,
        description="model string: local/<name-or-gguf>, a litellm route (openai/gpt-4o), vllm/<id>, synthetic/<name>",
    )
    temperature: float = Field(default=0.7, ge=0, le=5)
    top_p: float = Field(default=1.0, gt=0, le=1)
    max_tokens: PositiveInt = Field(default=512, le=MAX_TOKENS)
    stop: list[str] | None = None
    api_base: str | None = Field(default=None, description="base URL of an OpenAI-compatible server")
    api_key_env: str | None = Field(
        default=None,
        description="name of the environment variable holding the API key (never the key)",
        pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,127}$",
    )
    price_per_1k: PriceSpec | float | None = Field(
        default=None, description="dollars per 1k tokens: one number for both, or {prompt, completion}"
    )
    concurrency: PositiveInt | None = Field(default=None, le=1024, description="concurrent requests to this model")
    timeout_s: PositiveFloat = Field(default=120.0, le=3600)
    max_retries: NonNegativeInt = Field(default=4, le=20)
    mode: Literal["auto", "chat", "text"] = Field(
        default="auto", description="chat messages or plain-text completion; auto picks per backend"
    )
    context: PositiveInt = Field(
        default=2048, le=1_048_576, description="context window for local models (n_ctx; vLLM's max_model_len)"
    )
    engine: dict[str, Any] | None = Field(
        default=None,
        description="vllm/ models: vLLM engine options (tensor_parallel_size, gpu_memory_utilization, dtype, ...)",
    )

    @field_validator("api_base")
    @classmethod
    def _no_credentials(cls, value: str | None) -> str | None:
        if value is None:
            return value
        from urllib.parse import urlsplit

        try:
            parts = urlsplit(value)
        except ValueError:
            raise ValueError("api_base is not a URL") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("api_base must be an http(s) URL such as http://127.0.0.1:8000/v1")
        if parts.username or parts.password:  # never echo them
            raise ValueError("api_base must not hold credentials (user:password@): put the key in api_key_env")
        return value

    client: Literal["auto", "litellm", "http"] = Field(
        default="auto",
        description="for api_base servers: http (archon's lean OpenAI-protocol client, the default for "
        "openai/, text-completion-openai/ and hosted_vllm/ routes) or litellm",
    )


class DatasetSpec(_Strict):
    """Where ``archon eval`` reads examples when no --dataset/--benchmark is given."""

    path: str | None = Field(default=None, description="a .jsonl or .csv file, relative to this YAML file")
    benchmark: str | None = Field(default=None, description="a built-in benchmark name instead of a path")
    input: str = Field(default="input", description="the field holding the input")
    answer: str = Field(default="answer", description="the field holding the gold answer")
    dev: float = Field(default=0.5, gt=0, lt=1, description="the dev share of the deterministic dev/test split")
    train: float = Field(
        default=0.0,
        ge=0,
        lt=1,
        description="the share held out first as the train split, where a search's demonstrations come from "
        "(never scored); train + dev < 1, the rest is test",
    )
    seed: int = Field(default=0, description="the split's seed")


class BudgetLimits(_Strict):
    calls: PositiveInt | None = None
    tokens: PositiveInt | None = None
    usd: PositiveFloat | None = None


class BudgetSpec(_Strict):
    per_query: BudgetLimits | None = None


class Condition(_Strict):
    """``when:`` — run this node for an item only if a signal from an earlier node says
    the item is hard (difficulty-adaptive escalation); otherwise it yields nothing and
    makes no call. The budget still reserves its worst case."""

    node: str = Field(description="the earlier node whose candidates give the signal")
    agreement_below: float | None = Field(
        default=None,
        gt=0,
        le=1,
        description="run when the leading answer's share of that node's candidates is below this",
    )
    unverified: bool = Field(default=False, description="run when none of that node's candidates is verified correct")
    normalize: Literal["exact", "text", "number"] = Field(
        default="text", description="how answers are compared for agreement_below (as vote compares them)"
    )

    @model_validator(mode="after")
    def _one_signal(self) -> Condition:
        if (self.agreement_below is None) == (not self.unverified):
            raise ValueError("give one signal: agreement_below: <share> or unverified: true")
        return self


class NodeSpec(_Strict):
    """Fields every node has. Operators subclass it with their own parameters.

    Class attributes tell the graph and plan stages what the operator needs:
    ``consumes`` (the kinds of input it takes; ``query`` means it reads the input item
    and takes no ``inputs``), ``produces``, and ``needs_model``.
    """

    consumes: ClassVar[frozenset[str]] = frozenset({"candidates"})
    produces: ClassVar[str] = "candidates"
    needs_model: ClassVar[bool] = True

    op: str
    inputs: list[str] = Field(default_factory=list, description="ids of the nodes feeding this one")
    enabled: bool = Field(default=True, description="a disabled node passes its input through")
    when: Condition | None = Field(
        default=None, description="escalation: run only when an earlier node's candidates disagree or are unverified"
    )
    description: str | None = None

    def max_calls(self, n_in: int, n_models: int = 1) -> int:
        """Worst-case LLM calls for ``n_in`` input candidates."""
        return 0

    def max_out(self, n_in: int, n_models: int = 1) -> int:
        """Worst-case number of candidates this node outputs."""
        return n_in

    def yields_tests(self) -> str | None:
        """The kind of tests this node yields (``code`` or ``text``), None if it yields none."""
        return None


class LLMNodeSpec(NodeSpec):
    """A node that calls a model."""

    model: str | None = Field(default=None, min_length=1, description="a model alias from models:, or a model string")
    system: str | None = Field(default=None, description="system prompt")
    template: str | None = Field(
        default=None, description="Jinja2 template over the input item's fields; default: {{ input }}"
    )
    prompt: str | None = Field(
        default=None, description="override of the operator's own instructions (a Jinja2 template)"
    )
    temperature: float | None = Field(default=None, ge=0, le=5)
    top_p: float | None = Field(default=None, gt=0, le=1)
    max_tokens: PositiveInt | None = Field(default=None, le=MAX_TOKENS)
    stop: list[str] | None = None

    def sampling_overrides(self) -> dict[str, Any]:
        return {
            k: getattr(self, k) for k in ("temperature", "top_p", "max_tokens", "stop") if getattr(self, k) is not None
        }
