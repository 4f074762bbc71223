"""The interval estimators every reported score and selection rests on (mutation-tested:
see [tool.mutmut])."""

from __future__ import annotations

import random

import pytest

from archon.evaluate._stats import bootstrap_ci
from archon.evaluate._stats import mean
from archon.evaluate._stats import paired_bootstrap_ci
from archon.evaluate._stats import pass_at_k


def test_mean() -> None:
    assert mean([]) == 0.0 and mean([1.0, 2.0, 6.0]) == 3.0


def test_bootstrap_interval_brackets_the_mean_and_is_seeded() -> None:
    values = [1.0] * 30 + [0.0] * 70
    lo, hi = bootstrap_ci(values)
    assert 0.19 < lo < 0.3 < hi < 0.41
    assert bootstrap_ci(values) == (lo, hi) and bootstrap_ci(values, seed=1) != (lo, hi)
    assert bootstrap_ci([]) == (0.0, 0.0) and bootstrap_ci([0.5]) == (0.5, 0.5)


def test_bootstrap_level_matches_a_normal_approximation() -> None:
    rng = random.Random(3)
    values = [float(rng.random() < 0.5) for _ in range(400)]
    lo, hi = bootstrap_ci(values)
    half = 1.96 * (0.25 / 400) ** 0.5  # ≈ 0.049
    assert hi - lo == pytest.approx(2 * half, rel=0.15)
    lo80, hi80 = bootstrap_ci(values, level=0.8)
    assert lo < lo80 < hi80 < hi
    assert hi80 - lo80 == pytest.approx(2 * 1.2816 * (0.25 / 400) ** 0.5, rel=0.15)


def test_bootstrap_interval_is_ordered_and_uses_the_resample_count() -> None:
    values = [0.0, 1.0] * 5
    lo, hi = bootstrap_ci(values, resamples=10)
    assert lo <= hi
    lo1, hi1 = bootstrap_ci(values, resamples=1)
    assert lo1 == hi1


def test_paired_interval_cancels_shared_items() -> None:
    a = [1.0] * 20 + [0.0] * 20
    b = [1.0] * 19 + [0.0] * 21
    d, lo, hi = paired_bootstrap_ci(a, b)
    assert d == pytest.approx(0.025) and lo == 0.0 and hi > 0
    assert paired_bootstrap_ci([1, 0], [0, 1])[0] == 0.0
    d2, lo2, hi2 = paired_bootstrap_ci([1.0] * 40, [0.0] * 10 + [1.0] * 30)
    assert d2 == 0.25 and 0.1 < lo2 < 0.25 < hi2 <= 0.4
    with pytest.raises(ValueError, match="equal lengths, got len"):
        paired_bootstrap_ci([1.0], [1.0, 0.0])


def test_pass_at_k() -> None:
    assert pass_at_k(10, 3, 1) == pytest.approx(0.3)
    assert pass_at_k(10, 3, 2) == pytest.approx(1 - (7 * 6) / (10 * 9))
    assert pass_at_k(5, 0, 5) == 0.0
    assert pass_at_k(5, 1, 5) == 1.0  # n - c < k
    assert pass_at_k(4, 2, 3) == 1.0
    assert pass_at_k(4, 1, 3) == pytest.approx(1 - (3 * 2 * 1) / (4 * 3 * 2))
    assert pass_at_k(1, 1, 1) == 1.0
    for n, c, k in [(5, 6, 1), (5, -1, 1), (5, 1, 0), (5, 1, 6)]:
        with pytest.raises(ValueError):
            pass_at_k(n, c, k)
    assert pass_at_k(5, 5, 5) == 1.0 and pass_at_k(5, 0, 1) == 0.0


def test_intervals_pass_their_options_through_and_are_central() -> None:
    a = [1.0, 0.0] * 20
    b = [0.0] * 40
    diffs = [x - y for x, y in zip(a, b, strict=True)]
    for kw in ({"level": 0.5, "resamples": 37, "seed": 5}, {"level": 0.99, "resamples": 400, "seed": 2}):
        assert paired_bootstrap_ci(a, b, **kw)[1:] == bootstrap_ci(diffs, **kw)  # type: ignore[arg-type]
    lo, hi = bootstrap_ci(a)
    assert lo + hi == pytest.approx(1.0, abs=0.03) and lo < 0.5 < hi  # a symmetric sample: a central interval
    lo1, hi1 = bootstrap_ci(a, level=0.999, resamples=1000)
    assert hi1 == max(hi1, hi) and lo1 <= lo


def test_pass_at_k_edges_and_errors() -> None:
    assert pass_at_k(5, 4, 2) == 1.0  # fewer wrong than k: a right one is always drawn
    assert pass_at_k(5, 3, 2) == pytest.approx(1 - 1 / 10)
    with pytest.raises(ValueError, match=r"need 0 <= c <= n, got n=3, c=4"):
        pass_at_k(3, 4, 1)
    with pytest.raises(ValueError, match=r"need 1 <= k <= n, got n=3, k=0"):
        pass_at_k(3, 1, 0)
