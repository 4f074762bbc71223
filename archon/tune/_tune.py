"""``archon tune``: tune the prompts of a fixed architecture with DSPy, under a budget.

The pipeline becomes its DSPy program (:mod:`archon.export._dspy`); every model call of
the run — the before/after scores, the optimizer's proposals and trials — goes through
a :class:`BudgetedLM`, which reserves the call's worst case (one call; prompt bytes plus
``max_tokens`` tokens; their price) on one :class:`TuneLedger` before it is sent and
refuses it when the budget could be exceeded, so no tuning run spends past its budget.
DSPy's own cache hits cost nothing. The optimizer is sized from the budget first
(MIPROv2: instruction candidates and trials; GEPA: metric calls), the ledger being the
guarantee. The tuned instructions are written back as per-node ``prompt:`` (``template:``
for generate) overrides.
"""

from __future__ import annotations

import asyncio
import math
import tempfile
import threading
import uuid
from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dspy
import jinja2
import jinja2.meta
import jinja2.sandbox
from dspy.teleprompt.gepa.instruction_proposal import InstructionProposer

from archon._templates import GLOBALS
from archon.backends import Limits
from archon.backends import QueryBudget
from archon.backends import Reservation
from archon.backends import backend_class
from archon.errors import BudgetExceededError
from archon.errors import ConfigurationError
from archon.evaluate import Dataset
from archon.evaluate import Example
from archon.evaluate import Metric
from archon.export import export_dspy
from archon.export import load_program_module
from archon.export.dspy import TemplateAdapter
from archon.export.dspy import has_template
from archon.export.dspy import lm
from archon.export.dspy import plain_template
from archon.graph import build_graph
from archon.plan import make_plan
from archon.sandbox import default_sandbox
from archon.spec import ModelSpec
from archon.spec import PipelineSpec

TuneBudgetExceeded = BudgetExceededError  # a call would have taken the run past its budget; it was not sent


class TuneLedger:
    """What a tuning run may spend (None: no cap) and has spent: archon's per-query
    :class:`QueryBudget` for the whole run, under a lock (DSPy may call from threads),
    with DSPy's cache hits refunded."""

    def __init__(self, calls: int | None = None, tokens: int | None = None, usd: float | None = None) -> None:
        self.budget = QueryBudget(Limits(calls, tokens, usd))
        self.refused = 0
        self.cached = 0
        self.lock = threading.Lock()

    def __deepcopy__(self, memo: dict[int, Any]) -> TuneLedger:
        return self  # DSPy copies its LMs (and programs): every copy spends from this one ledger

    def __copy__(self) -> TuneLedger:
        return self

    @property
    def spent_calls(self) -> int:
        return self.budget.calls

    @property
    def spent_tokens(self) -> int:
        return self.budget.tokens

    @property
    def spent_usd(self) -> float:
        return self.budget.usd

    def reserve(self, tokens: int, usd: float) -> Reservation:
        with self.lock:
            try:
                return self.budget.reserve(tokens, usd)
            except BudgetExceededError:
                self.refused += 1
                raise

    def settle(self, reserved: Reservation, tokens: int, usd: float, *, cache_hit: bool = False) -> None:
        """Replaces a reservation by what was used; a cache hit gives the call back."""
        with self.lock:
            self.budget.settle(reserved, tokens, usd)
            if cache_hit:
                self.budget.calls -= 1
                self.cached += 1


class BudgetedLM(dspy.LM):
    """A ``dspy.LM`` that asks the run's ledger before every call (copies share it)."""

    ledger: TuneLedger | None = None
    price: tuple[float, float] = (0.0, 0.0)  # dollars per 1k prompt, completion tokens

    def _reserve(self, prompt: Any, messages: Any, kwargs: Mapping[str, Any]) -> tuple[TuneLedger, Reservation]:
        ledger, (p_in, p_out) = self.ledger, self.price
        if ledger is None:
            raise ConfigurationError("a BudgetedLM needs its ledger: make it with budgeted(lm, ledger)")
        text = prompt if isinstance(prompt, str) else ""
        msgs = messages or []
        bound = len(text.encode()) + sum(len(str(m.get("content", "")).encode()) + 16 for m in msgs)
        max_tokens = int(kwargs.get("max_tokens") or self.kwargs.get("max_tokens") or 1024)
        n = int(kwargs.get("n") or 1)
        usd = (bound * p_in + max_tokens * n * p_out) / 1000
        return ledger, ledger.reserve(bound + max_tokens * n, usd)

    def _settle(self, ledger: TuneLedger, reserved: Reservation, before: int) -> None:
        entry = self.history[-1] if len(self.history) > before else {}
        if getattr(entry.get("response"), "cache_hit", False):
            ledger.settle(reserved, 0, 0.0, cache_hit=True)
            return
        usage = entry.get("usage") or {}
        tokens = int(usage.get("prompt_tokens") or 0) + int(usage.get("completion_tokens") or 0)
        p_in, p_out = self.price
        priced = (int(usage.get("prompt_tokens") or 0) * p_in + int(usage.get("completion_tokens") or 0) * p_out) / 1000
        cost = entry.get("cost")
        usd = max(float(cost or 0.0), priced)
        if not usage:  # no usage reported: keep the worst case counted
            tokens, usd = reserved.tokens, reserved.usd
        ledger.settle(reserved, tokens, usd)

    def __call__(self, prompt: Any = None, *, messages: Any = None, **kwargs: Any) -> Any:
        ledger, reserved = self._reserve(prompt, messages, kwargs)
        before = len(self.history)
        try:
            out = super().__call__(prompt, messages=messages, **kwargs)
        except BaseException:
            ledger.settle(reserved, 0, 0.0)  # a failed attempt stays counted as a call
            raise
        self._settle(ledger, reserved, before)
        return out

    async def acall(self, prompt: Any = None, *, messages: Any = None, **kwargs: Any) -> Any:
        ledger, reserved = self._reserve(prompt, messages, kwargs)
        before = len(self.history)
        try:
            out = await super().acall(prompt, messages=messages, **kwargs)
        except BaseException:
            ledger.settle(reserved, 0, 0.0)
            raise
        self._settle(ledger, reserved, before)
        return out


def budgeted(lm: Any, ledger: TuneLedger, price: tuple[float, float] = (0.0, 0.0)) -> BudgetedLM:
    """The same model and settings as ``lm``, on the ledger, at ``price``."""
    out = BudgetedLM(
        lm.model, model_type=lm.model_type, engine="litellm", num_retries=lm.num_retries, cache=lm.cache, **lm.kwargs
    )
    out.ledger = ledger
    out.price = price
    return out


def _price(model: ModelSpec) -> tuple[float, float] | None:
    """Dollars per 1k (prompt, completion) tokens: the alias's ``price_per_1k``, else
    litellm's price list for known remote models; None when unknown."""
    return backend_class(model.model, model)(model).price_per_1k()


@dataclass
class TuneResult:
    optimizer: str
    before: dict[str, float]
    after: dict[str, float]
    instructions: dict[str, tuple[str, str]]  # node → (before, after)
    changed: list[str]
    spent: dict[str, Any]
    plan: dict[str, Any]
    yaml_text: str


def _score_fn(metric: Metric, by_index: Mapping[int, Example]) -> Callable[..., float]:
    """A DSPy metric scoring with archon's (the gold answer stays with archon's example)."""
    sandbox = default_sandbox() if metric.needs_sandbox else None

    def score(example: Any, prediction: Any, trace: Any = None, *_: Any, **__: Any) -> float:
        answer = getattr(prediction, "answer", None)
        value = asyncio.run(metric.score(answer, by_index[int(example.archon_index)], sandbox))
        return float(value or 0.0)

    return score


def _examples(dataset: Dataset) -> list[Any]:
    out = []
    for ex in dataset.examples:
        fields = {k: v for k, v in ex.fields.items() if k != "input"}
        e = dspy.Example(input=str(ex.fields.get("input", "")), **fields, archon_index=ex.index, answer=ex.gold)
        out.append(e.with_inputs("input", *fields))
    return out


def _evaluate(prog: Any, examples: list[Any], score: Callable[..., float]) -> float:
    if not examples:
        return float("nan")
    total = 0.0
    for e in examples:
        prediction = prog(**e.inputs())
        total += score(e, prediction)
    return total / len(examples)


def tune(
    spec: PipelineSpec,
    source_text: str,
    dev: Dataset,
    test: Dataset,
    metric: Metric,
    *,
    budget_calls: int | None = None,
    budget_tokens: int | None = None,
    budget_usd: float | None = None,
    optimizer: str = "mipro",
    candidates: int = 3,
    demos: int = 2,
    trials: int | None = None,
    local_api_base: str | None = None,
    prompt_model: str | None = None,
    prompt_api_base: str | None = None,
    out_dir: Path | None = None,
    seed: int = 0,
    train: Dataset | None = None,
    log: Callable[[str], None] = lambda _: None,
) -> TuneResult:
    """Tunes the instructions of ``spec``'s LLM nodes on ``dev``; scores before/after on
    dev and test; returns the tuned pipeline as YAML text (see the module docstring).

    ``train``: where MIPROv2 draws its labeled demonstrations from, with ``dev`` then only
    its validation set (DSPy's ``trainset``/``valset``) — the split archon's own search
    keeps; without it ``dev`` is both, as ``archon tune`` has one tuning split."""
    if budget_calls is None and budget_tokens is None and budget_usd is None:
        raise ConfigurationError("archon tune needs a budget: --budget-usd, --budget-calls or --budget-tokens")
    if metric.needs_judge:
        raise ConfigurationError(f"archon tune cannot use the {metric.name} metric yet (it needs a judge model)")
    if optimizer not in ("mipro", "gepa"):
        raise ConfigurationError(f"unknown optimizer '{optimizer}' — use mipro (MIPROv2) or gepa (GEPA)")
    if not dev.examples:
        raise ConfigurationError("the dev split is empty — use more data or a larger dev fraction")
    plan = make_plan(build_graph(spec))
    per_query = max(1, plan.cost.calls)
    price_of = {b.name: _price(b.spec) for n in plan.nodes.values() for b in n.models}
    proposer: ModelSpec | None = None
    if prompt_model and prompt_model not in price_of:
        if prompt_model.split("/", 1)[0] in ("local", "vllm", "synthetic"):
            raise ConfigurationError(
                f"--prompt-model {prompt_model}: give an alias of the pipeline's models or a litellm route "
                "(openai/..., or openai/<name> with --prompt-api-base for a server)"
            )
        proposer = ModelSpec(model=prompt_model, api_base=prompt_api_base, temperature=1.0, max_tokens=384)
        price_of[prompt_model] = _price(proposer)
    unknown = sorted(name for name, p in price_of.items() if p is None)
    if budget_usd is not None and unknown and budget_calls is None:
        raise ConfigurationError(
            f"a dollar budget needs every model's price, unknown for: {', '.join(unknown)} — set price_per_1k "
            "on those models (or use --budget-calls)"
        )
    p_in = max((p[0] for p in price_of.values() if p is not None), default=0.0)
    p_out = max((p[1] for p in price_of.values() if p is not None), default=0.0)
    ledger = TuneLedger(budget_calls, budget_tokens, budget_usd)

    # size the optimizer from the budget (calls); the ledger is the guarantee
    n_llm = sum(1 for n in plan.nodes.values() if n.models)
    fixed = (len(dev) + 2 * len(test)) * per_query  # before on dev and test, after on test
    affordable = budget_calls
    if affordable is None and budget_usd is not None and (p_in or p_out):
        worst_call = 4096 * p_in + max(b.sampling.max_tokens for n in plan.nodes.values() for b in n.models) * p_out
        affordable = int(budget_usd / (worst_call / 1000))
    if affordable is None and budget_tokens is not None:
        affordable = budget_tokens // 1024
    room = (affordable - fixed) if affordable is not None else None
    if optimizer == "mipro":
        n_trials = trials if trials is not None else 6
        n_cand = candidates
        if room is not None:
            propose = n_llm * n_cand * 2
            n_trials = min(n_trials, math.floor((room - propose) / (len(dev) * per_query)))
            if n_trials < 1:
                need = fixed + propose + len(dev) * per_query
                raise ConfigurationError(
                    f"the budget is too small to tune: scoring dev and test and one MIPROv2 trial need about {need} "
                    f"calls ({per_query} per query, {len(dev)} dev and {len(test)} test items) — raise it or use "
                    "fewer items (--limit)"
                )
        sizing = {"optimizer": "MIPROv2", "instruction_candidates": n_cand, "trials": n_trials, "labeled_demos": demos}
    else:
        metric_calls = trials if trials is not None else 4 * len(dev)
        if room is not None:
            metric_calls = min(metric_calls, math.floor(room * 0.75 / per_query))
            if metric_calls < len(dev) + 1:
                raise ConfigurationError(
                    f"the budget is too small for GEPA: it needs about {fixed + (len(dev) + 1) * per_query * 4 // 3} "
                    "calls — raise it or use fewer items (--limit)"
                )
        sizing = {"optimizer": "GEPA", "max_metric_calls": metric_calls}

    with tempfile.TemporaryDirectory(prefix="archon-tune-") as tmp:
        path = Path(tmp) / f"tuned_{uuid.uuid4().hex[:8]}.py"
        path.write_text(export_dspy(spec, source_text=source_text), encoding="utf-8")
        mod = load_program_module(path)
        base = mod.default_lms(local_api_base) if local_api_base else mod.default_lms()
        lms = {name: budgeted(lm, ledger, price_of.get(name.split("@")[0]) or (0.0, 0.0)) for name, lm in base.items()}
        student = mod.program(lms=lms, state=None)
        by_index = {ex.index: ex for ex in (*(train.examples if train else ()), *dev.examples, *test.examples)}
        score = _score_fn(metric, by_index)
        trainset, testset = _examples(dev), _examples(test)
        demoset = _examples(train) if train is not None and train.examples else trainset
        names = {name: pred for name, pred in student.named_predictors()}
        before_instr = {name: p.signature.instructions for name, p in names.items()}
        # the proposer: a litellm route, or an alias's model (the first by default), with room to write
        if proposer is not None:
            mode = backend_class(proposer.model, proposer)(proposer).mode
            raw = lm(proposer.model, api_base=prompt_api_base, mode=mode, temperature=1.0, max_tokens=384)
            first_lm = budgeted(raw, ledger, price_of[proposer.model] or (0.0, 0.0))
        else:
            alias = prompt_model if prompt_model in lms else next(iter(lms))
            first_lm = budgeted(lms[alias], ledger, lms[alias].price)
            first_lm.kwargs.update(temperature=1.0, max_tokens=384)
            first_lm.kwargs.pop("stop", None)
        with dspy.context(adapter=TemplateAdapter(), lm=first_lm):
            log(f"scoring the pipeline as it is ({len(dev)} dev, {len(test)} test items)")
            before = {"dev": _evaluate(student, trainset, score), "test": _evaluate(student, testset, score)}
            log(f"tuning with {sizing}")
            if optimizer == "mipro":
                tp = dspy.MIPROv2(
                    metric=score,
                    prompt_model=first_lm,
                    task_model=first_lm,
                    auto=None,
                    num_candidates=n_cand,
                    max_bootstrapped_demos=0,
                    max_labeled_demos=demos,
                    num_threads=1,
                    seed=seed,
                    verbose=False,
                )
                tuned = tp.compile(
                    student,
                    trainset=demoset,
                    valset=trainset,
                    num_trials=n_trials,
                    minibatch=False,
                    program_aware_proposer=False,
                    data_aware_proposer=False,
                    fewshot_aware_proposer=False,
                )
            else:

                def gepa_metric(
                    gold: Any, pred: Any, trace: Any = None, pred_name: Any = None, pred_trace: Any = None
                ) -> Any:
                    value = score(gold, pred)
                    expected = by_index[int(gold.archon_index)].gold
                    got = getattr(pred, "answer", None)
                    feedback = (
                        f"Correct: {got!r}."
                        if value >= 1
                        else f"Wrong: the answer was {got!r}, the expected answer is {expected!r}."
                    )
                    return dspy.Prediction(score=value, feedback=feedback)

                tp = dspy.GEPA(
                    metric=gepa_metric,
                    reflection_lm=first_lm,
                    # archon's plain adapter: small reflection models never write JSON
                    instruction_proposer=InstructionProposer(adapter=TemplateAdapter(), max_chars=1500),
                    max_metric_calls=sizing["max_metric_calls"],
                    num_threads=1,
                    seed=seed,
                    track_stats=False,
                )
                tuned = tp.compile(student, trainset=trainset, valset=trainset)
            tuned.use({**lms})
            after = {"dev": _evaluate(tuned, trainset, score), "test": _evaluate(tuned, testset, score)}
    adapter = TemplateAdapter()
    overrides: dict[str, str] = {}
    instructions: dict[str, tuple[str, str]] = {}
    for name, pred in tuned.named_predictors():
        node = mod.PREDICTORS[name]
        text, original = pred.signature.instructions, before_instr[name]
        template = text if text == original or _renders(pred.signature, text, original) else None
        if template is None:
            template = plain_template(pred.signature, text)
        shots = adapter.shots(pred.signature, list(pred.demos or []))
        if shots:  # MIPROv2's chosen examples, as the few-shot text the adapter sent
            template = (f"{{% raw %}}{shots}{{% endraw %}}" if has_template(shots) else shots) + template
        instructions[node] = (original, template)
        if template != original:
            overrides[node] = template
    changed = list(overrides)
    yaml_text = tuned_yaml(spec, source_text, overrides, out_dir)
    spent: dict[str, Any] = {"calls": ledger.spent_calls, "tokens": ledger.spent_tokens}
    spent["usd"] = round(ledger.spent_usd, 8)
    spent["refused"] = ledger.refused
    spent["cached"] = ledger.cached
    spent["budget"] = {"calls": budget_calls, "tokens": budget_tokens, "usd": budget_usd}
    return TuneResult(optimizer, before, after, instructions, changed, spent, sizing, yaml_text)


def _renders(signature: Any, text: str, original: str) -> bool:
    """Whether ``text`` is a template over what the node's instructions may use (its
    inputs, the item's fields the original used); else it is plain text."""
    if not has_template(text):
        return False
    env = jinja2.sandbox.SandboxedEnvironment()
    try:
        used = jinja2.meta.find_undeclared_variables(env.parse(text))
    except jinja2.TemplateError:
        return False
    known = {"input", "query", "candidates", "candidate", "tests", "count", *GLOBALS, *signature.input_fields}
    if has_template(original):
        known |= jinja2.meta.find_undeclared_variables(env.parse(original))
    return used <= known


def tuned_yaml(spec: PipelineSpec, source_text: str, overrides: Mapping[str, str], out_dir: Path | None = None) -> str:
    """The pipeline with each tuned node's instructions set: ``template:`` for generate,
    ``prompt:`` for the others (a node's ``system:`` is folded into the tuned text, so it
    is dropped). A ``nodes:`` file is edited in place (comments kept); a ``layers:`` file
    is written out as the equivalent ``nodes:`` graph."""
    import io

    from ruamel.yaml import YAML

    yaml = YAML()
    yaml.width = 2**30  # never fold: ruamel 0.19 folds a quoted string with backslashes wrongly
    data = yaml.load(source_text)

    def fields(nid: str, node_data: Any) -> None:
        field_name = "template" if spec.nodes[nid].op == "generate" else "prompt"
        node_data[field_name] = overrides[nid]
        if getattr(spec.nodes[nid], "system", None):
            node_data.pop("system", None)

    if isinstance(data.get("nodes"), Mapping) and all(n in data["nodes"] for n in overrides):
        for nid in overrides:
            fields(nid, data["nodes"][nid])
    else:
        nodes: dict[str, Any] = {}
        for nid, node in spec.nodes.items():
            d = node.model_dump(exclude_unset=True)
            d["op"] = node.op
            if node.enabled:
                d.pop("enabled", None)
            nodes[nid] = d
            if nid in overrides:
                fields(nid, d)
        data.pop("layers", None)
        data["nodes"] = nodes
        data["output"] = spec.output
    block = data.get("dataset")
    if out_dir is not None and isinstance(block, MutableMapping) and block.get("path") and spec.file != "<string>":
        path = Path(str(block["path"]))
        if not path.is_absolute():  # still the same file from where the tuned pipeline is written
            import os

            block["path"] = os.path.relpath(Path(spec.file).resolve().parent / path, out_dir.resolve())
    buf = io.StringIO()
    yaml.dump(data, buf)
    return buf.getvalue()
