"""vote's and rank's candidate logic, rule by rule (mutation-tested: see [tool.mutmut]).

The operators are called directly with a context holding only what they read (the spec,
and for rank a scripted model reply); the same operators against a real server are in
test_operators_scripted.py."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from archon._typing import Candidate
from archon.operators._base import NodeInputs
from archon.operators.rank import Rank
from archon.operators.vote import Vote
from archon.spec import RankSpec
from archon.spec import VoteSpec


def _vote(texts: list[str], normalize: str = "text") -> list[tuple[str, float | None]]:
    cands = tuple(Candidate(t, "g", sample=i) for i, t in enumerate(texts))
    ctx: Any = SimpleNamespace(spec=VoteSpec(normalize=normalize))  # type: ignore[arg-type]
    out = asyncio.run(Vote().run(NodeInputs(cands), ctx))
    return [(c.text, c.score) for c in out]


def test_majority_first_with_its_share_as_score() -> None:
    assert _vote(["a", "b", "b", "c", "b"]) == [
        ("b", 0.6),
        ("b", 0.6),
        ("b", 0.6),
        ("a", 0.2),
        ("c", 0.2),
    ]


def test_tie_goes_to_the_group_seen_first() -> None:
    assert [t for t, _ in _vote(["x", "y", "y", "x"])] == ["x", "x", "y", "y"]
    assert [t for t, _ in _vote(["y", "x", "x", "y"])] == ["y", "y", "x", "x"]


def test_members_keep_their_order_and_normalized_answers_group() -> None:
    out = _vote(["Paris.", "paris", " PARIS ", "Lyon"])
    assert out == [("Paris.", 0.75), ("paris", 0.75), (" PARIS ", 0.75), ("Lyon", 0.25)]
    assert [t for t, _ in _vote(["Paris.", "paris"], normalize="exact")] == ["Paris.", "paris"]
    assert _vote(["Paris.", "paris"], normalize="exact")[0][1] == 0.5
    assert _vote(["it is 12", "12.0", "13"], normalize="number")[0] == ("it is 12", 2 / 3)


def test_empty_answers_vote_last_even_as_the_majority() -> None:
    out = _vote(["", " ", "...", "a"])
    assert out[0] == ("a", 0.25)
    assert [s for _, s in out[1:]] == [0.75, 0.75, 0.75]


def test_no_candidates_no_answer() -> None:
    assert _vote([]) == []


def _rank(n: int, reply: str, top_k: int = 5) -> list[tuple[str, float | None]]:
    cands = tuple(Candidate(f"c{i + 1}", "g", sample=i, critique=f"k{i + 1}") for i in range(n))
    asked: list[str] = []

    async def complete(prompt: str) -> str:
        asked.append(prompt)
        return reply

    def instructions(default: str, **kw: Any) -> str:
        return f"{len(kw['candidates'])} candidates"

    ctx: Any = SimpleNamespace(spec=RankSpec(model="m", top_k=top_k), complete=complete, instructions=instructions)
    out = asyncio.run(Rank().run(NodeInputs(cands), ctx))
    assert len(asked) == (1 if n > 1 else 0)  # one call, none for a single candidate
    assert all(c.critique == "k" + c.text[1:] for c in out)  # critiques travel with their candidates
    return [(c.text, c.score) for c in out]


def test_rank_orders_by_the_reply_and_scores_by_position() -> None:
    assert _rank(4, "[3] > [1] > [4] > [2]") == [("c3", 1.0), ("c1", 0.75), ("c4", 0.5), ("c2", 0.25)]


def test_rank_keeps_top_k_best_first() -> None:
    assert _rank(4, "[2] > [4] > [1] > [3]", top_k=2) == [("c2", 1.0), ("c4", 0.75)]
    assert _rank(3, "[3] > [2] > [1]", top_k=1) == [("c3", 1.0)]


def test_rank_repairs_a_partial_or_junk_reply() -> None:
    assert _rank(3, "[2] > [2] > [7]") == [("c2", 1.0), ("c1", 2 / 3), ("c3", 1 / 3)]
    assert _rank(3, "I like them all") == [("c1", 1.0), ("c2", 2 / 3), ("c3", 1 / 3)]


def test_rank_of_one_or_none_makes_no_call() -> None:
    assert _rank(1, "[1]") == [("c1", None)]
    assert _rank(0, "") == []
