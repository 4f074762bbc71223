"""Judges through a scripted OpenAI-compatible server (fixed verdicts, not a model): the
prompts, both orders, parsing, caching and usage accounting are real."""

from __future__ import annotations

import archon
from archon.evaluate import Dataset
from archon.evaluate import Example
from archon.evaluate import aevaluate
from archon.evaluate import get_metric
from archon.evaluate import make_judge
from archon.evaluate import parse_rating
from archon.testing import ServerProcess


def pipeline(base: str, db: str) -> archon.Pipeline:
    text = f"""
models:
  m: {{model: openai/scripted, api_base: "{base}", max_tokens: 32}}
nodes:
  g: {{op: generate, model: m}}
output: g
"""
    return archon.load(text, db=db)


SCRIPT = [
    # pipeline answers
    (r"^capital of France\?$", "Paris"),
    (r"^capital of Spain\?$", "Barcelona"),
    (r"^Say hi$", "hi"),
    (r"And bye$", "bye"),  # turn 2 arrives as the whole dialogue
    # single ratings: keyed on the answer shown to the judge
    (r"\[The assistant's answer\]\nParis", "Correct. Rating: [[9]]"),
    (r"\[The assistant's answer\]\nBarcelona", "Wrong city. Rating: [[2]]"),
    (r"\[The assistant's answer\]\nhi", "fine [[6]]"),
    (r"\[The assistant's answer\]\nbye", "no verdict here"),
    # pairwise: the judge always prefers the answer that says Paris/Madrid
    (r"\[Answer A\]\nParis", "[[A]]"),
    (r"\[Answer B\]\nParis", "[[B]]"),
    (r"\[Answer A\]\nBarcelona.*\[Answer B\]\nMadrid", "[[B]]"),
    (r"\[Answer A\]\nMadrid.*\[Answer B\]\nBarcelona", "[[A]]"),
]


async def test_single_and_pairwise(db_url: str) -> None:
    data = Dataset(
        "t", (Example(0, {"input": "capital of France?"}, "Lyon"), Example(1, {"input": "capital of Spain?"}, "Madrid"))
    )
    with ServerProcess(script=SCRIPT) as srv:
        p = pipeline(srv.api_base, db_url)
        try:
            judge = make_judge(p, "m")
            single = await aevaluate(p, data, get_metric("judge"), judge=judge)
            pair = await aevaluate(p, data, get_metric("pairwise"), judge=make_judge(p, "m"))
            again = await aevaluate(p, data, get_metric("pairwise"), judge=make_judge(p, "m"))
        finally:
            await p.aclose()
    assert [i.score for i in single.items] == [0.9, 0.2]
    assert abs(single.score - 0.55) < 1e-9
    assert [i.score for i in pair.items] == [1.0, 0.0]  # Paris beats the baseline both ways; Barcelona loses
    assert pair.judge_usage is not None and pair.judge_usage.paid_calls == 4  # two orders per item
    assert again.judge_usage is not None and again.judge_usage.paid_calls == 0  # judge calls are cached


async def test_multi_turn_and_unparsed_verdicts(db_url: str) -> None:
    data = Dataset("mt", (Example(0, {"input": "Say hi", "turns": ["Say hi", "And bye"]}, None),))
    with ServerProcess(script=SCRIPT) as srv:
        p = pipeline(srv.api_base, db_url)
        try:
            result = await aevaluate(p, data, get_metric("judge"), judge=make_judge(p, "m"))
        finally:
            await p.aclose()
        prompts = srv.stats()["prompts"]
    item = result.items[0]
    assert item.output == "bye" and item.score == 0.6  # turn 2 had no verdict: the mean of turn 1 only
    assert "Say hi\nhi\nAnd bye" in prompts  # turn 2 was sent with the dialogue so far


def test_parse_rating() -> None:
    assert parse_rating("Rating: [[10]]") == 10.0
    assert parse_rating("[[3]] then [[7]]") == 7.0
    assert parse_rating("[[0]]") is None
