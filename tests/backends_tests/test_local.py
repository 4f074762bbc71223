"""The embedded model for real (llama.cpp + the gemma-3-270m GGUF from PyPI)."""

from __future__ import annotations

import json
from pathlib import Path

import archon
from tests.conftest import ROOT
from tests.conftest import vote_pipeline

WORDS = ["big", "fast", "happy", "early"]


def test_generate_vote_then_replay_from_cache(db_url: str) -> None:
    with archon.load(vote_pipeline(samples=3), db=db_url) as p:
        first = p.execute(WORDS)
        assert not first.failed, first.failed
        assert first.usage.paid_calls == 3 * len(WORDS)
        assert first.usage.completion_tokens > 0 and first.usage.prompt_tokens > 0
        assert all(o and o.strip() for o in first.outputs)
        again = p.execute(WORDS)
    assert again.usage.paid_calls == 0
    assert again.usage.cached_calls == 3 * len(WORDS)
    assert again.outputs == first.outputs


def test_more_samples_pay_only_for_the_new_ones(db_url: str) -> None:
    with archon.load(vote_pipeline(samples=3), db=db_url) as p:
        three = p.execute(WORDS)
    with archon.load(vote_pipeline(samples=5), db=db_url) as p:
        five = p.execute(WORDS)
    assert three.usage.paid_calls == 12
    assert five.usage.paid_calls == 2 * len(WORDS)
    assert five.usage.cached_calls == 3 * len(WORDS)
    # the first three samples are literally the same calls
    for a, b in zip(three.items, five.items, strict=True):
        assert len(a.candidates) == 3 and all(c.text for c in a.candidates)
        firsts = sorted((c.sample, c.text) for c in b.candidates if c.sample < 3)
        assert firsts == sorted((c.sample, c.text) for c in a.candidates)


def test_samples_differ_and_are_reproducible(db_url: str, tmp_path: Path) -> None:
    with archon.load(vote_pipeline(samples=6, temperature=1.0), db=db_url) as p:
        a = p.execute(["strong"]).items[0].candidates
    other_db = f"sqlite:///{tmp_path / 'other.db'}"
    with archon.load(vote_pipeline(samples=6, temperature=1.0), db=other_db) as p:
        b = p.execute(["strong"]).items[0].candidates
    texts = sorted(c.text for c in a)
    assert texts == sorted(c.text for c in b)  # seeds derive from the cache key
    assert len({c.sample for c in a}) == 6


def test_majority_vote_beats_a_single_sample_on_antonyms(db_url: str) -> None:
    """The gain the operators exist for: single-sample accuracy vs majority@5."""
    rows = [json.loads(line) for line in (ROOT / "data" / "antonyms.jsonl").read_text().splitlines()][:20]
    with archon.load(vote_pipeline(samples=5), db=db_url) as p:
        result = p.execute([{"input": r["input"]} for r in rows])
    assert not result.failed
    single = majority = 0.0
    for r, item in zip(rows, result.items, strict=True):
        gold = r["answer"].lower()
        single += sum(c.text.strip().lower().rstrip(".") == gold for c in item.candidates) / len(item.candidates)
        majority += (item.output or "").strip().lower().rstrip(".") == gold
    single, majority = single / len(rows), majority / len(rows)
    print(f"antonyms: single {single:.2f} → majority@5 {majority:.2f}")
    assert majority >= single
    assert majority >= 0.5


def test_library_run_and_batch(db_url: str) -> None:
    p = archon.load(ROOT / "pipelines" / "local-single-call.yaml", db=db_url)
    try:
        one = p.run("big")
        both = p.batch(["big", "fast"])
    finally:
        p.close()
    assert one == both[0]
    assert all(isinstance(x, str) and x for x in both)


async def test_arun(db_url: str) -> None:
    p = archon.load(ROOT / "pipelines" / "local-single-call.yaml", db=db_url)
    try:
        out = await p.arun("wet")
    finally:
        await p.aclose()
    assert isinstance(out, str) and out


def test_token_budget_refuses_calls_before_they_are_made(db_url: str) -> None:
    # Each call reserves its exact prompt tokens + max_tokens (6); 3 samples do not fit in 60.
    limits = archon.Limits(tokens=60)
    with archon.load(vote_pipeline(samples=3), db=db_url, limits=limits) as p:
        result = p.execute(["big"])
    item = result.items[0]
    assert item.error is not None and "token budget" in item.error
    spent = item.usage.prompt_tokens + item.usage.completion_tokens
    assert spent <= 60
