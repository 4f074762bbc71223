"""Scoring a pipeline on a dataset: score, bootstrap interval, cost, per-item results."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from archon._pipeline import Pipeline
from archon._typing import Sampling
from archon._typing import Usage
from archon.errors import ConfigurationError
from archon.evaluate._datasets import Dataset
from archon.evaluate._datasets import Example
from archon.evaluate._judge import Judge
from archon.evaluate._metrics import Metric
from archon.evaluate._stats import bootstrap_ci
from archon.evaluate._stats import mean
from archon.evaluate._stats import pass_at_k
from archon.evaluate._verifiers import VerifierStats
from archon.evaluate._verifiers import verifier_stats
from archon.execute import ItemResult
from archon.plan import BoundModel
from archon.sandbox import BaseSandbox
from archon.sandbox import default_sandbox
from archon.spec import ModelSpec


@dataclass(frozen=True)
class ItemScore:
    index: int
    input: dict[str, Any]
    output: str | None
    gold: Any
    score: float | None
    error: str | None
    usage: Usage
    candidates_correct: int | None = None
    candidates_total: int | None = None
    verdicts: tuple[tuple[str, str | None, bool], ...] = ()  # (verify node, verdict, candidate right)

    def as_dict(self) -> dict[str, Any]:
        out = {
            "index": self.index,
            "input": self.input,
            "output": self.output,
            "gold": self.gold,
            "score": self.score,
            "error": self.error,
            "usage": self.usage.as_dict(),
        }
        if self.candidates_total is not None:
            out["candidates"] = {"correct": self.candidates_correct, "total": self.candidates_total}
        return out


@dataclass(frozen=True)
class EvalResult:
    dataset: str
    metric: str
    items: tuple[ItemScore, ...]
    score: float
    ci95: tuple[float, float]
    usage: Usage
    wall_s: float
    run_id: str | None
    pass_at: dict[int, float]
    judge_usage: Usage | None = None
    unscored: int = 0
    verifiers: Mapping[str, VerifierStats] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """The ``--json`` form."""
        usage = self.usage.as_dict()
        usage["wall_s"] = round(self.wall_s, 3)
        out: dict[str, Any] = {
            "dataset": self.dataset,
            "metric": self.metric,
            "n": len(self.items),
            "score": round(self.score, 6),
            "ci95": [round(self.ci95[0], 6), round(self.ci95[1], 6)],
            "failed_items": sum(1 for i in self.items if i.error),
            "usage": usage,
            "run_id": self.run_id,
        }
        if self.pass_at:
            out["pass_at"] = {str(k): round(v, 6) for k, v in self.pass_at.items()}
        if self.judge_usage is not None:
            out["judge_usage"] = self.judge_usage.as_dict()
            out["unscored"] = self.unscored
        if self.verifiers:
            out["verifiers"] = {node: v.as_dict() for node, v in self.verifiers.items()}
        return out


def make_judge(pipeline: Pipeline, model: str, *, max_tokens: int = 1024) -> Judge:
    """A judge from a model alias of the pipeline or a model string (greedy sampling)."""
    spec = pipeline.spec.models.get(model)
    if spec is None:
        if "/" not in model:
            raise ConfigurationError(f"judge model {model!r} is neither an alias of the pipeline nor a model string")
        spec = ModelSpec(model=model)
    bound = BoundModel(model, spec, Sampling(temperature=0.0, top_p=1.0, max_tokens=max_tokens))
    pipeline.client.check({model: bound})
    return Judge(bound, pipeline.client.session())


async def aevaluate(
    pipeline: Pipeline,
    dataset: Dataset,
    metric: Metric,
    *,
    sandbox: BaseSandbox | None = None,
    judge: Judge | None = None,
    pass_at: Sequence[int] = (),
    on_item: Callable[[ItemScore], None] | None = None,
) -> EvalResult:
    """Runs the pipeline on every example and scores its answers.

    Failed items score 0 and stay in the mean; items a judge could not score are left out
    of it and counted (``unscored``). Examples with several ``turns`` (MT-Bench) run turn
    by turn, each turn sent with the conversation so far, and score the mean of their
    turns. With ``pass_at``, every candidate of the output node is scored too and pass@k
    (= coverage@k) is estimated from that pool with the unbiased estimator.
    """
    if metric.needs_judge and judge is None:
        raise ConfigurationError(f"the {metric.name} metric needs a judge model — pass --judge-model MODEL")
    sandbox = sandbox or default_sandbox()
    t0 = time.perf_counter()
    examples = list(dataset.examples)
    if any(isinstance(e.fields.get("turns"), list) and len(e.fields["turns"]) > 1 for e in examples):
        items, usage, run_id = await _multi_turn(pipeline, examples, metric, sandbox, judge)
    else:
        run = await pipeline.aexecute([dict(e.fields) for e in examples])
        items = list(
            await asyncio.gather(*(_score(r, examples[r.index], metric, sandbox, judge, pass_at) for r in run.items))
        )
        usage, run_id = run.usage, run.run_id
    scored = [i.score for i in items if i.score is not None]
    pk: dict[int, float] = {}
    for k in sorted(set(pass_at)):
        pools = [i for i in items if i.candidates_total and i.candidates_total >= k]
        if pools and len(pools) == len(items):
            pk[k] = mean([pass_at_k(i.candidates_total or 0, i.candidates_correct or 0, k) for i in pools])
    if run_id is not None:
        await pipeline.client.store.put_scores(
            run_id, metric.name, [{"idx": i.index, "gold": i.gold, "score": i.score} for i in items]
        )
    for i in items:
        if on_item:
            on_item(i)
    return EvalResult(
        dataset.name,
        metric.name,
        tuple(items),
        mean(scored),
        bootstrap_ci(scored),
        usage,
        time.perf_counter() - t0,
        run_id,
        pk,
        judge.usage if judge else None,
        sum(1 for i in items if i.score is None),
        verifier_stats(v for i in items for v in i.verdicts),
    )


async def _score(
    r: ItemResult, ex: Example, metric: Metric, sandbox: BaseSandbox, judge: Judge | None, pass_at: Sequence[int]
) -> ItemScore:
    s = await metric.score(r.output, ex, sandbox, judge)
    correct = total = None
    if pass_at and r.candidates:
        scores = await asyncio.gather(*(metric.score(c.text, ex, sandbox, judge) for c in r.candidates))
        correct, total = sum(1 for x in scores if x is not None and x >= 1.0), len(scores)
    verdicts: list[tuple[str, str | None, bool]] = []
    if not metric.needs_judge:  # a judge metric would pay a call per candidate: left out
        for node, rec in r.records.items():
            judged = rec.get("verdicts") or ()
            scores = await asyncio.gather(*(metric.score(c.text, ex, sandbox, None) for c in judged))
            verdicts += [(node, c.verdict, x is not None and x >= 1.0) for c, x in zip(judged, scores, strict=True)]
    return ItemScore(
        ex.index, dict(r.query.fields), r.output, ex.gold, s, r.error, r.usage, correct, total, tuple(verdicts)
    )


async def _multi_turn(
    pipeline: Pipeline, examples: list[Example], metric: Metric, sandbox: BaseSandbox, judge: Judge | None
) -> tuple[list[ItemScore], Usage, str | None]:
    usage = Usage()
    history: dict[int, list[dict[str, str]]] = {e.index: [] for e in examples}
    turn_scores: dict[int, list[float | None]] = {e.index: [] for e in examples}
    last: dict[int, ItemResult] = {}
    run_id = None
    n_turns = max(len(e.fields.get("turns") or [e.fields.get("input")]) for e in examples)
    for t in range(n_turns):
        batch = [e for e in examples if len(e.fields.get("turns") or [None]) > t and e.index not in _failed(last)]
        if not batch:
            break
        payload = []
        for e in batch:
            turn = str((e.fields.get("turns") or [e.fields.get("input")])[t])
            messages = history[e.index] + [{"role": "user", "content": turn}]
            payload.append({**e.fields, "input": turn, "turn": t + 1, "messages": messages})
        run = await pipeline.aexecute(payload)
        run_id = run_id or run.run_id
        usage.add(run.usage)
        scored = []
        for e, r in zip(batch, run.items, strict=True):
            last[e.index] = r
            conversation = "\n".join(f"{m['role']}: {m['content']}" for m in payload[r.index]["messages"])
            gold = (
                e.gold[t]
                if isinstance(e.gold, list) and t < len(e.gold)
                else (None if isinstance(e.gold, list) else e.gold)
            )
            turn_example = Example(e.index, {**payload[r.index], "conversation": conversation}, gold)
            scored.append(metric.score(r.output, turn_example, sandbox, judge))
            history[e.index] = payload[r.index]["messages"] + [{"role": "assistant", "content": r.output or ""}]
        for e, s in zip(batch, await asyncio.gather(*scored), strict=True):
            turn_scores[e.index].append(s)
    items = []
    for e in examples:
        r = last[e.index]
        got = [s for s in turn_scores[e.index] if s is not None]
        item_usage = Usage()
        item_usage.add(r.usage)
        score = mean(got) if got else (0.0 if r.error else None)
        items.append(ItemScore(e.index, dict(e.fields), r.output, e.gold, score, r.error, item_usage))
    return items, usage, run_id


def _failed(last: dict[int, ItemResult]) -> set[int]:
    return {i for i, r in last.items() if r.error is not None}
