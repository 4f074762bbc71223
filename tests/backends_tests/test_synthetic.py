"""The SIMULATED synthetic/ backend: seeded, documented behaviour (for optimizer tests)."""

from __future__ import annotations

import pytest

import archon
from archon.backends._synthetic import difficulty
from archon.backends._synthetic import gold_answer
from archon.backends._synthetic import make_dataset
from archon.backends._synthetic import skill_of
from archon.evaluate import Dataset
from archon.evaluate import Example
from archon.evaluate import aevaluate
from archon.evaluate import get_metric

DATA = Dataset("syn", tuple(Example(i, {"input": r["input"]}, r["answer"]) for i, r in enumerate(make_dataset(150, 3))))


async def score(body: str, db_url: str, model: str = "synthetic/medium") -> tuple[float, int]:
    text = f"models:\n  m: {{model: {model}}}\nnodes:\n{body}"
    p = archon.load(text, db=db_url)
    try:
        r = await aevaluate(p, DATA, get_metric("exact"))
    finally:
        await p.aclose()
    return r.score, r.usage.paid_calls


async def test_skill_orders_models_and_sampling_helps(db_url: str) -> None:
    single = "  g: {op: generate, model: m}\noutput: g\n"
    small, _ = await score(single, db_url, "synthetic/small")
    large, _ = await score(single, db_url, "synthetic/large")
    medium, calls = await score(single, db_url)
    assert small < medium < large and calls == 150
    rank, _ = await score(
        "  g: {op: generate, model: m, samples: 5}\n  r: {op: rank, model: m, inputs: [g], top_k: 1}\noutput: r\n",
        db_url,
    )
    assert rank > medium + 0.05  # a ranker over 5 samples beats one sample


async def test_reproducible_and_cached(db_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    body = "  g: {op: generate, model: m, samples: 3}\n  v: {op: vote, inputs: [g]}\noutput: v\n"
    a = await score(body, db_url)
    b = await score(body, f"sqlite:///{tmp_path / 'other.db'}")
    c = await score(body, db_url)
    assert a == b  # same seeds, same simulated answers
    assert c == (a[0], 0)  # replayed from the cache


def test_items_and_skills() -> None:
    assert gold_answer("q0-1") == gold_answer("q0-1") != gold_answer("q0-2")
    assert 0 <= difficulty("q0-1") < 1
    assert skill_of("large") == 0.75 and skill_of("mine-0.62") == 0.62
    with pytest.raises(archon.ConfigurationError, match="simulated"):
        skill_of("gpt-4o")
