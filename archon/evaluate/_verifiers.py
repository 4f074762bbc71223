"""How good a pipeline's verifiers are, measured against gold: each ``verify`` node records
the verdict it gave every candidate it judged, the metric says which candidates were right,
and the confusion counts give precision, recall and the false-positive rate.

Why it matters (Inference-scaling fLaws): a verifier that passes wrong answers bounds what
resampling can gain. Sampling more candidates and keeping a verified one converges to the
verifier's precision at the candidates' base rate, so where that precision is not above the
base rate, more samples for the verifier to pick from do not raise accuracy.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class VerifierStats:
    """One verify node's verdicts against gold, over every candidate it judged.

    ``unknown`` verdicts (a reply with no verdict) count as not passed."""

    node: str
    true_pos: int
    false_pos: int
    false_neg: int
    true_neg: int

    @property
    def judged(self) -> int:
        return self.true_pos + self.false_pos + self.false_neg + self.true_neg

    @property
    def base_rate(self) -> float:
        """The share of judged candidates that were right."""
        return (self.true_pos + self.false_neg) / self.judged if self.judged else 0.0

    @property
    def precision(self) -> float | None:
        """Of the candidates it passed, the share that were right (None: it passed none)."""
        passed = self.true_pos + self.false_pos
        return self.true_pos / passed if passed else None

    @property
    def recall(self) -> float | None:
        """Of the right candidates, the share it passed (None: none was right)."""
        right = self.true_pos + self.false_neg
        return self.true_pos / right if right else None

    @property
    def false_positive_rate(self) -> float | None:
        """Of the wrong candidates, the share it passed (None: none was wrong)."""
        wrong = self.false_pos + self.true_neg
        return self.false_pos / wrong if wrong else None

    def warning(self, margin: float = 0.05) -> str | None:
        """Why more samples will not help through this verifier, when its precision is not
        above the base rate by ``margin`` (or it passes half the wrong answers or more)."""
        p, fpr = self.precision, self.false_positive_rate
        if p is None or fpr is None or self.judged < 10:
            return None
        if p < self.base_rate + margin or fpr >= 0.5:
            return (
                f"verify node '{self.node}' passes {fpr:.0%} of wrong candidates (precision {p:.2f} at a base "
                f"rate of {self.base_rate:.2f}): it barely tells right from wrong, so sampling more candidates "
                f"for it to pick from will not raise accuracy past about {p:.2f} — use a stronger verifier model, "
                "more judgments with a k-of-m rule, or vote instead"
            )
        return None

    def as_dict(self) -> dict[str, Any]:
        def r(x: float | None) -> float | None:
            return None if x is None else round(x, 4)

        return {
            "judged": self.judged,
            "true_pos": self.true_pos,
            "false_pos": self.false_pos,
            "false_neg": self.false_neg,
            "true_neg": self.true_neg,
            "base_rate": r(self.base_rate),
            "precision": r(self.precision),
            "recall": r(self.recall),
            "false_positive_rate": r(self.false_positive_rate),
            "warning": self.warning(),
        }


def verifier_stats(judgments: Iterable[tuple[str, str | None, bool]]) -> dict[str, VerifierStats]:
    """Per verify node, from (node, verdict, candidate was right) triples.

    Example:
        >>> s = verifier_stats([("v", "correct", True), ("v", "correct", False), ("v", "incorrect", True)])["v"]
        >>> s.precision, s.recall, s.false_positive_rate
        (0.5, 0.5, 1.0)
    """
    counts: dict[str, list[int]] = {}
    for node, verdict, right in judgments:
        c = counts.setdefault(node, [0, 0, 0, 0])
        passed = verdict == "correct"
        c[(0 if right else 1) if passed else (2 if right else 3)] += 1
    return {node: VerifierStats(node, *c) for node, c in counts.items()}
