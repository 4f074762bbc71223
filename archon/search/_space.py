"""Search-space files: a pipeline template with ``${name}`` parameters, a ``space:``,
the dataset, metric, budgets, strategy and objectives (optimizers/*.yaml)."""

from __future__ import annotations

import copy
import difflib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any
from typing import Literal

from pydantic import BaseModel
from pydantic import ConfigDict
from pydantic import Field
from pydantic import PositiveInt

from archon.errors import ConfigurationError
from archon.errors import Problem
from archon.errors import SpecError
from archon.graph import build_graph
from archon.plan import make_plan
from archon.search._archon_space import ArchonBlock
from archon.search._archon_space import Ranking
from archon.search._archon_space import archon_params
from archon.search._archon_space import build_archon
from archon.search._archon_space import default_ranking
from archon.search._demos import DemoBlock
from archon.search._demos import DemoPool
from archon.search._demos import InstructionBlock
from archon.search._demos import instruction_text
from archon.search._demos import render_block
from archon.search._demos import resolve
from archon.search._param import Param
from archon.search._space_blocks import parse_demos
from archon.search._space_blocks import parse_instructions
from archon.search._space_blocks import parse_params
from archon.search._strategy_names import STRATEGIES
from archon.spec import PARAM_RE
from archon.spec import BudgetLimits
from archon.spec import Collector
from archon.spec import DatasetSpec
from archon.spec import NodeSpec
from archon.spec import PipelineSpec
from archon.spec import find_params
from archon.spec import load_yaml
from archon.spec import locate
from archon.spec import parse_pipeline
from archon.spec import read_source

TOP_LEVEL = (
    "name",
    "description",
    "pipeline",
    "space",
    "dataset",
    "metric",
    "budget",
    "strategy",
    "objectives",
    "seed",
    "fidelity",
    "archon",
    "demos",
    "baseline",
    "instructions",
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SearchBudget(_Strict):
    calls: PositiveInt | None = Field(None, description="paid LLM calls for the whole search")
    tokens: PositiveInt | None = Field(None, description="paid prompt + completion tokens for the whole search")
    usd: float | None = Field(None, gt=0, description="paid dollars for the whole search")
    trials: PositiveInt | None = Field(None, description="architectures to try")
    time_s: float | None = Field(None, gt=0, description="wall-clock seconds")
    patience: PositiveInt | None = Field(
        None, description="stop after this many architectures in a row without a better dev score"
    )


class BudgetBlock(_Strict):
    per_query: BudgetLimits = Field(default_factory=BudgetLimits)
    search: SearchBudget = Field(default_factory=SearchBudget)


@dataclass(frozen=True)
class SearchSpace:
    name: str
    description: str
    template: Mapping[str, Any]
    params: tuple[Param, ...]
    dataset: DatasetSpec
    metric: str
    budget: BudgetBlock
    strategy: str  # a key of STRATEGIES
    objectives: tuple[str, ...]
    seed: int
    file: str
    fidelity: tuple[float, ...] = ()
    keep: float = 1 / 3
    brackets: int = 1  # Hyperband-style: trial t starts at rung t % brackets
    promote: Literal["interval", "score"] = "interval"  # on: the top of the 95 % interval, or the score
    node_types: Mapping[str, type[NodeSpec]] | None = field(default=None, repr=False)
    archon: ArchonBlock | None = None  # the built-in Archon space instead of a template
    ranking: Ranking | None = None  # its power ranking (archon rank-models); None: the listed order
    demos: tuple[DemoBlock, ...] = ()  # ${name} values made of train-split demonstrations
    pool: DemoPool = field(default_factory=DemoPool, repr=False)  # where they come from (set by the search)
    baseline: Mapping[str, Any] | None = None  # the single-call pipeline every search scores (None: derived)
    overrides: tuple[str, ...] = ()  # command-line overrides (--trials ...), passed on to spawned workers
    instructions: InstructionBlock | None = None  # ${instruction}: the variants the parameter indexes
    proposed: tuple[str, ...] = ()  # the proposer's instructions (set by the search)

    def active(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Fills inactive parameters with their defaults."""
        out = {}
        for p in self.params:
            on = p.is_active(values)
            out[p.name] = values[p.name] if on and p.name in values else p.default
        return out

    def instantiate(self, values: Mapping[str, Any]) -> PipelineSpec:
        """The pipeline for these parameter values.

        Raises:
            SpecError: the instantiated pipeline is invalid (an infeasible combination).
        """
        data = self.pipeline_data(values)
        return parse_pipeline(_dump(data), f"{self.file}#{_label(values)}", self.node_types)

    def static_calls(self, values: Mapping[str, Any]) -> float:
        """The most calls one query of this architecture makes (its plan's static count;
        infinite for an infeasible combination)."""
        try:
            return float(make_plan(build_graph(self.instantiate(values))).cost.calls)
        except (SpecError, ConfigurationError):
            return math.inf

    def pipeline_data(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """The pipeline for these parameter values, as YAML data."""
        if self.archon is not None:
            data = build_archon(self.archon, self.ranking or default_ranking(self.archon), self.active(values))
        else:
            active = self.active(values)
            data = _substitute(copy.deepcopy(dict(self.template)), {**active, **self.derived(active)})
        data.setdefault("name", f"{self.name}")
        return data

    def derived(self, active: Mapping[str, Any]) -> dict[str, Any]:
        """The values made from parameters: each demos block's text, the instruction's text."""
        out: dict[str, Any] = {b.name: self.render_demos(b, active) for b in self.demos}
        if self.instructions is not None:
            out["instruction"] = self.instruction(int(active.get("instruction", 0)))
        return out

    def instruction(self, index: int) -> str:
        """The text of instruction variant ``index`` ("" for a proposal not made yet)."""
        texts = [*self.instructions.candidates, *self.proposed] if self.instructions else []
        return instruction_text(texts[index]) if 0 <= index < len(texts) else ""

    def render_demos(self, block: DemoBlock, values: Mapping[str, Any]) -> str:
        """One ``demos:`` block's text for these parameter values (empty until the search
        has loaded the train split into ``pool``)."""
        count = int(resolve(block.count, values))
        select = str(resolve(block.select, values))
        seed = int(resolve(block.seed, values))
        return render_block(block, self.pool, count, select, seed)

    def needs_bootstrap(self, values: Mapping[str, Any]) -> bool:
        """Whether this architecture draws ``bootstrap`` demonstrations (the baseline's
        train answers are then needed first)."""
        return any(select == "bootstrap" and count > 0 for count, select, _ in self.demo_settings(values))

    def demo_settings(self, values: Mapping[str, Any]) -> list[tuple[int, str, int]]:
        """(count, select, seed) of each demos block for these values."""
        active = self.active(values)
        return [
            (int(resolve(b.count, active)), str(resolve(b.select, active)), int(resolve(b.seed, active)))
            for b in self.demos
        ]

    def baseline_data(self) -> dict[str, Any]:
        """The baseline: the file's ``baseline:`` pipeline (``${params}`` in it at their
        defaults), else one greedy call of the
        template's first generate node at the default parameters (its model, template,
        system prompt and demonstrations as they are there; temperature 0, one sample)."""
        if self.baseline is not None:  # its ${params} and demos take their default values
            active = self.active({})
            return dict(_substitute(copy.deepcopy(dict(self.baseline)), {**active, **self.derived(active)}))
        spec = self.instantiate({})
        gen_id = next((k for k, v in spec.nodes.items() if v.op == "generate"), None)
        if gen_id is None:
            raise SpecError(
                Problem(self.file, 1, 1, "baseline", "no generate node to make the baseline from", "add baseline:")
            )
        gen = spec.nodes[gen_id]
        node = gen.model_dump(mode="json", exclude_defaults=True, exclude={"inputs", "enabled", "models", "samples"})
        node.update(op="generate", samples=1, temperature=0.0)
        models = getattr(gen, "models", None)
        if not node.get("model") and models:
            node["model"] = models[0]
        aliases = {k: m.model_dump(mode="json", exclude_defaults=True) for k, m in spec.models.items()}
        return {"name": f"{self.name}-baseline", "models": aliases, "nodes": {gen_id: node}, "output": gen_id}

    def dataset_path(self) -> Path | None:
        if not self.dataset.path:
            return None
        return Path(self.file).parent / self.dataset.path

    def splits(self) -> tuple[Any, Any, Any]:
        """The train (demonstrations only), dev (trials) and test (held-out) splits."""
        from archon.evaluate import load_benchmark
        from archon.evaluate import load_file

        ds = self.dataset
        if ds.benchmark:
            full = load_benchmark(ds.benchmark)
        else:
            path = self.dataset_path()
            assert path is not None
            full = load_file(path, ds.input, ds.answer)
        train, dev, test = (full.split(w, ds.dev, ds.seed, ds.train) for w in ("train", "dev", "test"))
        return train, dev, test


def _label(values: Mapping[str, Any]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(values.items()))


def _dump(data: Any) -> str:
    import io

    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.width = 2**30  # never fold: ruamel 0.19 folds a quoted string with backslashes wrongly
    buf = io.StringIO()
    yaml.dump(data, buf)
    return buf.getvalue()


def _substitute(node: Any, values: Mapping[str, Any]) -> Any:
    if isinstance(node, dict):
        return {k: _substitute(v, values) for k, v in node.items()}
    if isinstance(node, list):
        return [_substitute(v, values) for v in node]
    if isinstance(node, str):
        whole = PARAM_RE.fullmatch(node.strip())
        if whole:
            return values[whole.group(1)]
        return PARAM_RE.sub(lambda m: str(values[m.group(1)]), node)
    return node


def parse_space_file(path: str | Path, node_types: Mapping[str, type[NodeSpec]] | None = None) -> SearchSpace:
    """Reads and validates a search-space file; every problem located, reported together."""
    return parse_space(read_source(path), str(path), node_types)


def parse_space(
    text: str, file: str = "<string>", node_types: Mapping[str, type[NodeSpec]] | None = None
) -> SearchSpace:
    data, locs = load_yaml(text, file)
    col = Collector(file, locs)
    add = col.add
    if not isinstance(data, dict):
        raise SpecError(Problem(file, 1, 1, "", "a search space must be a mapping", "see optimizers/README.md"))
    col.unknown_keys(data, TOP_LEVEL)
    template = data.get("pipeline")
    archon = None
    if "archon" in data:
        archon = col.block(ArchonBlock, data.get("archon"), ("archon",))
        for key in ("pipeline", "space"):
            if key in data:
                add((key,), f"archon: generates the {key}; both are given", f"remove {key}: or archon:")
        template = {}
        params = archon_params(archon) if archon is not None else []
    elif not isinstance(template, dict):
        add(
            ("pipeline",) if "pipeline" in data else (),
            "no pipeline: template",
            "add pipeline: {models: ..., nodes: ...}",
        )
        template = {}
    if "archon" not in data:
        params = parse_params(data.get("space"), add)
    names = {p.name for p in params} | (set(map(str, data["space"])) if isinstance(data.get("space"), dict) else set())
    demos = parse_demos(data.get("demos"), params, add) if "demos" in data else []
    instructions = parse_instructions(data.get("instructions"), add) if "instructions" in data else None
    if instructions is not None:
        if "instruction" in names:
            add(("instructions",), "instructions: defines the parameter 'instruction', the space has one", "rename it")
        params.append(Param("instruction", "choice", choices=tuple(range(instructions.size))))
        names.add("instruction")
    for b in demos:
        if b.name in names:
            add(("demos",), f"demos value '{b.name}' has the name of a parameter", "rename one of them")
    names |= {b.name for b in demos}
    refs: list[tuple[tuple[str | int, ...], str]] = []
    find_params(template, ("pipeline",), refs)
    for path, ref in refs:
        if ref not in names:
            close = difflib.get_close_matches(ref, list(names), n=1)
            add(
                path,
                f"${{{ref}}} is not a parameter of the space",
                (f"did you mean '{close[0]}'? " if close else "") + "declare it under space:",
            )
    dataset = col.block(DatasetSpec, data.get("dataset"), ("dataset",))
    if dataset is not None and dataset.train and dataset.train + dataset.dev >= 1:
        add(
            ("dataset", "train"),
            f"train ({dataset.train}) + dev ({dataset.dev}) leave no test split",
            "make train + dev < 1",
        )
    if dataset is not None and demos and not dataset.train:
        add(
            ("dataset",),
            "demos: needs a train split to draw demonstrations from (they never come from dev or test)",
            "add train: 0.3 to dataset:",
        )
    baseline = data.get("baseline")
    if baseline is not None and not isinstance(baseline, dict):
        add(
            ("baseline",),
            "baseline: must be a pipeline (models:, nodes:, output:)",
            "write baseline: {models: ..., nodes: ...}",
        )
        baseline = None
    base_refs: list[tuple[tuple[str | int, ...], str]] = []
    find_params(baseline or {}, ("baseline",), base_refs)
    for path, ref in base_refs:
        if ref not in names:
            add(path, f"${{{ref}}} is not a parameter of the space", "declare it under space: or write the value")
    if dataset is not None and not dataset.path and not dataset.benchmark:
        add(("dataset",), "the dataset has no path or benchmark", "write dataset: {path: data/items.jsonl}")
    if dataset is not None and dataset.path and Path(file).is_file():  # a space read from its file
        where = Path(file).parent / dataset.path
        if not where.is_file():
            what = "is a folder" if where.is_dir() else "not found"
            add(
                ("dataset", "path"),
                f"dataset {where}: {what}",
                "give the path of a .jsonl or .csv file, relative to this file",
            )
    if dataset is None and "dataset" not in data:
        add((), "no dataset:", "add dataset: {path: ..., input: input, answer: answer}")
    budget = col.block(BudgetBlock, data.get("budget", {}), ("budget",)) or BudgetBlock()
    for dim, unit in (("tokens", "tokens"), ("usd", "dollars")):
        if getattr(budget.search, dim) is not None and getattr(budget.per_query, dim) is None:
            add(
                ("budget", "search", dim),
                f"a search budget in {unit} needs a per-query cap in {unit}, so each trial's worst case is known",
                f"add budget: {{per_query: {{{dim}: ...}}}}",
            )
    strategy = data.get("strategy", "greedy")
    if not isinstance(strategy, str) or strategy not in STRATEGIES:
        known = list(STRATEGIES)
        add(("strategy",), f"unknown strategy {strategy!r}", f"use {', '.join(known[:-1])} or {known[-1]}")
    if strategy == "nsga2" and data.get("objectives") != ["score", "cost"]:
        add(("strategy",), "nsga2 is multi-objective", "set objectives: [score, cost], or use tpe")
    objectives = data.get("objectives", ["score"])
    if not isinstance(objectives, list) or objectives not in (["score"], ["score", "cost"]):
        add(
            ("objectives",),
            f"objectives must be [score] or [score, cost], got {objectives!r}",
            "write objectives: [score, cost]",
        )
        objectives = ["score"]
    if strategy == "grid" and any(p.kind == "float" for p in params):
        add(("strategy",), "grid search needs every parameter discrete", "use tpe or random, or make floats choices")
    rungs: tuple[float, ...] = ()
    keep = 1 / 3
    brackets = 1
    promote = "interval"
    fid = data.get("fidelity")
    if fid is not None:
        raw_rungs = fid.get("rungs") if isinstance(fid, dict) else None
        if (
            not isinstance(raw_rungs, list)
            or not raw_rungs
            or not all(isinstance(x, (int, float)) and 0 < x <= 1 for x in raw_rungs)
            or raw_rungs != sorted(raw_rungs)
            or raw_rungs[-1] != 1
        ):
            add(
                ("fidelity",),
                "fidelity.rungs must be increasing shares of the dev split ending at 1",
                "write fidelity: {rungs: [0.2, 0.5, 1.0], keep: 0.34}",
            )
        else:
            rungs = tuple(float(x) for x in raw_rungs)
        keep = fid.get("keep", keep) if isinstance(fid, dict) else keep
        if not isinstance(keep, (int, float)) or not 0 < keep <= 1:
            add(("fidelity", "keep"), "keep must be a share in (0, 1]", "write keep: 0.34")
            keep = 1 / 3
        promote = fid.get("promote", "interval") if isinstance(fid, dict) else "interval"
        if promote not in ("interval", "score"):
            add(("fidelity", "promote"), f"promote must be interval or score, got {promote!r}", "write promote: score")
            promote = "interval"
        brackets = fid.get("brackets", 1) if isinstance(fid, dict) else 1
        if not isinstance(brackets, int) or not 1 <= brackets <= max(1, len(rungs)):
            add(
                ("fidelity", "brackets"),
                f"brackets must be a whole number from 1 to the number of rungs ({len(rungs)})",
                "write brackets: 2",
            )
            brackets = 1
    seed = data.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**32:
        add(("seed",), f"seed must be a whole number from 0 to 2**32-1, got {seed!r}"[:120], "write seed: 0")
        seed = 0
    if not isinstance(data.get("name", ""), str):
        add(("name",), "name must be text", "write name: my-search")
    if not isinstance(data.get("description", ""), str):
        add(("description",), "description must be text", "write description: what the search is for")
    if not isinstance(data.get("metric", "exact"), str):
        add(
            ("metric",),
            "metric must be a metric's name",
            "write metric: exact (or normalized, numeric, math, tests, judge)",
        )
    if col.problems:
        raise SpecError(col.problems)
    assert dataset is not None
    space = SearchSpace(
        name=str(data.get("name") or Path(file).stem),
        description=str(data.get("description", "")),
        template=template,
        params=tuple(params),
        dataset=dataset,
        metric=str(data.get("metric", "exact")),
        budget=budget,
        strategy=strategy,
        objectives=tuple(objectives),
        seed=seed,
        file=file,
        fidelity=rungs,
        keep=float(keep),
        brackets=brackets,
        promote="score" if promote == "score" else "interval",
        node_types=node_types,
        archon=archon,
        demos=tuple(demos),
        baseline=baseline,
        instructions=instructions,
    )
    try:  # the template must be a valid pipeline at the defaults
        space.instantiate({})
    except SpecError as exc:
        line, column = locate(locs, ("archon",) if archon is not None else ("pipeline",))
        raise SpecError(
            [
                Problem(file, line, column, "pipeline", f"at default parameters: {p.message}", p.fix)
                for p in exc.problems
            ]
        ) from None
    try:
        parse_pipeline(_dump(space.baseline_data()), f"{file}#baseline", node_types)
    except SpecError as exc:
        line, column = locate(locs, ("baseline",) if baseline is not None else ("pipeline",))
        raise SpecError(
            [Problem(file, line, column, "baseline", f"the baseline: {p.message}", p.fix) for p in exc.problems]
        ) from None
    return space
