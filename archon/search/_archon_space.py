"""The built-in ``archon:`` space: Archon's architecture space (arXiv 2409.15254) from a
list of models, so a user need not write a template.

An architecture is: the top ``n_generators`` models of the power ranking as generators,
``samples`` each; then ``fusion_layers`` layers, each optionally a critic and a ranker
(``critic_ranker``) before ``width`` fusers (the top fusers of the ranking); a final
fuser when the last layer is wider than one (a vote when there is no fusion layer); and
optionally a verifier (``verifier``) or generated unit tests (``unit_tests``) filtering
the generations first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from pydantic import ConfigDict
from pydantic import Field
from pydantic import PositiveInt
from pydantic import field_validator

from archon.search._param import Param


class ArchonBlock(BaseModel):
    """``archon:`` in a search-space file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    models: list[str] = Field(..., min_length=1, description="model strings (local/..., openai/..., synthetic/...)")
    generators: PositiveInt = Field(3, description="at most this many generators (the top of the power ranking)")
    samples: tuple[PositiveInt, PositiveInt] = Field((1, 5), description="samples per generator: [low, high]")
    fusion_layers: tuple[int, int] = Field((0, 2), description="fusion layers: [low, high]")
    width: tuple[PositiveInt, PositiveInt] = Field((1, 3), description="fusers per fusion layer: [low, high]")
    critic_ranker: bool = Field(True, description="search a critic + ranker before each fusion layer")
    rank_top_k: PositiveInt = Field(5, description="candidates the ranker keeps")
    verifier: bool = Field(False, description="search a verifier that keeps the generations it judges correct")
    unit_tests: bool = Field(False, description="search generated unit tests that rank the generations")
    template: str | None = Field(None, description="the generators' Jinja2 template (default {{ input }})")
    max_tokens: PositiveInt = Field(256, description="max_tokens of every call")
    temperature: float = Field(0.7, ge=0, le=2, description="generators' temperature")
    rank_items: PositiveInt = Field(20, description="dev items the power ranking (archon rank-models) scores on")

    @field_validator("samples", "fusion_layers", "width")
    @classmethod
    def _ordered(cls, v: tuple[int, int]) -> tuple[int, int]:
        if v[0] > v[1] or v[0] < 0:
            raise ValueError(f"need [low, high] with 0 <= low <= high, got {list(v)}")
        return v


@dataclass(frozen=True)
class Ranking:
    """Models best first, as generators and as fusers, with their dev scores."""

    generators: tuple[str, ...]
    fusers: tuple[str, ...]
    scores: Mapping[str, Mapping[str, float]]  # role -> model -> score
    items: int = 0


def default_ranking(block: ArchonBlock) -> Ranking:
    """The listed order: used until ``archon rank-models`` has ranked the models."""
    return Ranking(tuple(block.models), tuple(block.models), {})


def archon_params(block: ArchonBlock) -> list[Param]:
    params = [
        Param("n_generators", "int", 1, min(block.generators, len(block.models))),
        Param("samples", "int", block.samples[0], block.samples[1]),
        Param("fusion_layers", "int", block.fusion_layers[0], block.fusion_layers[1]),
        Param("width", "int", block.width[0], block.width[1], when=("fusion_layers", {"not": 0})),
    ]
    if block.critic_ranker:
        params.append(Param("critic_ranker", "bool", when=("fusion_layers", {"not": 0})))
    if block.verifier and block.unit_tests:
        params.append(Param("filter", "choice", choices=("none", "verifier", "unit_tests")))
    elif block.verifier:
        params.append(Param("filter", "choice", choices=("none", "verifier")))
    elif block.unit_tests:
        params.append(Param("filter", "choice", choices=("none", "unit_tests")))
    return params


def model_aliases(block: ArchonBlock) -> tuple[dict[str, str], dict[str, Any]]:
    """Each model's alias (``m0``, ``m1``... in listed order) and the ``models:`` block."""
    alias = {m: f"m{i}" for i, m in enumerate(block.models)}
    models = {
        alias[m]: {"model": m, "max_tokens": block.max_tokens, "temperature": block.temperature} for m in block.models
    }
    return alias, models


def build_archon(block: ArchonBlock, ranking: Ranking, values: Mapping[str, Any]) -> dict[str, Any]:
    """The pipeline (as YAML data) of one architecture of the space."""
    alias, models = model_aliases(block)
    gens = [alias[m] for m in ranking.generators[: int(values["n_generators"])]]
    fusers = [alias[m] for m in ranking.fusers] or gens
    nodes: dict[str, Any] = {}
    gen: dict[str, Any] = {"op": "generate", "models": gens, "samples": int(values["samples"])}
    if block.template:
        gen["template"] = block.template
    nodes["generate"] = gen
    prev = ["generate"]
    flt = values.get("filter", "none")
    if flt == "verifier":
        nodes["verify"] = {"op": "verify", "model": fusers[0], "inputs": prev, "on_none": "keep_best"}
        prev = ["verify"]
    elif flt == "unit_tests":
        nodes["tests"] = {"op": "unit_test_generate", "model": fusers[0]}
        nodes["tested"] = {"op": "unit_test_evaluate", "model": fusers[0], "inputs": [*prev, "tests"]}
        prev = ["tested"]
    layers = int(values["fusion_layers"])
    width = int(values["width"])
    for layer in range(1, layers + 1):
        if values.get("critic_ranker"):
            nodes[f"critique{layer}"] = {"op": "critique", "model": fusers[0], "inputs": prev}
            nodes[f"rank{layer}"] = {
                "op": "rank",
                "model": fusers[0],
                "inputs": [f"critique{layer}"],
                "top_k": block.rank_top_k,
            }
            prev = [f"rank{layer}"]
        fused = [f"fuse{layer}_{j + 1}" for j in range(width)]
        for j, nid in enumerate(fused):
            nodes[nid] = {"op": "fuse", "model": fusers[j % len(fusers)], "inputs": prev}
        prev = fused
    if layers == 0:
        nodes["answer"] = {"op": "vote", "inputs": prev}
    elif len(prev) > 1:
        nodes["answer"] = {"op": "fuse", "model": fusers[0], "inputs": prev}
    else:
        nodes["answer"] = nodes.pop(prev[0])
    return {"models": models, "nodes": nodes, "output": "answer"}
