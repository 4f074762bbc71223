"""The baseline every search scores, the winner's selection rule and its lift.

The baseline is one greedy call with the user's prompt (``baseline:`` in the space, else
the template's first generate node at the default parameters, one sample at temperature
0). It is scored on the dev split before the first trial and on the test split with the
finalists, so every result says how much the search bought over what a user would
otherwise run.

**Selection rule.** Dev scores on tens of items are noisy, and the top dev mean among many
near-ties is biased upwards (the winner's curse). The winner is therefore the *cheapest*
complete architecture that is not significantly worse than the top-scoring one on dev: a
paired bootstrap (95 %) of its per-item dev scores against the top one's has an upper bound
≥ 0. Ties in cost go to the one that beats the baseline most surely on dev — the highest
lower bound of its paired 95 % interval of dev lift over the baseline — then to the higher
dev score. So where the baseline's own architecture is among the trials (a task-first
space starts from it), a same-cost trial replaces it only if dev shows it better
(lower bound > 0): a search that cannot show an improvement ships the single call, with a
lift of 0, instead of the luckiest near-tie. With one objective (``[score]``) cost still
breaks the near-tie, so a needless sampler is never preferred to a single call that is
just as good.
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from archon.evaluate import EvalResult
from archon.evaluate import paired_bootstrap_ci


@dataclass(frozen=True)
class Lift:
    """The winner's test score minus the baseline's on the same items, with a paired
    bootstrap 95 % interval."""

    winner: float
    baseline: float
    diff: float
    low: float
    high: float
    n: int

    def line(self) -> str:
        return f"lift {self.diff:+.2f} [{self.low:+.2f}, {self.high:+.2f}]"

    def as_dict(self) -> dict[str, float | int]:
        return {
            "winner": self.winner,
            "baseline": self.baseline,
            "lift": self.diff,
            "ci95": [self.low, self.high],  # type: ignore[dict-item]
            "n": self.n,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Lift:
        """The inverse of :meth:`as_dict` (a study's stored ``lift`` attribute)."""
        low, high = d["ci95"]
        return cls(d["winner"], d["baseline"], d["lift"], low, high, d["n"])


def item_scores(result: EvalResult) -> tuple[float, ...]:
    """Per-item scores in item order (failed and unscored items count 0)."""
    return tuple(float(i.score or 0.0) for i in sorted(result.items, key=lambda i: i.index))


def lift(winner: Sequence[float], baseline: Sequence[float]) -> Lift:
    """Example:
    >>> lift([1, 1, 1, 0], [1, 0, 0, 0]).diff
    0.5
    """
    d, lo, hi = paired_bootstrap_ci(winner, baseline)
    n = len(winner)
    return Lift(sum(winner) / max(1, n), sum(baseline) / max(1, n), d, lo, hi, n)


def select_winner(records: Sequence[Any], baseline: Sequence[float] | None = None) -> Any | None:
    """The cheapest complete trial not significantly worse than the top dev score, ties in
    cost to the surest dev lift over ``baseline`` (the baseline's per-item dev scores; see
    the module docstring); records without per-item scores fall back to the top score.

    Example:
        >>> from archon.search._records import TrialRecord as T
        >>> a = T(0, {}, "complete", 0.60, cost=5.0, item_scores=(1.0,) * 6 + (0.0,) * 4)
        >>> b = T(1, {}, "complete", 0.55, cost=1.0, item_scores=(1.0,) * 5 + (0.0,) * 5)
        >>> select_winner([a, b]).number
        1
        >>> base = (1.0,) * 5 + (0.0,) * 5  # b is the baseline's own architecture
        >>> c = T(2, {}, "complete", 0.60, cost=1.0, item_scores=(0.0,) + (1.0,) * 5 + (0.0,) * 4)
        >>> select_winner([a, b, c]).number, select_winner([a, b, c], base).number
        (2, 1)
    """
    done = [r for r in records if r.state == "complete" and r.score is not None]
    if not done:
        return None
    top = max(done, key=lambda r: (r.score or 0.0, -(r.cost or 0.0)))
    if not top.item_scores:
        return top
    near = [top]
    for r in done:
        if r is top or len(r.item_scores) != len(top.item_scores):
            continue
        _, _, hi = paired_bootstrap_ci(r.item_scores, top.item_scores)
        if hi >= 0:
            near.append(r)

    def surest(r: Any) -> float:  # the lower bound of the dev lift over the baseline
        if baseline is None:
            return 0.0
        if len(r.item_scores) != len(baseline) or not baseline:
            return float("-inf")
        if tuple(r.item_scores) == tuple(baseline):
            return 0.0  # the baseline's twin: a sure lift of 0
        low = paired_bootstrap_ci(r.item_scores, baseline)[1]
        return low if low > 0 else low - 1e-9  # a bound of 0 does not show it better: the twin wins the tie

    return min(near, key=lambda r: (r.cost or 0.0, -surest(r), -(r.score or 0.0), r.number))


def dev_warning(winner: Sequence[float], baseline: Sequence[float]) -> str | None:
    """A warning when dev cannot tell the winner from the baseline."""
    if not winner or len(winner) != len(baseline):
        return None
    if tuple(winner) == tuple(baseline):
        return (
            f"no architecture beat the single call on dev ({len(winner)} items) with confidence: "
            "the winner answers as the single call does (lift 0)"
        )
    d, lo, hi = paired_bootstrap_ci(winner, baseline)
    if hi < 0:
        return (
            f"every architecture tried is worse than the single call on dev ({len(winner)} items; the winner's "
            f"dev lift {d:+.2f} [{lo:+.2f}, {hi:+.2f}]): run the single call instead (baseline.yaml in the "
            "results), or widen the space (a temperature 0, one-sample option)"
        )
    if lo <= 0:
        return (
            f"dev ({len(winner)} items) cannot separate the winner from the single call "
            f"(dev lift {d:+.2f} [{lo:+.2f}, {hi:+.2f}]): add items or a larger dev share before trusting it"
        )
    return None
