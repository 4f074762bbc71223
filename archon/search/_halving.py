"""Successive halving: one trial scored on growing nested subsets of the dev split, each
rung's worst case reserved on the search's ledger before it is paid."""

from __future__ import annotations

import math
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from archon._pipeline import Pipeline
from archon.backends import Limits
from archon.evaluate import Dataset
from archon.evaluate import Metric
from archon.evaluate import aevaluate
from archon.evaluate import paired_bootstrap_ci
from archon.search._baseline import item_scores
from archon.search._ledger import Ledger
from archon.search._ledger import Spend
from archon.search._records import TrialRecord


def rung_history(records: list[TrialRecord], n: int) -> list[list[float]]:
    history: list[list[float]] = [[] for _ in range(n)]
    for r in records:
        for i, sc in enumerate(r.rung_scores[:n]):
            if not math.isnan(sc):  # NaN: a rung below the trial's bracket
                history[i].append(sc)
    return history


def worst_case(pipe: Pipeline, pq: Any, items: int) -> Spend:
    """The most ``items`` queries can spend: the static call count, and the per-query
    token and dollar caps (the executor holds every query to them)."""
    return Spend(
        pipe.plan.cost.calls * items,
        (pq.tokens or 0) * items,
        (pq.usd or 0.0) * items,
    )


def _last_trial(ledger: Ledger, limit: Limits, rest: Spend, another: Spend) -> bool:
    """Whether, once this trial's ``rest`` is paid, ``another`` trial would not fit
    ``limit`` (no ledger read when nothing is capped)."""
    if not limit.any:
        return False
    return (ledger.spent() + rest + another).over(limit) is not None


def per_query(u: Any, items: int) -> tuple[float, float]:
    """An evaluation's cost per query — dollars when priced, else calls; paid and cached
    alike — and its calls per query."""
    n = max(1, items)
    calls = (u.paid_calls + u.cached_calls) / n
    usd = (u.cost_usd + u.cached_cost_usd) / n
    return (usd if usd > 0 else calls), calls


def paid_spend(u: Any) -> Spend:
    """What an evaluation spent: its paid calls, and its cancelled ones at their worst case
    (a hosted API may bill a call abandoned in flight)."""
    return Spend(
        u.paid_calls + u.cancelled_calls,
        u.prompt_tokens + u.completion_tokens + u.cancelled_tokens,
        u.cost_usd + u.cancelled_usd,
    )


async def run_trial(
    pipe: Pipeline,
    dev: list[Any],
    rungs: tuple[float, ...],
    keep: float,
    history: list[list[float]],
    metric: Metric,
    ledger: Ledger,
    caps: Limits,
    pq: Any,
    params: dict[str, Any],
    number: int,
    first: int = 0,
    promote: str = "interval",
    kept: Spend | None = None,
    rivals: Sequence[Rival] = (),
) -> tuple[TrialRecord, bool]:
    """Successive halving for one trial: score it on growing nested subsets of the dev
    split; it goes on to the next rung only if the top of its 95 % interval reaches the
    score of the best ``keep`` share of the trials seen at that rung (always, for the first
    three), and only if it is not surely worse than a rival no dearer — an architecture
    already scored on the whole dev split (or the baseline) whose cost per query is at most
    this trial's so far: the top of the paired 95 % interval of this trial's scores minus
    the rival's, on the same rung items, must reach 0 (so a pruned trial is dominated, never
    a Pareto point); when no other trial of its cost would fit the budget once this one is
    finished, not below such a rival on the rung's items at all. Hyperband-style brackets:
    a trial of bracket ``first`` starts at that rung, so some trials are never stopped on
    the smallest, noisiest subsets. Each rung's worst case
    is reserved in the ledger first, and must fit with ``kept`` (what the closing test
    re-score needs) left over. Returns the record and whether the search budget stopped it."""
    paid = Spend()
    done = 0
    scores: list[float] = []
    result = None
    for i, frac in enumerate(rungs):
        if i < first:  # a later bracket: no early stop below its first rung
            scores.append(math.nan)
            continue
        k = max(1, math.ceil(frac * len(dev))) if i < len(rungs) - 1 else len(dev)
        # the items below were scored at the last rung: cached. Before the first rung, the
        # whole trial's worst case: a trial that could not complete cannot win, so its
        # first rungs would buy nothing
        upto = len(dev) if i == first else k
        limit = kept.kept_from(caps) if kept else caps
        why = ledger.reserve(number, worst_case(pipe, pq, upto - done), limit)
        if why is not None:
            ledger.settle(number, paid, final=True)
            what = f"the trial's worst case on all {len(dev)} dev items" if i == first else f"rung {i + 1} worst case"
            reason = f"{what} would put the search at {why}"
            if kept and kept.calls and caps.calls is not None:
                reason += f" (the budget of {caps.calls} calls less {kept.calls} kept for the test re-score)"
            return TrialRecord(number, params, "stopped", reason=reason, paid_calls=paid.calls), True
        try:
            with ledger.tagged(number):
                result = await aevaluate(pipe, Dataset("dev", tuple(dev[:k])), metric)
        except BaseException:
            ledger.settle(number, paid, final=False)  # what finished rungs paid; this one's reservation is lost
            raise
        paid = paid + paid_spend(result.usage)
        ledger.settle(number, paid, final=i == len(rungs) - 1)
        failed = all_failed(result)
        if failed:  # not a score of 0: the architecture could not be judged
            ledger.settle(number, paid, final=True)
            reason = f"every dev item failed: {failed}"
            return TrialRecord(number, params, "rejected", reason=reason, paid_calls=paid.calls), False
        done = k
        scores.append(result.score)
        if i < len(rungs) - 1:
            behind = _behind(result, rivals)
            if not behind and _last_trial(
                ledger, limit, worst_case(pipe, pq, len(dev) - k), worst_case(pipe, pq, len(dev))
            ):
                # the budget's last trial: once it is finished, no other of its cost fits.
                # Finishing one already behind a rival no dearer would most likely leave the
                # winner as it is and spend what a more promising last trial needs, so behind
                # at all stops it
                behind = _behind(result, rivals, surely=False)
            why_pruned = f", {behind}" if behind else ""
            seen = sorted(history[i], reverse=True)
            if not behind and len(seen) >= 3:
                bar = seen[max(0, math.ceil(keep * len(seen)) - 1)]
                top = result.ci95[1] if promote == "interval" else result.score
                if top < bar:
                    interval = f", interval top {result.ci95[1]:.3f}" if promote == "interval" else ""
                    why_pruned = f"{interval} < {bar:.3f}"
            if why_pruned:
                ledger.settle(number, paid, final=True)
                reason = f"stopped at rung {i + 1} ({k} items): {result.score:.3f}{why_pruned}"
                pruned = (result.score, result.ci95, None, None, paid.calls, result.usage.cached_calls, reason)
                return TrialRecord(number, params, "pruned", *pruned, tuple(scores)), False
    assert result is not None
    u = result.usage
    cost, calls_pq = per_query(u, len(dev))
    return (
        TrialRecord(
            number,
            params,
            "complete",
            result.score,
            result.ci95,
            cost,
            calls_pq,
            paid.calls,
            u.cached_calls + u.paid_calls - paid.calls,
            "",
            tuple(scores),
            item_scores(result),
            {node: v.as_dict() for node, v in result.verifiers.items()},
        ),
        False,
    )


@dataclass(frozen=True)
class Rival:
    """An architecture scored on the whole dev split: its name in reasons ("trial 3", "the
    single call"), its cost per query (dollars when priced, else calls: a trial record's
    ``cost``) and its score on each dev item by the item's index."""

    name: str
    cost: float
    items: Mapping[int, float]


def scored_rivals(
    records: Sequence[TrialRecord], dev_ids: Sequence[int], baseline: Sequence[float] = ()
) -> list[Rival]:
    """The complete trials, and the baseline at one call per query, as rivals of the next
    trial's rungs; ``dev_ids``: the dev items' indices (the records' item scores are in
    their sorted order)."""
    ids = sorted(dev_ids)
    out = [Rival("the single call", 1.0, dict(zip(ids, baseline, strict=True)))] if len(baseline) == len(ids) else []
    for r in records:
        if r.state == "complete" and r.cost is not None and len(r.item_scores) == len(ids):
            out.append(Rival(f"trial {r.number}", r.cost, dict(zip(ids, r.item_scores, strict=True))))
    return out


def _behind(result: Any, rivals: Sequence[Rival], surely: bool = True) -> str:
    """Why this rung's result is surely worse than a rival no dearer, or ''; with ``surely``
    false, why it is below one on the rung's items at all (the largest gap)."""
    items = sorted(result.items, key=lambda i: i.index)
    n = max(1, len(items))
    cost, _ = per_query(result.usage, len(items))
    mine = [float(i.score or 0.0) for i in items]
    best: tuple[float, Rival, float] | None = None
    for rival in rivals:
        if rival.cost > cost + 1e-9 or any(i.index not in rival.items for i in items):
            continue
        theirs = [rival.items[i.index] for i in items]
        if sum(theirs) <= sum(mine):  # not ahead here: the interval cannot lie below 0
            continue
        if not surely:
            d = (sum(mine) - sum(theirs)) / n
            if best is None or d < best[0]:
                best = (d, rival, d)
            continue
        d, _, hi = paired_bootstrap_ci(mine, theirs)
        if hi < 0 and (best is None or d < best[0]):
            best = (d, rival, hi)
    if best is None:
        return ""
    d, rival, hi = best
    if not surely:
        return f"below {rival.name} (no dearer) on the same items ({d:+.3f}) with budget left for no other trial after this one"
    return f"surely below {rival.name} (no dearer) on the same items: {d:+.3f}, paired interval top {hi:+.3f} < 0"


def all_failed(result: Any) -> str:
    """The first item's error when every item of an evaluation failed, else ''."""
    items = list(result.items)
    if items and all(i.error for i in items):
        return str(items[0].error).splitlines()[0][:300]
    return ""
