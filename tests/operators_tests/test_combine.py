"""The operators' candidate rules (archon/operators/_combine.py), rule by rule, and the
guarantee that every runtime uses this one definition (mutation-tested: see [tool.mutmut])."""

from __future__ import annotations

import ast
import inspect

import pytest

from archon._typing import Candidate
from archon._typing import Tests as Suite
from archon.operators import _combine as combine
from archon.operators._combine import bradley_terry
from archon.operators._combine import by_tests
from archon.operators._combine import critiqued
from archon.operators._combine import fused
from archon.operators._combine import generated
from archon.operators._combine import judged_passes
from archon.operators._combine import majority_settled
from archon.operators._combine import pair_schedule
from archon.operators._combine import rank_needs_call
from archon.operators._combine import ranked
from archon.operators._combine import ranked_pairwise
from archon.operators._combine import sample_waves
from archon.operators._combine import suite_for
from archon.operators._combine import verified
from archon.operators._combine import voted
from archon.operators._combine import written_tests


def _cands(*texts: str) -> tuple[Candidate, ...]:
    return tuple(Candidate(t, "g", model="m", sample=i) for i, t in enumerate(texts))


def test_generate_jobs_are_every_sample_of_a_model_then_the_next() -> None:
    [jobs] = sample_waves(2, 3, None)
    assert jobs == [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)]
    assert sample_waves(1, 0, None) == [] and sample_waves(0, 4, None) == [[]]
    out = generated(["a", "b", "c", "d", "e", "f"], jobs, "n", ["x", "y"])
    assert [(c.text, c.model, c.sample, c.node) for c in out] == [
        ("a", "x", 0, "n"),
        ("b", "x", 1, "n"),
        ("c", "x", 2, "n"),
        ("d", "y", 0, "n"),
        ("e", "y", 1, "n"),
        ("f", "y", 2, "n"),
    ]


def test_waves_draw_the_first_samples_of_every_model_first() -> None:
    assert sample_waves(2, 5, 2) == [
        [(0, 0), (0, 1), (1, 0), (1, 1)],
        [(0, 2), (0, 3), (1, 2), (1, 3)],
        [(0, 4), (1, 4)],
    ]
    assert sample_waves(1, 4, 4) == sample_waves(1, 4, None) == [[(0, 0), (0, 1), (0, 2), (0, 3)]]
    assert sample_waves(1, 3, 0) == [[(0, 0)], [(0, 1)], [(0, 2)]]  # a wave draws at least one
    # candidates come out in job order whatever order the waves drew them in
    jobs = [w for wave in sample_waves(2, 3, 1) for w in wave]
    out = generated([f"{m}{i}" for m, i in jobs], jobs, "n", ["x", "y"])
    assert [c.text for c in out] == ["00", "01", "02", "10", "11", "12"]


@pytest.mark.parametrize(
    ("leader", "runner", "confidence", "stop"),
    [
        (4, 0, 0.95, True),  # P = 1 - 1/32
        (3, 0, 0.95, False),  # 1 - 1/16 = 0.9375
        (3, 0, 0.93, True),
        (5, 1, 0.9, True),  # 1 - 8/128
        (4, 2, 0.9, False),  # 1 - 29/128
        (7, 2, 0.95, False),  # 1 - 56/1024 = 0.945
        (8, 2, 0.95, True),  # 1 - 67/2048 = 0.967
        (1, 0, 0.51, True),  # 1 - 1/4
        (2, 2, 0.51, False),  # a tie is never settled
    ],
)
def test_adaptive_sampling_stops_on_the_stated_beta_rule(
    leader: int, runner: int, confidence: float, stop: bool
) -> None:
    texts = ["Paris"] * leader + ["Rome"] * runner + ["", ""]  # empty answers do not count
    assert majority_settled(texts, "text", confidence) is stop
    assert majority_settled(list(reversed(texts)), "text", confidence) is stop  # order does not matter


def test_a_third_answer_does_not_count_against_the_leader_only_the_runner_up_does() -> None:
    assert majority_settled(["a"] * 4 + ["b", "c", "d"], "text", 0.85)  # a=4 vs b=1: 1 - 7/64
    assert not majority_settled(["a"] * 4 + ["b", "b", "c"], "text", 0.85)  # a=4 vs b=2: 1 - 29/128
    assert majority_settled(["1.0", "1", "1.00", "2"], "number", 0.8)  # numbers compared as numbers
    assert not majority_settled(["1.0", "1", "1.00", "2"], "exact", 0.8)


def test_rank_orders_by_the_reply_scores_by_place_and_keeps_top_k() -> None:
    cs = _cands("a", "b", "c", "d")
    out = ranked(cs, "[3] > [1] > [4] > [2]", 2)
    assert [(c.text, c.score) for c in out] == [("c", 1.0), ("a", 0.75)]
    # a partial reply: missing ids keep their order after the ranked ones
    assert [c.text for c in ranked(cs, "[2]", 4)] == ["b", "a", "c", "d"]
    assert [c.score for c in ranked(cs, "[2]", 4)] == [1.0, 0.75, 0.5, 0.25]


def test_rank_of_one_candidate_makes_no_call_and_keeps_it() -> None:
    assert not rank_needs_call(_cands("a")) and not rank_needs_call(())
    assert rank_needs_call(_cands("a", "b"))
    one = _cands("a")
    assert ranked(one, None, 5) == one  # unscored: nothing was compared
    assert ranked(_cands("a", "b", "c"), None, 2) == _cands("a", "b")


def test_pair_schedule_is_every_pair_or_a_balanced_prefix() -> None:
    assert pair_schedule(4, None) == [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]
    assert pair_schedule(4, 99) == pair_schedule(4, None)
    assert pair_schedule(1, None) == [] and pair_schedule(0, 3) == []
    capped = pair_schedule(8, 8)
    assert len(capped) == len(set(capped)) == 8
    meets = [sum(i in p for p in capped) for i in range(8)]
    assert meets == [2] * 8  # a cycle: everyone meets two others
    assert set(pair_schedule(7, 21)) == set(pair_schedule(7, None))  # the whole schedule is every pair


def test_bradley_terry_orders_by_wins_and_keeps_losers_finite() -> None:
    s = bradley_terry(3, [(2, 0), (2, 1), (2, 0), (2, 1), (0, 1)])
    assert s[2] > s[0] > s[1] > 0 and abs(sum(s) - 1) < 1e-9
    even = bradley_terry(3, [(0, 1), (1, 0), (1, 2), (2, 1), (0, 2), (2, 0)])
    assert max(even) - min(even) < 1e-9
    assert bradley_terry(2, []) == [0.5, 0.5] and bradley_terry(0, []) == []
    # a transitive chain: strengths follow it
    chain = bradley_terry(4, [(0, 1), (1, 2), (2, 3)] * 3)
    assert chain == sorted(chain, reverse=True)


def test_pairwise_rank_cancels_a_judge_that_always_picks_the_first_answer() -> None:
    cs = _cands("a", "b", "c")
    schedule = pair_schedule(3, None)
    biased = ["A"] * (2 * len(schedule))
    out = ranked_pairwise(cs, schedule, biased, 3)
    assert [c.text for c in out] == ["a", "b", "c"]  # all tied: input order
    assert max(c.score or 0 for c in out) - min(c.score or 0 for c in out) < 1e-9
    # c wins in both orders, the rest is bias; unreadable replies count for no one
    replies = []
    for _, j in schedule:
        replies += ["B" if j == 2 else "A", "A" if j == 2 else "no idea"]
    assert [c.text for c in ranked_pairwise(cs, schedule, replies, 1)] == ["c"]


def test_fuse_falls_back_to_the_first_candidate_on_an_empty_reply() -> None:
    cs = (Candidate("first", "g", model="gen", sample=3), Candidate("second", "g", model="gen"))
    out = fused(cs, ["merged", "", "again"], "f", "fuser")
    assert [(c.text, c.model, c.sample, c.node) for c in out] == [
        ("merged", "fuser", 0, "f"),
        ("first", "gen", 1, "f"),
        ("again", "fuser", 2, "f"),
    ]


def test_critique_blocks_align_and_a_lone_candidate_takes_the_whole_reply() -> None:
    cs = _cands("a", "b", "c")
    out = critiqued(cs, "[2] too short\n[1] right")
    assert [c.critique for c in out] == ["right", "too short", None]
    assert [c.text for c in out] == ["a", "b", "c"]
    assert critiqued(_cands("a"), "Looks right.")[0].critique == "Looks right."
    assert critiqued(_cands("a"), "")[0].critique is None
    assert critiqued(_cands("a", "b"), "Looks right.")[0].critique is None  # no blocks, two candidates


def test_verify_keeps_the_correct_else_follows_on_none() -> None:
    cs = _cands("a", "b", "c")
    replies = ["Verdict: incorrect", "Verdict: correct", "Verdict: correct"]
    out = verified(cs, replies, "keep_best")
    assert [(c.text, c.verdict) for c in out] == [("b", "correct"), ("c", "correct")]
    none = ["Verdict: incorrect", "hmm", "Verdict: incorrect"]
    assert [(c.text, c.verdict) for c in verified(cs, none, "keep_all")] == [
        ("a", "incorrect"),
        ("b", "unknown"),
        ("c", "incorrect"),
    ]
    assert [c.text for c in verified(cs, none, "keep_best")] == ["a"]
    assert verified((), [], "keep_best") == ()


def test_vote_groups_by_normalized_answer_and_puts_empty_last() -> None:
    out = voted(_cands("", "", "", "Paris.", "paris", "Rome"), "text")
    assert [(c.text, c.score) for c in out] == [
        ("Paris.", 2 / 6),
        ("paris", 2 / 6),
        ("Rome", 1 / 6),
        ("", 3 / 6),
        ("", 3 / 6),
        ("", 3 / 6),
    ]
    assert voted((), "text") == ()


def test_written_tests_keep_only_tests_of_the_asked_kind() -> None:
    code = written_tests("assert f(1) == 2\nnot a test\nassert f(2) == 3\nassert f(3) == 4", "code", 2)
    assert code == Suite("code", ("assert f(1) == 2", "assert f(2) == 3"))
    text = written_tests("1. It names Paris.\n2. It is short.", "text", 5)
    assert text.kind == "text" and text.items == ("It names Paris.", "It is short.")


def test_tests_come_from_the_test_nodes_first_then_the_item_field() -> None:
    a, b = Suite("code", ("assert x",)), Suite("text", ("t1", "t2"))
    assert suite_for([a, b], {"tests": ["ignored"]}, "tests", "code") == Suite("code", ("assert x", "t1", "t2"))
    assert suite_for([], {"tests": "assert a\n\n  \nassert b"}, "tests", "code") == Suite(
        "code", ("assert a", "assert b")
    )
    assert suite_for([], {"tests": [1, "two"]}, "tests", "text") == Suite("text", ("1", "two"))
    assert suite_for([], {"tests": ["assert a"]}, None, "code") is None
    assert suite_for([], {}, "tests", "code") is None


def test_candidates_order_by_tests_passed_ties_keeping_input_order() -> None:
    cs = _cands("a", "b", "c", "d")
    out = by_tests(cs, [1, 3, 1, 3], 4, None)
    assert [(c.text, c.tests_passed, c.tests_total) for c in out] == [
        ("b", 3, 4),
        ("d", 3, 4),
        ("a", 1, 4),
        ("c", 1, 4),
    ]
    assert [c.text for c in by_tests(cs, [1, 3, 1, 3], 4, 1)] == ["b"]
    assert [(c.text, c.tests_passed, c.tests_total) for c in by_tests(cs[:2], None, 0, None)] == [
        ("a", 0, 0),
        ("b", 0, 0),
    ]


def test_a_judge_reply_counts_only_reported_passes() -> None:
    assert judged_passes("Test 1: Passed\nTest 2: Failed\nTest 3: Passed", 4) == 2
    assert judged_passes("nothing useful", 3) == 0


RULES = {name for name, fn in inspect.getmembers(combine, inspect.isfunction) if fn.__module__ == combine.__name__}
# the parsers the rules wrap: a runtime that calls one of these itself is writing a rule again
PARSERS = {
    "parse_ranking",
    "parse_blocks",
    "parse_verdict",
    "normalize_answer",
    "parse_test_lines",
    "parse_test_results",
}


@pytest.mark.parametrize(
    "module",
    [
        "archon.operators.rank",
        "archon.operators.vote",
        "archon.operators.verify",
        "archon.operators.fuse",
        "archon.operators.critique",
        "archon.operators.generate",
        "archon.operators.unit_test_generate",
        "archon.operators.unit_test_evaluate",
    ],
)
def test_every_operator_calls_the_rules_instead_of_writing_them(module: str) -> None:
    import importlib

    tree = ast.parse(inspect.getsource(importlib.import_module(module)))
    called = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    assert not called & PARSERS, f"{module} parses replies itself: {sorted(called & PARSERS)}"
    assert called & RULES, f"{module} calls none of archon.operators._combine's rules"


@pytest.mark.parametrize(
    "module", ["archon.export._standalone_runtime", "archon.export.dspy", "archon.export._runtime"]
)
def test_every_runtime_runs_the_operators_instead_of_writing_them(module: str) -> None:
    """The standalone module, the DSPy program and the Python export run archon's operator
    classes on a context of their own: no rule, no parser, no operator logic in them."""
    import importlib

    tree = ast.parse(inspect.getsource(importlib.import_module(module)))
    called = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    assert not called & (PARSERS | RULES), (
        f"{module} writes operator logic itself: {sorted(called & (PARSERS | RULES))}"
    )
    runs = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)]
    assert any(
        n.func.id == "run_node" and len(n.args) > 1 and "split_inputs" in ast.unparse(n.args[1]) for n in runs
    ), f"{module} does not run the node's operator (run_node) over the node's inputs"
