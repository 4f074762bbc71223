"""The search on SIMULATED synthetic/ models (fast, seeded): budgets, rejection,
resume, results, grid; and located errors in space files."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

import archon
from archon.errors import SpecError
from archon.search import aoptimize
from archon.search import parse_space
from archon.search import parse_space_file
from archon.store import Store
from tests.conftest import ROOT

SPACE = ROOT / "optimizers" / "synthetic-demo.yaml"


def space_text(search: str = "{calls: 30000, trials: 12}", strategy: str = "tpe", n_high: int = 12) -> str:
    text = SPACE.read_text()
    text = text.replace("search: {calls: 30000, trials: 30}", f"search: {search}")
    text = text.replace("strategy: tpe", f"strategy: {strategy}").replace(
        "n: {int: [1, 12]}", f"n: {{int: [1, {n_high}]}}"
    )
    return text.replace("../data/", str(ROOT / "data") + "/")


async def test_budgets_rejection_results_and_resume(db_url: str, tmp_path: Path) -> None:
    space = parse_space(space_text(), str(SPACE))
    first = await aoptimize(space, db=db_url, results_dir=tmp_path)
    tried = lambda r: [t for t in r.trials if t.state != "repeat"]  # noqa: E731 - repeats are answered for free
    assert len(tried(first)) == 12 and "trial budget" in first.stopped_because
    for t in first.trials:
        if t.state == "repeat":  # a re-proposed architecture: the first result, no call
            assert t.paid_calls == 0 and any(o.params == t.params and o.state != "repeat" for o in first.trials)
    rejected = [t for t in first.trials if t.state == "rejected"]
    for t in rejected:  # over the per-query budget: refused before any call
        assert "calls per query" in t.reason and t.paid_calls == 0
    done = [t for t in first.trials if t.state == "complete"]
    from archon.search._baseline import select_winner

    # the stated rule: the cheapest complete trial not significantly worse than the top dev score,
    # ties in cost to the surest dev lift over the baseline
    base_items = first.extra["baseline"]["dev_items"]
    assert done and first.best is not None and first.best.number == select_winner(first.trials, base_items).number
    test_paid = first.paid_calls - sum(t.paid_calls for t in first.trials)  # the held-out re-score
    rescored = {first.best.number} | {t.number for t in first.pareto}  # the best and the Pareto set, on test
    assert set(first.extra["test_scores"]) == rescored
    assert 0 < test_paid <= sum((t.calls_per_query or 0) * 100 for t in done if t.number in rescored)
    store = Store(db_url)
    assert store.count_calls() == first.paid_calls  # every paid call is in the cache, none uncounted
    store.close()
    out = tmp_path / "synthetic-demo"
    assert (out / "best.yaml").exists() and list((out / "pareto").glob("*.yaml"))
    baseline = archon.load(out / "baseline.yaml", db=db_url)  # the single call, ready to run
    assert baseline.plan.cost.calls == 1
    baseline.close()
    report = (out / "report.html").read_text()
    assert report.count("<svg") == 2 and "Pareto front" in report and "SIMULATION" in report
    assert f"<td>{first.best.number}</td>" in report and "best.yaml" in report
    rows = list(csv.DictReader((out / "trials.csv").open()))
    assert len(rows) == len(first.trials)
    # the front is non-dominated
    for a in first.pareto:
        assert not any((b.score or 0) > (a.score or 0) and (b.cost or 0) < (a.cost or 0) for b in done)
    # resume: the same study with a larger trial budget goes on from trial 12
    more = await aoptimize(
        parse_space(space_text("{calls: 30000, trials: 18}"), str(SPACE)), db=db_url, results_dir=tmp_path
    )
    assert len(tried(more)) == 18
    assert [t.number for t in more.trials[: len(first.trials)]] == [t.number for t in first.trials]
    assert more.paid_calls >= first.paid_calls


async def test_search_call_budget_is_never_exceeded(db_url: str) -> None:
    space = parse_space(space_text("{calls: 1500}"), str(SPACE))
    result = await aoptimize(space, db=db_url, results_dir=None)
    assert result.paid_calls <= 1500
    # trials stop while the test re-score of the baseline and the winner still fits
    assert "search budget" in result.stopped_because and "budget of 1500 calls less" in result.stopped_because
    assert result.extra["test_scores"] and result.extra["baseline"]["test"] is not None
    store = Store(db_url)
    assert store.count_calls() <= 1500
    store.close()


async def test_grid_enumerates_the_space(db_url: str) -> None:
    text = space_text("{calls: 100000}", "grid", n_high=2)
    text = text.replace("k: {int: [1, 3], when: use_rank}", "k: {int: [1, 1], when: use_rank}")
    result = await aoptimize(parse_space(text, str(SPACE)), db=db_url, results_dir=None)
    # 3 generators x 2 sample counts x 2 ranker switches x 1 k x 2 reducers
    assert len(result.trials) == 24 and "grid" in result.stopped_because
    assert {
        (t.params["generator"], t.params["n"], t.params["use_rank"], t.params["reducer"]) for t in result.trials
    } == {
        (g, n, r, red)
        for g in ("synthetic/small", "synthetic/medium", "synthetic/large")
        for n in (1, 2)
        for r in (False, True)
        for red in ("vote", "fuse")
    }


def test_space_errors_are_located(tmp_path: Path) -> None:
    bad = space_text().replace('op: "${reducer}"', 'op: "${reduce}"').replace("k: {int: [1, 3]", "k: {int: [3, 1]")
    bad = bad.replace("strategy: tpe", "strategy: annealing")
    f = tmp_path / "bad.yaml"
    f.write_text(bad)
    with pytest.raises(SpecError) as info:
        parse_space_file(f)
    text = str(info.value)
    assert "${reduce} is not a parameter" in text and "did you mean 'reducer'" in text
    assert "int needs [low, high]" in text and "unknown strategy" in text
    assert all(p.line > 0 for p in info.value.problems)


def test_cli_optimize_json(db_url: str, tmp_path: Path) -> None:
    f = tmp_path / "space.yaml"
    f.write_text(space_text("{calls: 30000, trials: 4}"))
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "archon",
            "optimize",
            str(f),
            "--db",
            db_url,
            "--results",
            str(tmp_path / "res"),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    import json

    s = json.loads(r.stdout)
    assert s["trials"] == 4 and s["best"]["score"] is not None
    assert "SIMULATED" in r.stderr  # synthetic models are labelled
    show = subprocess.run(
        [sys.executable, "-m", "archon", "show", s["study"], "--db", db_url, "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert show.returncode == 0, show.stderr
    again = json.loads(show.stdout)
    assert again["best"] == s["best"] and again["trials"] == 4 and again["stopped_because"] == s["stopped_because"]
    missing = subprocess.run(
        [sys.executable, "-m", "archon", "show", "nope", "--db", db_url], capture_output=True, text=True, timeout=120
    )
    assert missing.returncode == 2 and "no study 'nope'" in missing.stderr


@pytest.mark.parametrize("path", sorted((ROOT / "optimizers").glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_space_validates(path: Path) -> None:
    space = parse_space_file(path)
    assert space.params and space.dataset_path() is not None and space.dataset_path().exists()
    space.instantiate({p.name: p.default for p in space.params})


async def test_nsga2_multi_objective(db_url: str) -> None:
    text = space_text("{calls: 30000, trials: 10}", "nsga2")
    result = await aoptimize(parse_space(text, str(SPACE)), db=db_url, results_dir=None)
    assert len([t for t in result.trials if t.state != "repeat"]) == 10 and result.pareto
    scores = [t.score for t in result.pareto]
    costs = [t.cost for t in result.pareto]
    assert costs == sorted(costs) and scores == sorted(scores)  # a front: paying more buys more


async def test_successive_halving_spends_less_for_the_same_trials(db_url: str, tmp_path: Path) -> None:
    plain = space_text("{calls: 100000, trials: 20}")
    halving = plain.replace("seed: 0\n", "seed: 0\nfidelity: {rungs: [0.2, 0.5, 1.0], keep: 0.34}\n")
    full = await aoptimize(parse_space(plain, str(SPACE)), db=db_url, results_dir=None)
    fast = await aoptimize(parse_space(halving, str(SPACE)), db=f"sqlite:///{tmp_path / 'h.db'}", results_dir=None)
    pruned = [t for t in fast.trials if t.state == "pruned"]
    assert pruned and all(t.rung_scores and "stopped at rung" in t.reason for t in pruned)
    import re

    space = parse_space(halving, str(SPACE))
    by_number = {t.number: t for t in fast.trials}
    rival_pruned = 0
    for t in pruned:  # the stated rules: stopped only when the interval's top is below the bar ...
        if m := re.search(r"surely below trial (\d+) \(no dearer\).*paired interval top (-[\d.]+) < 0", t.reason):
            # ... or when surely worse, item for item, than a complete trial no dearer (dominated)
            rival = by_number[int(m.group(1))]
            assert rival.state == "complete" and rival.number < t.number and float(m.group(2)) < 0
            assert rival.cost is not None and rival.cost <= space.static_calls(t.params) + 1e-9, t.reason
            rival_pruned += 1
            continue
        top, bar = map(float, re.search(r"interval top ([\d.]+) < ([\d.]+)", t.reason).groups())
        assert top < bar and t.ci95 is not None and abs(t.ci95[1] - top) < 1e-3, t.reason
    assert rival_pruned  # this space has architectures clearly worse than cheaper ones
    kept = [t for t in fast.trials if t.state == "complete"]
    assert kept and max(t.score or 0 for t in kept) >= max(t.score or 0 for t in pruned)
    spent = lambda r: sum(t.paid_calls for t in r.trials)  # noqa: E731 - the trials only, not the test re-score
    print(  # the figure in the README's measured table
        f"paid calls: plain {spent(full)}, halving {spent(fast)}; best {full.best.score:.3f} vs {fast.best.score:.3f}"
    )
    assert spent(fast) < spent(full)
    assert fast.best is not None and full.best is not None
    assert fast.best.score >= full.best.score - 0.1


async def test_greedy_climbs_from_the_defaults_then_restarts(db_url: str) -> None:
    from archon.search._strategies import _greedy_next

    text = space_text("{calls: 200000, trials: 60}", "greedy", n_high=6)
    space = parse_space(text, str(SPACE))
    result = await aoptimize(space, db=db_url, results_dir=None)
    first = result.trials[0]
    assert first.params["generator"] == "synthetic/small" and first.params["n"] == 1  # the defaults
    # at a local optimum it draws an untried architecture (the same one on a resume) and climbs on
    assert "trial budget" in result.stopped_because or "exhausted" in result.stopped_because
    records = list(result.trials[:20])
    assert _greedy_next(space, records) == _greedy_next(space, records)
    params = [tuple(sorted(t.params.items())) for t in result.trials]
    assert len(params) == len(set(params))  # never the same architecture twice
    assert result.best is not None and result.best.score > (first.score or 0) + 0.2


def test_greedy_tries_the_cheapest_neighbour_first_and_nearest_counts_first() -> None:
    from archon.search._records import TrialRecord
    from archon.search._strategies import _greedy_next

    space = parse_space(space_text("{calls: 200000, trials: 60}", "greedy", n_high=6), str(SPACE))
    start = space.active({"generator": "synthetic/small", "n": 4, "use_rank": False, "reducer": "vote"})
    records = [TrialRecord(0, start, "complete", 0.5, (0.4, 0.6), 5.0, 5.0, 500, 0)]
    proposal = _greedy_next(space, records)
    assert proposal is not None
    # every neighbour changes one parameter; the first proposed is the cheapest of them (n 4 -> 1),
    # not the first parameter's (the generator's, at 4 calls a query)
    assert proposal == {**start, "n": 1} and space.static_calls(proposal) == 1
    assert space.static_calls({**start, "generator": "synthetic/medium"}) == 4
    assert space.static_calls({**start, "reducer": "fuse"}) == 5
    shots = parse_space(space_text().replace("n: {int: [1, 12]}", "n: {choice: [1, 2, 4, 8, 12]}"), str(SPACE)).params
    from archon.search._strategies import _neighbours

    n = next(p for p in shots if p.name == "n")
    assert _neighbours(n, 8) == [4, 12]  # along an ordered scale: the values next to it
    assert _neighbours(n, 1) == [12, 2]  # from its default at an end: the other end first
    assert _neighbours(n, 12) == [8]  # the far end only from the default, where a climb starts


async def test_patience_stops_a_search_that_stopped_improving(db_url: str) -> None:
    from archon.search._trials import _since_better

    space = parse_space(space_text("{calls: 200000, trials: 40, patience: 3}", "random"), str(SPACE))
    result = await aoptimize(space, db=db_url, results_dir=None)
    assert "patience" in result.stopped_because and _since_better(list(result.trials)) == 3
    scored = [t for t in result.trials if t.state in ("complete", "pruned")]
    best_before = max(t.score or 0 for t in scored[:-3] if t.state == "complete")
    assert all((t.score or 0) <= best_before for t in scored[-3:] if t.state == "complete")
    assert len(result.trials) < 40


def test_a_perfect_cheapest_trial_ends_the_search() -> None:
    from archon.search._records import TrialRecord as T
    from archon.search._trials import _unbeatable

    cheap, dear = T(0, {}, "complete", 0.9, cost=1.0), T(1, {}, "complete", 1.0, cost=3.0)
    assert _unbeatable([cheap, dear]) is None  # perfect, but a cheaper architecture might be too
    best = T(2, {}, "complete", 1.0, cost=1.0)
    assert _unbeatable([cheap, dear, best]) is best


def test_repeat_depth_is_a_parameter() -> None:
    text = """
name: depth
pipeline:
  models:
    m: {model: synthetic/medium}
  layers:
    - [{op: generate, model: m, samples: 3}]
    - {repeat: "${depth}", layer: [{op: fuse, model: m, samples: 2}]}
    - [{op: fuse, model: m}]
space:
  depth: {int: [0, 3]}
dataset: {path: data/synthetic-200.jsonl}
"""
    space = parse_space(text, str(ROOT / "space.yaml"))
    assert len(space.instantiate({"depth": 0}).nodes) == 2
    deep = space.instantiate({"depth": 3})
    assert len(deep.nodes) == 5 and deep.nodes["layer3_fuse"].inputs == ["layer2_fuse"]


async def test_time_budget_stops_the_search(db_url: str) -> None:
    import time

    space = parse_space(space_text("{calls: 100000, trials: 500, time_s: 2}"), str(SPACE))
    t0 = time.monotonic()
    result = await aoptimize(space, db=db_url, results_dir=None)
    assert 1 <= len(result.trials) < 500 and "time budget" in result.stopped_because
    assert time.monotonic() - t0 < 30  # a trial started before the deadline may finish after it


async def test_dollar_and_token_search_budgets_are_never_exceeded(db_url: str) -> None:
    text = space_text("{usd: 0.15}").replace("per_query: {calls: 12}", "per_query: {calls: 12, usd: 0.0005}")
    result = await aoptimize(parse_space(text, str(SPACE)), db=db_url, results_dir=None, study_name="usd")
    spent = result.extra["spent"]
    assert 0 < spent["usd"] <= 0.15 and "$" in result.stopped_because
    text = space_text("{tokens: 60000}").replace("per_query: {calls: 12}", "per_query: {calls: 12, tokens: 400}")
    result = await aoptimize(parse_space(text, str(SPACE)), db=db_url, results_dir=None, study_name="tokens")
    spent = result.extra["spent"]
    assert 0 < spent["tokens"] <= 60000 and "tokens >" in result.stopped_because


def test_a_token_search_budget_needs_a_per_query_token_cap() -> None:
    with pytest.raises(SpecError) as err:
        parse_space(space_text("{tokens: 60000}"), str(SPACE))
    assert "budget.search.tokens" in str(err.value) and "per_query" in str(err.value)


SUBSET_SPACE = """
name: subset
pipeline:
  nodes:
    samples: {op: generate, models: "${generators}", samples: 3, max_tokens: 16}
    answer: {op: vote, inputs: [samples]}
  output: answer
space:
  generators: {subset: [synthetic/small, synthetic/medium, synthetic/large], max: 2}
dataset: {path: DATA, input: input, answer: answer, dev: 0.5, seed: 0}
metric: exact
strategy: grid
"""


async def test_a_subset_of_models_is_searched_as_lists(db_url: str) -> None:
    space = parse_space(SUBSET_SPACE.replace("DATA", str(ROOT / "data" / "synthetic-200.jsonl")), str(SPACE))
    assert space.params[0].grid()[0] == ["synthetic/small"] and len(space.params[0].grid()) == 3 + 3
    result = await aoptimize(space, db=db_url, results_dir=None)
    tried = sorted(tuple(t.params["generators"]) for t in result.trials if t.state == "complete")
    assert len(tried) == 6 and all(1 <= len(g) <= 2 for g in tried)
    calls = {tuple(t.params["generators"]): t.calls_per_query for t in result.trials}
    assert calls[("synthetic/small",)] == 3 and calls[("synthetic/small", "synthetic/large")] == 6
    assert result.best is not None and "synthetic/large" in result.best.params["generators"]


def test_subset_sizes_are_checked() -> None:
    bad = SUBSET_SPACE.replace("max: 2", "max: 5").replace("DATA", "x.jsonl")
    with pytest.raises(SpecError) as err:
        parse_space(bad, "s.yaml")
    assert "s.yaml:9:3: space.generators" in str(err.value) and "max <= 3" in str(err.value)
    assert len(err.value.problems) == 1  # no knock-on error for the template's ${generators}


async def test_hyperband_brackets_start_trials_at_later_rungs(db_url: str) -> None:
    text = space_text("{calls: 60000, trials: 16}") + "fidelity: {rungs: [0.2, 0.5, 1.0], keep: 0.34, brackets: 2}\n"
    space = parse_space(text, str(SPACE))
    assert space.brackets == 2
    result = await aoptimize(space, db=db_url, results_dir=None)
    ran = [t for t in result.trials if t.state in ("complete", "pruned")]
    late = [t for t in ran if t.number % 2 == 1]
    assert late and all(len(t.rung_scores) >= 2 and t.rung_scores[0] != t.rung_scores[0] for t in late)  # NaN
    assert all(t.state == "complete" or "rung 2" in t.reason for t in late)  # never stopped at rung 1
    with pytest.raises(SpecError) as err:
        parse_space(text.replace("brackets: 2", "brackets: 5"), str(SPACE))
    assert "fidelity.brackets" in str(err.value)


def test_live_table_shows_trials_and_budget() -> None:
    from rich.console import Console

    from archon.cli._optimize import _live_table
    from archon.search import Spend
    from archon.search import TrialRecord

    space = parse_space(space_text("{calls: 30000, trials: 12}"), str(SPACE))
    records = [
        TrialRecord(0, {"generator": "synthetic/large", "n": 5}, "complete", 0.61, (0.5, 0.7), 0.002, 7.0, 700, 0),
        TrialRecord(1, {"generator": "synthetic/small", "n": 20}, "rejected", reason="makes up to 21 calls per query"),
    ]
    console = Console(record=True, width=200)
    console.print(_live_table(space, records, Spend(700, 9000, 0.5)))
    text = console.export_text()
    assert "0.610" in text and "0.50–0.70" in text and "makes up to 21 calls" in text
    assert "700 calls of 30000" in text and "2 trials of 12" in text


async def test_the_best_architectures_verifiers_are_measured_on_dev(db_url: str, tmp_path: Path) -> None:
    """A verifier that passes everything: the search records its precision/recall against
    gold for the winner (summary, report) and warns."""
    import json

    from archon.testing import ServerProcess

    data = tmp_path / "d.jsonl"
    data.write_text("".join(json.dumps({"input": f"Q{i}", "answer": "right"}) + "\n" for i in range(12)))
    script = [(r"^Q\d+$", ["right", "wrong", "wrong"]), (r"Answer: ", "Verdict: correct")]
    with ServerProcess(script=script) as srv:
        text = f"""
name: verified
pipeline:
  models:
    m: {{model: openai/scripted, api_base: "{srv.api_base}", max_tokens: 8}}
  nodes:
    g: {{op: generate, model: m, samples: 3, temperature: 0.8}}
    v: {{op: verify, model: m, inputs: [g], on_none: "${{on_none}}"}}
    answer: {{op: vote, inputs: [v]}}
  output: answer
space:
  on_none: {{choice: [keep_all, keep_best]}}
dataset: {{path: {data}, dev: 0.5, seed: 0}}
metric: exact
strategy: grid
objectives: [score, cost]
"""
        result = await aoptimize(parse_space(text, str(tmp_path / "s.yaml")), db=db_url, results_dir=tmp_path)
    assert result.best is not None
    v = result.best.verifiers["v"]
    assert v["recall"] == 1.0 and v["false_positive_rate"] == 1.0 and "passes 100% of wrong" in v["warning"]
    report = (tmp_path / "verified" / "report.html").read_text()
    assert "Verifiers of the best architecture" in report and "passes 100% of wrong" in report
    summary = json.loads((tmp_path / "verified" / "summary.json").read_text())
    assert summary["best"]["verifiers"]["v"]["precision"] == v["precision"]


def test_a_rung_stops_a_trial_only_when_a_rival_no_dearer_is_surely_better() -> None:
    """The paired prune: on the rung's items, a trial surely below a complete trial (or the
    single call) that costs no more per query stops — it is dominated; below a dearer one
    it goes on (it may be a Pareto point), and so it does when the gap is within noise."""
    from archon._typing import Usage
    from archon.evaluate._eval import EvalResult
    from archon.evaluate._eval import ItemScore
    from archon.search._halving import _behind
    from archon.search._halving import scored_rivals
    from archon.search._records import TrialRecord

    ids = list(range(100, 140))  # 40 dev items; the rung scored the first 20 of them

    def rung(right: set[int], calls_per_item: int = 1) -> EvalResult:
        items = tuple(ItemScore(i, {}, "x", "y", 1.0 if i in right else 0.0, None, Usage()) for i in ids[:20])
        score = len(right) / 20
        return EvalResult(
            "dev", "exact", items, score, (0.0, 1.0), Usage(paid_calls=20 * calls_per_item), 1.0, None, {}
        )

    strong = tuple(1.0 if i < 130 else 0.0 for i in ids)  # 20 of the rung's 20 right, 30 of 40 in all
    records = [TrialRecord(3, {}, "complete", 0.75, (0.6, 0.9), 1.0, 1.0, 40, 0, item_scores=strong)]
    weak = rung(set(ids[:4]))  # 4 of 20: surely below trial 3 at the same cost
    assert "surely below trial 3 (no dearer)" in _behind(weak, scored_rivals(records, ids))
    dear = [TrialRecord(3, {}, "complete", 0.75, (0.6, 0.9), 3.0, 3.0, 120, 0, item_scores=strong)]
    assert _behind(weak, scored_rivals(dear, ids)) == ""  # a cheaper architecture may be on the front
    close = rung(set(ids[:17]))  # 17 of 20 against 20 of 20: within noise
    assert _behind(close, scored_rivals(records, ids)) == ""
    single = tuple(1.0 if i < 118 else 0.0 for i in ids)  # the single call got the rung's first 18
    assert "surely below the single call" in _behind(weak, scored_rivals([], ids, single))
    assert _behind(rung(set(ids[:4]), 3), scored_rivals([], ids, single)) != ""  # dearer than it, and worse
