"""Uncertainty and sampling estimators."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence


def mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def bootstrap_ci(
    values: Sequence[float], *, level: float = 0.95, resamples: int = 2000, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean (seeded, so reports are reproducible).

    Example:
        >>> bootstrap_ci([1.0] * 10)
        (1.0, 1.0)
        >>> lo, hi = bootstrap_ci([0, 1] * 50); round(lo, 2) < 0.5 < round(hi, 2)
        True
    """
    n = len(values)
    if n == 0:
        return (0.0, 0.0)
    rng = random.Random(seed)
    means = sorted(sum(values[rng.randrange(n)] for _ in range(n)) / n for _ in range(resamples))
    lo = means[int((1 - level) / 2 * resamples)]
    hi = means[min(resamples - 1, int((1 + level) / 2 * resamples))]
    return (lo, hi)


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k (Chen et al. 2021) from n samples of which c are correct.

    Also coverage@k: the chance that k samples drawn from the n contain a correct one.

    Example:
        >>> pass_at_k(10, 0, 5), pass_at_k(10, 10, 1), round(pass_at_k(10, 3, 1), 3)
        (0.0, 1.0, 0.3)
    """
    if not 0 <= c <= n:
        raise ValueError(f"need 0 <= c <= n, got {n=}, {c=}")
    if not 1 <= k <= n:
        raise ValueError(f"need 1 <= k <= n, got {n=}, {k=}")
    if n - c < k:
        return 1.0
    return 1.0 - math.prod((n - c - i) / (n - i) for i in range(k))


def paired_bootstrap_ci(
    a: Sequence[float], b: Sequence[float], *, level: float = 0.95, resamples: int = 2000, seed: int = 0
) -> tuple[float, float, float]:
    """The mean of ``a - b`` over paired items and its percentile bootstrap interval
    (items resampled together, so what both got right or wrong cancels).

    Example:
        >>> paired_bootstrap_ci([1, 1, 0, 1], [1, 1, 0, 1])
        (0.0, 0.0, 0.0)
        >>> d, lo, hi = paired_bootstrap_ci([1.0] * 40, [0.0] * 10 + [1.0] * 30); d, lo > 0
        (0.25, True)
    """
    if len(a) != len(b):
        raise ValueError(f"paired scores need equal lengths, got {len(a)=}, {len(b)=}")
    diffs = [float(x) - float(y) for x, y in zip(a, b, strict=True)]
    lo, hi = bootstrap_ci(diffs, level=level, resamples=resamples, seed=seed)
    return (mean(diffs), lo, hi)
