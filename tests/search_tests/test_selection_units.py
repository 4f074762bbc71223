"""The winner's selection rule, its lift, the Pareto front and successive halving's
bookkeeping, rule by rule (mutation-tested: see [tool.mutmut]). The same rules inside a
whole search are in test_optimize.py."""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any

import pytest

from archon._typing import Usage
from archon.evaluate._eval import EvalResult
from archon.evaluate._eval import ItemScore
from archon.search._baseline import Lift
from archon.search._baseline import dev_warning
from archon.search._baseline import item_scores
from archon.search._baseline import lift
from archon.search._baseline import select_winner
from archon.search._halving import all_failed
from archon.search._halving import paid_spend
from archon.search._halving import rung_history
from archon.search._halving import worst_case
from archon.search._ledger import Spend
from archon.search._records import TrialRecord
from archon.search._records import pareto_front


def T(
    number: int, score: float | None, cost: float | None, state: str = "complete", items: tuple[float, ...] = ()
) -> TrialRecord:  # noqa: N802
    return TrialRecord(number, {}, state, score, cost=cost, item_scores=items)


def _items(ones: int, n: int = 20) -> tuple[float, ...]:
    return (1.0,) * ones + (0.0,) * (n - ones)


# -- Lift ------------------------------------------------------------------------------------
def test_lift_means_and_interval() -> None:
    got = lift([1, 1, 1, 0], [1, 0, 0, 0])
    assert (got.winner, got.baseline, got.diff, got.n) == (0.75, 0.25, 0.5, 4)
    assert got.low <= got.diff <= got.high
    assert lift([], []) == Lift(0.0, 0.0, 0.0, 0.0, 0.0, 0)
    same = lift([1, 0, 1], [1, 0, 1])
    assert (same.diff, same.low, same.high) == (0.0, 0.0, 0.0)


def test_lift_dict_round_trips_with_the_documented_keys() -> None:
    got = Lift(0.8, 0.6, 0.2, 0.05, 0.35, 40)
    d = got.as_dict()
    assert d == {"winner": 0.8, "baseline": 0.6, "lift": 0.2, "ci95": [0.05, 0.35], "n": 40}
    assert Lift.from_dict(d) == got
    assert got.line() == "lift +0.20 [+0.05, +0.35]"
    assert Lift(0.5, 0.6, -0.1, -0.3, 0.1, 9).line() == "lift -0.10 [-0.30, +0.10]"


def _result(
    scores: list[float | None], errors: list[str | None] | None = None, order: list[int] | None = None
) -> EvalResult:
    errors = errors or [None] * len(scores)
    idx = order or list(range(len(scores)))
    items = tuple(ItemScore(i, {}, None, None, scores[i], errors[i], Usage()) for i in idx)
    return EvalResult("d", "m", items, 0.0, (0.0, 0.0), Usage(), 0.0, None, {})


def test_item_scores_are_in_item_order_with_failures_as_zero() -> None:
    assert item_scores(_result([1.0, None, 0.5], order=[2, 0, 1])) == (1.0, 0.0, 0.5)
    assert item_scores(_result([])) == ()


def test_all_failed_names_the_first_error_only_when_every_item_failed() -> None:
    assert all_failed(_result([None, None], ["boom\nstack", "later"])) == "boom"
    assert all_failed(_result([None, 1.0], ["boom", None])) == ""
    assert all_failed(_result([])) == ""
    assert all_failed(_result([None], ["x" * 400])) == "x" * 300


# -- the selection rule ------------------------------------------------------------------------
def test_no_complete_trial_no_winner() -> None:
    assert select_winner([]) is None
    assert select_winner([T(0, 0.9, 1.0, "pruned"), T(1, None, 1.0)]) is None


def test_cheapest_near_tie_wins_over_the_top_mean() -> None:
    top = T(0, 0.60, 5.0, items=_items(12))
    cheap = T(1, 0.55, 1.0, items=_items(11))
    assert select_winner([top, cheap]) is cheap
    assert select_winner([cheap, top]) is cheap


def test_a_significantly_worse_cheap_trial_loses() -> None:
    top = T(0, 0.95, 5.0, items=_items(19))
    cheap = T(1, 0.10, 1.0, items=_items(2))
    assert select_winner([top, cheap]) is top
    assert select_winner([cheap, top]) is top


def test_equal_cost_near_ties_go_to_the_higher_score_then_the_earlier_trial() -> None:
    a = T(3, 0.50, 1.0, items=_items(10))
    b = T(4, 0.55, 1.0, items=_items(11))
    c = T(2, 0.55, 1.0, items=_items(11))
    assert select_winner([a, b]) is b
    assert select_winner([a, b, c]) is c  # same cost and score: the lower number


def test_top_is_chosen_by_score_then_cost() -> None:
    a = T(0, 0.7, 3.0)
    b = T(1, 0.7, 2.0)
    c = T(2, 0.6, 0.1)
    assert select_winner([a, b, c]) is b  # no per-item scores: the top, cheaper on a tie


def test_items_of_a_different_length_are_not_compared() -> None:
    top = T(0, 0.6, 5.0, items=_items(12))
    other = T(1, 0.55, 1.0, items=_items(6, 10))  # a tie on 10 items would win; 20 vs 10 is no pair
    assert select_winner([top, other]) is top


def test_only_complete_trials_compete() -> None:
    top = T(0, 0.6, 5.0, items=_items(12))
    pruned = T(1, 0.6, 0.5, "pruned", items=_items(12))
    assert select_winner([top, pruned]) is top


def test_dev_warning_only_when_dev_cannot_separate() -> None:
    assert dev_warning([], []) is None
    assert dev_warning([1.0], [1.0, 0.0]) is None
    assert dev_warning(list(_items(19)), list(_items(2))) is None
    w = dev_warning(list(_items(11)), list(_items(10)))
    assert w is not None and w.startswith(
        "dev (20 items) cannot separate the winner from the single call (dev lift +0.05 ["
    )
    assert dev_warning(list(_items(10)), list(_items(10))) is not None  # lower bound exactly 0


def test_dev_warning_says_so_when_every_architecture_is_worse_than_the_single_call() -> None:
    w = dev_warning(list(_items(2)), list(_items(19)))
    assert w is not None and w.startswith("every architecture tried is worse than the single call on dev (20 items")
    assert "baseline.yaml" in w


# -- the Pareto front --------------------------------------------------------------------------
def _numbers(ts: list[TrialRecord]) -> list[int]:
    return [t.number for t in ts]


def test_front_drops_dominated_and_weakly_dominated_points() -> None:
    trials = [
        T(0, 0.8, 2.0),
        T(1, 0.8, 3.0),  # same score, dearer: weakly dominated
        T(2, 0.7, 2.0),  # same cost, worse: weakly dominated
        T(3, 0.9, 5.0),
        T(4, 0.5, 1.0),
        T(5, 0.4, 1.5),  # worse and dearer
    ]
    assert _numbers(pareto_front(trials)) == [4, 0, 3]


def test_equal_points_both_stay_and_order_is_cheapest_then_best() -> None:
    trials = [T(1, 0.9, 2.0), T(0, 0.9, 2.0), T(2, 0.3, 0.5)]
    assert _numbers(pareto_front(trials)) == [2, 1, 0]


def test_front_ignores_unfinished_or_unscored_trials() -> None:
    trials = [T(0, 0.5, 1.0), T(1, 0.99, 0.1, "pruned"), T(2, None, 0.1), T(3, 0.99, None), T(4, 0.99, 0.1, "repeat")]
    assert _numbers(pareto_front(trials)) == [0]
    assert pareto_front([]) == []


def test_zero_scores_and_costs_are_points_like_any_other() -> None:
    trials = [T(0, 0.0, 0.0), T(1, 0.5, 1.0), T(2, 0.0, 1.0)]
    assert _numbers(pareto_front(trials)) == [0, 1]


# -- successive halving's bookkeeping ------------------------------------------------------------
def test_rung_history_skips_rungs_below_a_bracket_and_past_n() -> None:
    recs = [
        TrialRecord(0, {}, "complete", rung_scores=(0.5, 0.6, 0.7)),
        TrialRecord(1, {}, "pruned", rung_scores=(0.2,)),
        TrialRecord(2, {}, "complete", rung_scores=(math.nan, 0.9, 0.8)),
    ]
    assert rung_history(recs, 2) == [[0.5, 0.2], [0.6, 0.9]]
    assert rung_history(recs, 3)[2] == [0.7, 0.8]
    assert rung_history([], 2) == [[], []]


def test_worst_case_is_calls_and_per_query_caps_times_items() -> None:
    pipe: Any = SimpleNamespace(plan=SimpleNamespace(cost=SimpleNamespace(calls=3)))
    assert worst_case(pipe, SimpleNamespace(tokens=100, usd=0.01), 5) == Spend(15, 500, pytest.approx(0.05))
    assert worst_case(pipe, SimpleNamespace(tokens=None, usd=None), 4) == Spend(12, 0, 0.0)


def test_paid_spend_counts_prompt_and_completion_tokens() -> None:
    u = Usage(paid_calls=3, cached_calls=9, prompt_tokens=100, completion_tokens=20, cost_usd=0.5, cached_cost_usd=2.0)
    assert paid_spend(u) == Spend(3, 120, 0.5)


# -- one trial through successive halving (SIMULATED synthetic/ models, real SQLite ledger) ----
def _trial(
    tmp_path: Any,
    skill: str,
    history: list[list[float]],
    *,
    keep: float = 0.34,
    first: int = 0,
    promote: str = "interval",
    caps: tuple[int | None, int | None, float | None] = (None, None, None),
    db: str = "t.db",
    rungs: tuple[float, ...] = (0.2, 0.5, 1.0),
    n: int = 10,
    price: str = "",
    node: str = "",
    rivals: tuple[Any, ...] = (),
) -> tuple[TrialRecord, bool, Any]:
    """One trial through run_trial; returns its record, whether the budget stopped it, and
    the ledger's spend. Every path must leave the trial's ledger row closed at what it paid."""
    import asyncio

    import archon
    from archon.backends import Limits
    from archon.backends._synthetic import make_dataset
    from archon.evaluate import get_metric
    from archon.evaluate._datasets import Example
    from archon.search._halving import run_trial
    from archon.search._ledger import Ledger
    from archon.store import Store

    url = f"sqlite:///{tmp_path / db}"
    text = (
        "name: t\nmodels:\n  m: {model: synthetic/s-" + skill + ", max_tokens: 8" + price + "}\n"
        "nodes:\n  a: {op: generate, model: m, samples: 1, temperature: 0" + node + "}\noutput: a\n"
    )
    pipe = archon.load(text, db=url)
    dev = [Example(i, {"input": r["input"]}, r["answer"]) for i, r in enumerate(make_dataset(n))]
    store = Store(url)
    ledger = Ledger(store, "s", "w")
    pq = SimpleNamespace(tokens=None, usd=None)
    try:
        rec, stopped = asyncio.run(
            run_trial(
                pipe,
                dev,
                rungs,
                keep,
                history,
                get_metric("exact"),
                ledger,
                Limits(*caps),
                pq,
                {"p": 1},
                7,
                first=first,
                promote=promote,
                rivals=rivals,
            )
        )
        rows, spent = ledger.rows(), ledger.spent()
        assert rec.number == 7 and rec.params == {"p": 1}
        assert [(r["trial"], r["state"], r["calls"]) for r in rows] in ([], [(7, "closed", spent.calls)])
        return rec, stopped, spent
    finally:
        pipe.close()
        store.close()


def test_an_unopposed_trial_runs_every_rung_and_pays_each_item_once(tmp_path: Any) -> None:
    rec, stopped, spent = _trial(tmp_path, "1.0", [[], [], []])
    assert not stopped and rec.state == "complete" and rec.number == 7 and rec.params == {"p": 1}
    assert rec.rung_scores == (1.0, 1.0, 1.0) and rec.score == 1.0 and rec.item_scores == (1.0,) * 10
    assert (rec.paid_calls, rec.cached_calls, rec.calls_per_query) == (10, 0, 1.0)
    assert spent.calls == 10  # the ledger holds what was paid, not the reservations
    assert spent.usd > 0 and rec.cost == pytest.approx(spent.usd / 10)  # priced: cost is dollars per query
    again, _, spent2 = _trial(tmp_path, "1.0", [[], [], []])
    assert (again.paid_calls, again.cached_calls) == (0, 10) and spent2.calls == 10


def test_pruned_when_the_interval_top_is_below_the_bar(tmp_path: Any) -> None:
    rec, stopped, spent = _trial(tmp_path, "0.0", [[1.0, 1.0, 1.0], [], []])
    assert not stopped and rec.state == "pruned" and rec.score == 0.0 and rec.rung_scores == (0.0,)
    assert rec.paid_calls == 2 and spent.calls == 2  # rung 1 is 20 % of 10 items
    assert rec.reason == "stopped at rung 1 (2 items): 0.000, interval top 0.000 < 1.000"
    mean, _, _ = _trial(tmp_path, "0.0", [[1.0, 1.0, 1.0], [], []], promote="mean", db="m.db")
    assert mean.reason == "stopped at rung 1 (2 items): 0.000 < 1.000"


def test_a_top_equal_to_the_bar_goes_on(tmp_path: Any) -> None:
    rec, _, _ = _trial(tmp_path, "1.0", [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0], []])
    assert rec.state == "complete"


def test_fewer_than_three_seen_never_prunes(tmp_path: Any) -> None:
    rec, _, _ = _trial(tmp_path, "0.0", [[1.0, 1.0], [1.0, 1.0], []])
    # rung 1 scores 0 of 2 (the test above prunes it against three seen 1.0s); with two seen it goes on
    assert rec.state == "complete" and rec.rung_scores[0] == 0.0 and len(rec.rung_scores) == 3


def test_the_bar_is_the_keep_share_of_the_seen_scores(tmp_path: Any) -> None:
    seen = [0.9, 0.5, 0.0, 0.0]
    kept, _, _ = _trial(tmp_path, "0.0", [seen, seen, []], keep=0.75)  # bar: the 3rd best, 0.0
    assert kept.state == "complete"
    cut, _, _ = _trial(tmp_path, "0.0", [seen, seen, []], keep=0.5, db="c.db")  # bar: the 2nd best, 0.5
    assert cut.state == "pruned" and cut.reason.endswith("< 0.500")


def test_a_later_bracket_starts_at_its_rung(tmp_path: Any) -> None:
    rec, _, spent = _trial(tmp_path, "0.0", [[1.0, 1.0, 1.0], [0.0, 0.0, 0.0], []], first=1)
    # run from rung 1 this trial is pruned (above); bracket 1 never sees rung 1
    assert rec.state == "complete" and math.isnan(rec.rung_scores[0]) and len(rec.rung_scores) == 3
    assert spent.calls == 10


def test_a_trial_whose_worst_case_passes_the_search_budget_is_not_started(tmp_path: Any) -> None:
    """A trial that could not complete cannot win: its first rungs are not paid for (they
    were, before: 5 of 6 calls spent, then stopped at rung 3)."""
    rec, stopped, spent = _trial(tmp_path, "1.0", [[], [], []], caps=(6, None, None))
    assert stopped and rec.state == "stopped" and rec.paid_calls == 0 and spent.calls == 0
    assert rec.reason == "the trial's worst case on all 10 dev items would put the search at 10 calls > 6"
    done, stopped10, spent10 = _trial(tmp_path, "1.0", [[], [], []], caps=(10, None, None), db="z.db")
    assert not stopped10 and done.state == "complete" and spent10.calls == 10  # exactly fits: runs


def test_the_budgets_last_trial_stops_when_behind_a_rival_no_dearer_at_all(tmp_path: Any) -> None:
    """When no other trial of its cost would fit after this one, a trial behind a rival no
    dearer on its first rung's items stops there, though not surely worse: finishing it would
    most likely leave the winner as it is. With room for another trial it goes on."""
    from archon.search._halving import Rival

    one_ahead = Rival("trial 3", 1.0, {i: 1.0 if i < 2 else 0.0 for i in range(10)})  # 2 of rung 1's 5
    free = ", price_per_1k: 0"  # cost in calls per query, as the rival's
    args: dict[str, Any] = {"rungs": (0.5, 1.0), "price": free, "rivals": (one_ahead,)}
    roomy, stopped, spent = _trial(tmp_path, "0.0", [[], []], caps=(20, None, None), **args)
    assert not stopped and roomy.state == "complete" and spent.calls == 10  # 1 of 5 vs 2 of 5: noise
    last, stopped, spent = _trial(tmp_path, "0.0", [[], []], caps=(19, None, None), db="l.db", **args)
    assert not stopped and last.state == "pruned" and last.paid_calls == 5 and spent.calls == 5
    assert last.reason == (
        "stopped at rung 1 (5 items): 0.200, below trial 3 (no dearer) on the same items (-0.200) "
        "with budget left for no other trial after this one"
    )
    dear = (Rival("trial 3", 2.0, one_ahead.items),)  # a cheaper trial below a dearer one may be on the front
    kept, _, _ = _trial(tmp_path, "0.0", [[], []], caps=(19, None, None), db="d.db", **{**args, "rivals": dear})
    assert kept.state == "complete"
    level, _, _ = _trial(tmp_path, "0.0", [[], []], caps=(19, None, None), db="e.db", **{**args, "rivals": ()})
    assert level.state == "complete"


def test_every_item_failing_rejects_the_trial_instead_of_scoring_it_zero(tmp_path: Any) -> None:
    rec, stopped, spent = _trial(
        tmp_path, "1.0", [[], [], []], node=", template: 'Q: {{ hint }}'"
    )  # no item has 'hint'
    assert not stopped and rec.state == "rejected" and rec.score is None and rec.paid_calls == 0
    assert rec.reason.startswith("every dev item failed: ") and "'hint' is undefined" in rec.reason
    assert spent.calls == 0


def test_the_interval_top_keeps_a_trial_whose_mean_is_below_the_bar(tmp_path: Any) -> None:
    history: list[list[float]] = [[0.5, 0.5, 0.5], []]
    rec, _, _ = _trial(tmp_path, "0.0", history, rungs=(0.5, 1.0))  # rung 1: 1 of 5 right
    assert rec.state == "complete" and rec.rung_scores[0] == pytest.approx(0.2)
    cut, _, _ = _trial(tmp_path, "0.0", history, rungs=(0.5, 1.0), promote="mean", db="m.db")
    assert cut.state == "pruned" and cut.rung_scores == (pytest.approx(0.2),)
    assert cut.ci95 is not None and cut.ci95[1] >= 0.5 > cut.ci95[0]  # the record keeps the rung's interval
    assert cut.cached_calls == 0 and cut.paid_calls == 5


def test_the_last_rung_is_the_whole_dev_split_and_the_smallest_is_one_item(tmp_path: Any) -> None:
    rec, _, spent = _trial(tmp_path, "1.0", [[], []], rungs=(0.05, 0.6))  # 0.05 of 10 is one item
    assert rec.state == "complete" and spent.calls == 10 and rec.item_scores == (1.0,) * 10
    one, _, _ = _trial(tmp_path, "0.0", [[1.0] * 3, []], rungs=(0.05, 1.0), db="o.db")
    assert one.state == "pruned" and one.paid_calls == 1 and one.reason.startswith("stopped at rung 1 (1 items)")


def test_a_single_last_rung_never_prunes(tmp_path: Any) -> None:
    rec, _, _ = _trial(tmp_path, "0.0", [[1.0] * 5], rungs=(1.0,))
    assert rec.state == "complete" and rec.ci95 is not None and rec.reason == ""


def test_an_unpriced_model_costs_calls_per_query(tmp_path: Any) -> None:
    rec, _, _ = _trial(tmp_path, "1.0", [[]], rungs=(1.0,), n=1, price=", price_per_1k: 0")
    assert (rec.cost, rec.calls_per_query, rec.paid_calls) == (1.0, 1.0, 1)
    again, _, _ = _trial(tmp_path, "1.0", [[]], rungs=(1.0,), n=1, price=", price_per_1k: 0")
    assert (again.cost, again.paid_calls, again.cached_calls) == (1.0, 0, 1)  # cached calls are cost too


def test_the_bar_reads_the_best_seen_when_keep_is_tiny(tmp_path: Any) -> None:
    seen = [1.0, 0.1, 0.1, 0.1]
    rec, _, _ = _trial(tmp_path, "0.0", [seen, seen, []], keep=0.01)  # bar: the best, 1.0
    assert rec.state == "pruned" and rec.reason.endswith("< 1.000")


def test_zero_scores_and_costs_are_not_read_as_missing() -> None:
    assert select_winner([T(0, 0.0, 1.0), T(1, 0.5, 2.0)]).number == 1  # type: ignore[union-attr]
    assert select_winner([T(1, 0.5, 0.5), T(0, 0.5, 0.0)]).number == 0  # type: ignore[union-attr]
    items = _items(10)
    free, dear = T(0, 0.5, 0.0, items=items), T(1, 0.5, 0.5, items=items)
    assert select_winner([dear, free]) is free
    assert _numbers(pareto_front([T(0, 0.5, 0.0), T(1, 0.4, 0.0), T(2, 0.0, 0.0)])) == [0]
    assert lift([1.0], [0.0]) == Lift(1.0, 0.0, 1.0, 1.0, 1.0, 1)


def test_a_same_cost_trial_replaces_the_baselines_twin_only_if_dev_shows_it_better() -> None:
    base = (1.0,) * 20 + (0.0,) * 20
    twin = T(0, 0.5, 1.0, items=base)  # the baseline's own architecture: the same answers
    lucky = T(1, 0.55, 1.0, items=(0.0, 0.0) + (1.0,) * 22 + (0.0,) * 16)  # +0.05, not significant
    assert select_winner([twin, lucky]) is lucky  # without the baseline: the top score
    assert select_winner([twin, lucky], base) is twin  # with it: the sure thing
    better = T(2, 0.8, 1.0, items=(1.0,) * 32 + (0.0,) * 8)  # +0.30 on dev: clearly better
    assert select_winner([twin, lucky, better], base) is better
    dear = T(3, 0.85, 5.0, items=(1.0,) * 34 + (0.0,) * 6)  # the top, not significantly above better
    assert select_winner([twin, better, dear], base) is better  # cost still comes first
    # a lift whose interval only touches 0 does not show it better either
    edge = T(5, 0.575, 1.0, items=(1.0,) * 23 + (0.0,) * 17)  # 3 items gained, none lost
    from archon.evaluate import paired_bootstrap_ci

    assert paired_bootstrap_ci(edge.item_scores, base)[1] == 0.0
    assert select_winner([twin, edge], base) is twin
    # a baseline scored on other items pairs with no trial: the score decides, as without one
    assert select_winner([twin, lucky], base[:10]) is lucky
    warning = dev_warning(twin.item_scores, base)
    assert warning is not None and "lift 0" in warning


def test_the_rule_without_a_baseline_is_unchanged() -> None:
    a = T(0, 0.6, 1.0, items=(1.0,) * 6 + (0.0,) * 4)
    b = T(1, 0.5, 1.0, items=(1.0,) * 5 + (0.0,) * 5)
    assert select_winner([a, b]) is a and select_winner([a, b], None) is a
