"""Scoring a pipeline on a dataset: score, bootstrap interval, cost, per-item results."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from archon._pipeline import Pipeline
from archon._typing import Usage
from archon.evaluate._datasets import Dataset
from archon.evaluate._metrics import Metric
from archon.evaluate._stats import bootstrap_ci
from archon.evaluate._stats import mean
from archon.evaluate._stats import pass_at_k
from archon.execute import ItemResult
from archon.sandbox import BaseSandbox
from archon.sandbox import SubprocessSandbox


@dataclass(frozen=True)
class ItemScore:
    index: int
    input: dict[str, Any]
    output: str | None
    gold: Any
    score: float
    error: str | None
    usage: Usage
    candidates_correct: int | None = None
    candidates_total: int | None = None

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
        return out


async def aevaluate(
    pipeline: Pipeline,
    dataset: Dataset,
    metric: Metric,
    *,
    sandbox: BaseSandbox | None = None,
    pass_at: Sequence[int] = (),
    on_item: Callable[[ItemScore], None] | None = None,
) -> EvalResult:
    """Runs the pipeline on every example and scores its answers.

    Failed items score 0 and stay in the mean. With ``pass_at``, every candidate of the
    output node is scored too and pass@k (= coverage@k) is estimated from that pool with
    the unbiased estimator, so "how good would k samples be" needs no new calls.
    """
    sandbox = sandbox or SubprocessSandbox()
    t0 = time.perf_counter()
    run = await pipeline.aexecute([dict(e.fields) for e in dataset.examples])
    by_index = {e.index: e for e in dataset.examples}
    examples = list(dataset.examples)

    async def score_one(r: ItemResult) -> ItemScore:
        ex = examples[r.index]
        s = await metric.score(r.output, ex, sandbox)
        correct = total = None
        if pass_at and r.candidates:
            scores = await asyncio.gather(*(metric.score(c.text, ex, sandbox) for c in r.candidates))
            correct, total = sum(1 for x in scores if x >= 1.0), len(scores)
        return ItemScore(ex.index, dict(r.query.fields), r.output, ex.gold, s, r.error, r.usage, correct, total)

    items = await asyncio.gather(*(score_one(r) for r in run.items))
    del by_index
    scores = [i.score for i in items]
    pk: dict[int, float] = {}
    for k in sorted(set(pass_at)):
        pools = [i for i in items if i.candidates_total and i.candidates_total >= k]
        if pools and len(pools) == len(items):
            pk[k] = mean([pass_at_k(i.candidates_total or 0, i.candidates_correct or 0, k) for i in pools])
    if run.run_id is not None:
        store = pipeline.client.store
        await store.put_scores(
            run.run_id, metric.name, [{"idx": i.index, "gold": i.gold, "score": i.score} for i in items]
        )
    for i in items:
        if on_item:
            on_item(i)
    return EvalResult(
        dataset.name,
        metric.name,
        tuple(items),
        mean(scores),
        bootstrap_ci(scores),
        run.usage,
        time.perf_counter() - t0,
        run.run_id,
        pk,
    )
