"""Adaptive sampling (generate's early_stop) on the real embedded model: it stops per
query, never draws past its maximum, shares the sample-indexed cache with fixed runs both
ways, and the budget reserves its maximum."""

from __future__ import annotations

import pytest

import archon
from archon.backends import Limits
from archon.errors import ArchonError
from tests.conftest import ROOT

ADAPTIVE = (ROOT / "pipelines" / "local-adaptive-vote.yaml").read_text(encoding="utf-8")
WORDS = ["hot", "big", "fast", "up", "happy", "quixotic", "ephemeral", "laconic"]


def _calls(result: archon.RunResult) -> list[int]:
    return [i.usage.paid_calls + i.usage.cached_calls for i in result.items]


def test_adaptive_sampling_stops_per_query_within_its_maximum(db_url: str) -> None:
    with archon.load(ADAPTIVE, db=db_url) as p:
        result = p.execute(WORDS)
    calls = _calls(result)
    assert all(3 <= c <= 12 and c % 3 == 0 for c in calls), calls  # whole waves of 3, at most 12
    assert min(calls) < 12, calls  # an easy word settles early
    assert sum(calls) < 12 * len(WORDS)
    for item, c in zip(result.items, calls, strict=True):
        # vote's output: every drawn sample, the first c of them, the majority first
        assert sorted(cand.sample for cand in item.candidates) == list(range(c))
        assert item.output == item.candidates[0].text
    # the stop is the stated rule: the drawn samples are settled, those one wave earlier were not
    from archon.operators._combine import majority_settled

    for item, c in zip(result.items, calls, strict=True):
        texts = sorted(item.candidates, key=lambda x: x.sample)
        if c < 12:
            assert majority_settled([t.text for t in texts], "text", 0.9)
        if c > 3:
            assert not majority_settled([t.text for t in texts[: c - 3]], "text", 0.9)


def test_adaptive_and_fixed_runs_share_the_cache_both_ways(db_url: str) -> None:
    fixed = ADAPTIVE.replace("    early_stop: 0.9 ", "    # early_stop: 0.9 ")
    assert "# early_stop" in fixed
    with archon.load(ADAPTIVE, db=db_url) as p:
        first = p.execute(WORDS[:4])
    with archon.load(fixed, db=db_url) as p:
        full = p.execute(WORDS[:4])
    drawn = sum(_calls(first))
    assert full.usage.cached_calls == drawn and full.usage.paid_calls == 12 * 4 - drawn
    with archon.load(ADAPTIVE, db=db_url) as p:
        again = p.execute(WORDS[:4])
    assert again.usage.paid_calls == 0 and again.outputs == first.outputs


def test_the_budget_reserves_the_maximum(db_url: str) -> None:
    with pytest.raises(ArchonError, match="calls"):
        with archon.load(ADAPTIVE, db=db_url, limits=Limits(calls=6)) as p:
            p.execute(["hot"])


def test_early_stop_must_be_a_probability_over_one_half() -> None:
    for bad in ("0.5", "1.0", "1.5", "yes"):
        with pytest.raises(ArchonError, match="early_stop"):
            archon.load(ADAPTIVE.replace("early_stop: 0.9", f"early_stop: {bad}"))
