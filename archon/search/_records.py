"""What a search records of each trial, and the Pareto front of score against cost."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from typing import Any


@dataclass(frozen=True)
class TrialRecord:
    number: int
    params: dict[str, Any]
    state: str  # complete | pruned (at a lower rung) | rejected | stopped (budget) | repeat | failed (worker died)
    score: float | None = None
    ci95: tuple[float, float] | None = None
    cost: float | None = None  # dollars per query when priced, else calls per query
    calls_per_query: float | None = None
    paid_calls: int = 0
    cached_calls: int = 0
    reason: str = ""
    rung_scores: tuple[float, ...] = ()
    item_scores: tuple[float, ...] = ()  # per dev item, in item order (complete trials)
    verifiers: Mapping[str, Any] = field(default_factory=dict)  # verify node → precision/recall on dev (complete)


def pareto_front(trials: list[TrialRecord]) -> list[TrialRecord]:
    """The complete trials no other complete trial dominates (at least as good in score
    and cost, better in one), cheapest first."""
    done = [t for t in trials if t.state == "complete" and t.score is not None and t.cost is not None]
    front = []
    for t in done:
        dominated = any(
            (o.score or 0) >= (t.score or 0)
            and (o.cost or 0) <= (t.cost or 0)
            and ((o.score or 0) > (t.score or 0) or (o.cost or 0) < (t.cost or 0))
            for o in done
        )
        if not dominated:
            front.append(t)
    return sorted(front, key=lambda t: (t.cost or 0, -(t.score or 0)))
