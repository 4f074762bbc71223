"""The search driver: Optuna ask/tell over a space, archon's own budget accounting.

Every trial's architecture is planned first; one whose static worst case per query is
over the per-query budget is rejected before any call (a pruned trial, not a spend).
Before a trial runs, its worst case on the dev split (static calls × items) must fit the
search's remaining call budget, so the search never spends past it. All calls go
through the shared cache: architectures that share generators share samples, and a
resumed search (same command, same database) replays finished work for free.
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from archon._pipeline import Pipeline
from archon.backends import Limits
from archon.backends import ModelClient
from archon.errors import ConfigurationError
from archon.errors import SpecError
from archon.evaluate import aevaluate
from archon.evaluate import get_metric
from archon.execute import static_check
from archon.operators import operator_types
from archon.search._baseline import Lift
from archon.search._baseline import dev_warning
from archon.search._baseline import item_scores
from archon.search._baseline import lift
from archon.search._baseline import select_winner
from archon.search._demos import DemoPool
from archon.search._halving import paid_spend
from archon.search._halving import run_trial
from archon.search._halving import rung_history
from archon.search._halving import scored_rivals
from archon.search._halving import worst_case
from archon.search._ledger import BASE_ROW
from archon.search._ledger import PROPOSE_ROW
from archon.search._ledger import RANK_ROW
from archon.search._ledger import TEST_ROW
from archon.search._ledger import Ledger
from archon.search._ledger import Spend
from archon.search._prepare import _baseline
from archon.search._prepare import _bootstrap
from archon.search._prepare import _proposals
from archon.search._prepare import _ranked
from archon.search._records import TrialRecord
from archon.search._records import pareto_front
from archon.search._results import SearchResult
from archon.search._results import _write_results
from archon.search._space import SearchSpace
from archon.search._space import _dump
from archon.search._strategies import _best
from archon.search._strategies import _encode
from archon.search._strategies import _greedy_next
from archon.search._strategies import _grid_size
from archon.search._strategies import _sampler
from archon.search._strategies import _suggest
from archon.search._trials import _counted
from archon.search._trials import _records
from archon.search._trials import _since_better
from archon.search._trials import _tell_pruned
from archon.search._trials import _tell_repeat
from archon.search._trials import _unbeatable
from archon.search._workers import _claim
from archon.search._workers import _fail_dead
from archon.search._workers import _Heartbeat
from archon.search._workers import _spawn_workers
from archon.search._workers import _storage
from archon.search._workers import _until_settled
from archon.search._workers import _wait
from archon.spec import parse_pipeline
from archon.store import Store

log = logging.getLogger("archon.search")


async def aoptimize(
    space: SearchSpace,
    *,
    db: str | None = None,
    study_name: str | None = None,
    results_dir: str | Path | None = "results",
    on_trial: Callable[[TrialRecord, list[TrialRecord], Spend], None] | None = None,
    role: str = "main",
    workers: int = 1,
    heartbeat_s: int = 10,
    on_baseline: Callable[[float, tuple[float, float]], None] | None = None,
) -> SearchResult:
    """Searches the space; resumable (same study name and database) and shareable by
    several workers (the same call with ``role="worker"`` in other processes or machines
    on one database: they share the study, the cache and the search budget).

    ``on_trial(record, all_records, spent)`` is called after each of this worker's trials,
    ``on_baseline(dev_score, ci95)`` once the baseline is scored.
    Only the ``main`` role re-scores the best on the test split and writes the results.
    ``workers`` > 1 starts that many processes in all on this machine (``archon optimize
    --join``); the main one waits for the others before its re-score.

    Raises:
        ConfigurationError: missing optuna, an unreadable dataset, a bad metric.
    """
    try:
        import optuna
    except ImportError:
        raise ConfigurationError("archon optimize needs optuna — pip install optuna") from None
    import os
    import socket
    import warnings

    # archon records heartbeats itself around ask/tell (optuna expects Study.optimize)
    warnings.filterwarnings("ignore", message="Heartbeat of storage", category=UserWarning)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)

    train, dev, test = space.splits()
    space = replace(space, pool=DemoPool(tuple(train.examples)))
    metric = get_metric(space.metric)
    store = Store(db)
    client = ModelClient(store)
    name = study_name or space.name
    directions: list[Any] = ["maximize", "minimize"] if space.objectives == ("score", "cost") else ["maximize"]
    storage = _storage(store.url, heartbeat_s)
    study = optuna.create_study(
        study_name=name, storage=storage, sampler=_sampler(space), directions=directions, load_if_exists=True
    )
    if role == "main" and not study.metric_names:
        study.set_metric_names(["score", "cost"] if len(directions) == 2 else ["score"])  # optuna-dashboard's labels
    ledger = Ledger(store, name, f"{socket.gethostname()}:{os.getpid()}")
    if role == "main":  # a killed leader's open steps: what their tagged calls cost, not their worst case
        ledger.mark_dead({TEST_ROW, BASE_ROW, RANK_ROW, PROPOSE_ROW})
    pq = space.budget.per_query
    limits = Limits.of(pq)
    sb = space.budget.search
    caps = Limits.of(sb)
    rungs = space.fidelity if space.fidelity else (1.0,)
    dev_order = list(dev.examples)
    random.Random(space.seed).shuffle(dev_order)  # nested subsets: a rung re-uses the calls of the one below
    t0 = time.monotonic()
    grid = space.strategy == "grid"
    stopped = "the space is exhausted" if grid else "the trial budget is spent"
    ops = operator_types()
    try:  # the ranking, the baseline and the proposals: on a failure, close what is open
        if space.archon is not None and space.ranking is None:
            space = replace(space, ranking=await _ranked(space, dev, client, store, ledger, caps))
        records: list[TrialRecord] = []
        repeats = 0
        baseline_yaml = _dump(space.baseline_data())
        baseline_pipe = Pipeline(
            parse_pipeline(baseline_yaml, f"{space.file}#baseline", space.node_types),
            ops=ops,
            limits=limits,
            client=client,
        )
        if role == "main" and "baseline" not in study.user_attrs:  # a fresh study: nothing paid yet
            _check_room(space, caps, ledger.spent(), len(dev), len(test), baseline_pipe.plan.cost.calls)
        base = await _baseline(space, study, baseline_pipe, train, dev_order, metric, ledger, caps, pq, role)
        if role == "main":
            study.set_user_attr("baseline_pipeline", baseline_yaml)
            if on_baseline is not None:
                on_baseline(base.dev_score, base.dev_ci95)
        space = replace(space, pool=DemoPool(tuple(train.examples), base.bootstrapped))
        space = replace(space, proposed=await _proposals(space, study, train, client, limits, ledger, caps, pq, role))
    except BaseException:
        await client.aclose()
        store.close()
        raise
    if role == "main":  # a resumed search: a trial left RUNNING by a killed process goes stale first
        await _until_settled(study, heartbeat_s)
    children = _spawn_workers(space, store.url, name, workers - 1, heartbeat_s) if role == "main" else []
    try:
        while True:  # a second pass runs the retries of trials a killed worker left behind
            while True:
                _fail_dead(study, heartbeat_s)
                all_trials = study.get_trials(deepcopy=False)
                ledger.mark_dead({t.number for t in all_trials if t.state == optuna.trial.TrialState.FAIL})
                records = _records(study)
                running = sum(1 for t in all_trials if t.state == optuna.trial.TrialState.RUNNING)
                waiting = any(t.state == optuna.trial.TrialState.WAITING for t in all_trials)
                if sb.trials is not None and _counted(records) + running >= sb.trials and not waiting:
                    stopped = f"the trial budget ({sb.trials}) is spent"
                    break
                if sb.time_s is not None and time.monotonic() - t0 >= sb.time_s:
                    stopped = f"the time budget ({sb.time_s} s) is spent"
                    break
                if grid and sum(r.state != "failed" for r in records) + running >= _grid_size(space) and not waiting:
                    stopped = "every grid point was tried"
                    break
                if sb.patience is not None and not waiting and _since_better(records) >= sb.patience:
                    stopped = f"no better dev score in the last {sb.patience} architectures (patience)"
                    break
                perfect = None if grid else _unbeatable(records)
                if perfect is not None and not waiting:
                    stopped = f"trial {perfect.number} scores 1.000 on dev at the lowest cost tried: none can beat it"
                    break
                if not grid and not caps.any and sb.trials is None and sb.time_s is None and _counted(records) >= 50:
                    stopped = "50 trials (no search budget given)"
                    break
                if space.strategy == "greedy" and not waiting:
                    busy = [
                        t.user_attrs["values"]
                        for t in all_trials
                        if t.state == optuna.trial.TrialState.RUNNING and "values" in t.user_attrs
                    ]
                    proposal = _greedy_next(space, records, busy)
                    if proposal is None:
                        stopped = "greedy search found no untried architecture (the space looks exhausted)"
                        break
                    on = {p.name for p in space.params if p.is_active(proposal)}  # inactive ones are not asked
                    study.enqueue_trial(
                        _encode(space, {k: v for k, v in proposal.items() if k in on}), skip_if_exists=False
                    )
                # seeded by the finished trials that count (a killed one's retry takes its place)
                if not grid:  # the grid sampler keeps its own order of the points
                    counted = sum(t.state.is_finished() and t.state != optuna.trial.TrialState.FAIL for t in all_trials)
                    study.sampler = _sampler(space, 1 + counted)
                trial = study.ask()
                if not ledger.take(trial.number):  # another worker popped the same queued trial
                    continue
                # beat at once: a process killed before its first heartbeat would leave the trial RUNNING forever
                beat = _Heartbeat(storage, trial._trial_id, heartbeat_s)
                values = _suggest(trial, space.params, grid)
                params = space.active(values)
                trial.set_user_attr("values", params)
                trial.set_user_attr("worker", ledger.worker)
                # one trial per architecture: another worker's live trial of it is waited for
                owner = await _claim(study, ledger, params, trial.number, heartbeat_s)
                if owner is not None:
                    records = _records(study)
                same = next((r for r in records if r.params == params and r.state not in ("failed", "repeat")), None)
                if same is not None and same.state != "stopped":
                    # samplers re-propose architectures of small spaces: answer from the first result
                    repeats += 1
                    rec = replace(
                        same, number=trial.number, state="repeat", paid_calls=0, reason=f"= trial {same.number}"
                    )
                    beat.close()
                    _tell_repeat(study, trial, rec, same, len(directions))
                    records.append(rec)
                    if repeats >= 25:
                        stopped = "the sampler proposed only tried architectures 25 times in a row (the space looks exhausted)"
                        break
                    continue
                repeats = 0
                if space.pool.bootstrapped is None and len(train) and space.needs_bootstrap(params):
                    # the first trial that draws bootstrapped demonstrations pays for them (once)
                    room = _room_for_test(space, records, base, space.static_calls(params), len(test), pq, caps)
                    try:
                        boot, why = await _bootstrap(
                            study, base.pipeline, train, metric, ledger, room.kept_from(caps), pq, trial.number
                        )
                    except BaseException:
                        beat.close()
                        raise
                    if boot is None:
                        ledger.settle(trial.number, Spend(), final=True)
                        beat.close()
                        _not_run(study, trial, TrialRecord(trial.number, params, "stopped", reason=str(why)), records)
                        if on_trial:
                            on_trial(records[-1], records, ledger.spent())
                        continue
                    space = replace(space, pool=DemoPool(tuple(train.examples), boot))
                try:
                    pipe = Pipeline(space.instantiate(values), ops=ops, limits=limits, client=client)
                    static_check(pipe.plan, pipe.limits, client)
                except (SpecError, ConfigurationError) as exc:
                    beat.close()
                    reason = str(exc).splitlines()[0]
                    _not_run(study, trial, TrialRecord(trial.number, params, "rejected", reason=reason), records)
                    if on_trial:
                        on_trial(records[-1], records, ledger.spent())
                    continue
                history = rung_history(records, len(rungs))
                kept = _room_for_test(space, records, base, pipe.plan.cost.calls, len(test), pq, caps)
                try:
                    rec, out_of_budget = await run_trial(
                        pipe,
                        dev_order,
                        rungs,
                        space.keep,
                        history,
                        metric,
                        ledger,
                        caps,
                        pq,
                        params,
                        trial.number,
                        first=trial.number % space.brackets,
                        promote=space.promote,
                        kept=kept,
                        rivals=scored_rivals(records, [e.index for e in dev_order], base.dev_items),
                    )
                finally:
                    beat.close()
                if len(directions) == 1:  # TPE ranks a pruned trial by how far it got and its score there
                    for step, sc in enumerate(rec.rung_scores):
                        if not math.isnan(sc):
                            trial.report(sc, step)
                for k, v in (
                    ("score", rec.score),
                    ("ci95", list(rec.ci95 or ())),
                    ("cost", rec.cost),
                    ("calls_per_query", rec.calls_per_query),
                    ("paid_calls", rec.paid_calls),
                    ("cached_calls", rec.cached_calls),
                    ("state", rec.state),
                    ("rung_scores", list(rec.rung_scores)),
                    ("item_scores", list(rec.item_scores)),
                    ("verifiers", dict(rec.verifiers)),
                    ("reason", rec.reason),
                ):
                    trial.set_user_attr(k, v)
                if rec.state == "complete":
                    trial.set_user_attr("pipeline", _dump(space.pipeline_data(params)))  # for archon export
                    score, cost = float(rec.score or 0.0), float(rec.cost or 0.0)
                    study.tell(trial, [score, cost] if len(directions) == 2 else score)
                else:
                    study.tell(trial, state=optuna.trial.TrialState.PRUNED)
                records = _records(study)
                if on_trial:
                    on_trial(rec, records, ledger.spent())
                if out_of_budget:
                    stopped = f"the search budget cannot fit another step ({rec.reason})"
                    break
            failed = await _wait(children)
            children = []
            if not failed:
                break
            for problem in failed:
                log.warning("%s; its trial is retried", problem)
            await _until_settled(study, heartbeat_s)
            if not any(t.state == optuna.trial.TrialState.WAITING for t in study.get_trials(deepcopy=False)):
                break
        records = _records(study)
        best = select_winner(records, base.dev_items or None)
        front = pareto_front(records)
        test_score = None
        test_scores: dict[int, float] = {}
        test_cis: dict[int, tuple[float, float]] = {}
        test_items: dict[int, tuple[float, ...]] = {}
        lift_: Lift | None = None
        warning = dev_warning(best.item_scores, base.dev_items) if best is not None else None
        out_dir = None
        if role == "main":
            study.set_user_attr("stopped_because", stopped)
            study.set_user_attr("space_file", space.file)
            study.set_user_attr("best_trial", best.number if best is not None else None)
            if best is not None and len(test):
                # the baseline, the winner, then the rest of the Pareto front, re-scored on the held-out split
                paid_test = _test_paid_before(ledger)
                top = _best(records)
                finalists = [best, *[r for r in ([top] if top else []) + front if r.number != best.number]]
                seen: set[int] = set()
                for rec in [None, *finalists]:
                    if rec is not None and rec.number in seen:
                        continue
                    pipe = (
                        base.pipeline
                        if rec is None
                        else Pipeline(space.instantiate(rec.params), ops=ops, limits=limits, client=client)
                    )
                    why = ledger.reserve(TEST_ROW, worst_case(pipe, pq, len(test)), caps)
                    if why is not None:  # the held-out re-scores are inside the budget too
                        what = "the baseline" if rec is None else f"trial {rec.number}"
                        stopped += f"; the test re-score of {what} did not fit the budget ({why})"
                        break
                    with ledger.tagged(TEST_ROW):
                        rescored = await aevaluate(pipe, test, metric)
                    paid_test = paid_test + paid_spend(rescored.usage)
                    ledger.settle(TEST_ROW, paid_test, final=False)
                    key = BASE_ROW if rec is None else rec.number
                    seen.add(key)
                    test_scores[key] = rescored.score
                    test_cis[key] = rescored.ci95
                    test_items[key] = item_scores(rescored)
                ledger.settle(TEST_ROW, paid_test, final=True)
                test_score = test_scores.get(best.number)
                if best.number in test_items and BASE_ROW in test_items:
                    lift_ = lift(test_items[best.number], test_items[BASE_ROW])
                study.set_user_attr("test_score", test_score)
                study.set_user_attr("test_scores", {str(k): v for k, v in test_scores.items()})
                study.set_user_attr("test_cis", {str(k): list(v) for k, v in test_cis.items()})
                study.set_user_attr("lift", lift_.as_dict() if lift_ else None)
                study.set_user_attr("stopped_because", stopped)
            study.set_user_attr("warning", warning)
            extra = {
                "baseline": {
                    "dev": base.dev_score,
                    "dev_ci95": list(base.dev_ci95),
                    "test": test_scores.get(BASE_ROW),
                    "test_ci95": list(test_cis[BASE_ROW]) if BASE_ROW in test_cis else None,
                    "pipeline": baseline_yaml,
                },
                "lift": lift_.as_dict() if lift_ else None,
                "test_cis": test_cis,
                "warning": warning,
            }
            out_dir = _write_results(space, name, records, best, front, test_scores, results_dir, extra)
            if out_dir is not None:
                from archon.search._report import write_report

                write_report(out_dir, space, name, records, best, front, test_scores, stopped, ledger.spent(), extra)
    finally:
        for child in children:
            if child.poll() is None:
                child.terminate()
        await client.aclose()
        store.close()
    spent = ledger.spent()
    return SearchResult(
        name,
        tuple(records),
        best,
        tuple(front),
        spent.calls,
        stopped,
        out_dir,
        test_score,
        {
            "spent": spent.__dict__,
            "workers": workers,
            "test_scores": {k: v for k, v in test_scores.items() if k >= 0},
            "test_cis": {k: v for k, v in test_cis.items() if k >= 0},
            "baseline": {
                "dev": base.dev_score,
                "dev_ci95": base.dev_ci95,
                "dev_items": base.dev_items,
                "test": test_scores.get(BASE_ROW),
                "test_ci95": test_cis.get(BASE_ROW),
            },
            "lift": lift_,
            "warning": warning,
            "space": space,
        },
    )


def _check_room(space: SearchSpace, caps: Limits, spent: Spend, n_dev: int, n_test: int, base_calls: float) -> None:
    """Refuses, before the baseline's calls, a call budget whose rest (after ``spent``: a
    power ranking) cannot pay for one complete trial besides the fixed steps: the baseline
    on dev, the proposed instructions, one architecture — the cheaper of the baseline and
    the space's defaults, the first trial — on the whole dev split (a trial's worst case is
    reserved before its calls, cached or not), and the closing test re-score of the
    baseline and a winner. A search that would stop before its first trial completes would
    pay for the baseline and end with nothing; one that could not afford the test re-score
    would end without a held-out score or a lift.

    Raises:
        ConfigurationError: the budget, what each step needs and the smallest that fits.
    """
    if caps.calls is None:
        return
    trial = min(base_calls, space.static_calls({p.name: p.default for p in space.params}))
    steps = {
        "a power ranking (paid)": spent.calls,
        f"the baseline on {n_dev} dev items": n_dev * base_calls,
        "the proposed instructions": space.instructions.propose if space.instructions else 0,
        f"one trial on the {n_dev} dev items": n_dev * trial,
        f"the test re-score ({n_test} items, baseline and winner)": n_test * (base_calls + trial),
    }
    need = math.ceil(sum(steps.values()))
    if caps.calls < need:
        parts = ", ".join(f"{what} {math.ceil(n)}" for what, n in steps.items() if n)
        raise ConfigurationError(
            f"the search budget of {caps.calls} calls cannot complete one trial: {parts} — {need} calls at the "
            f"least; raise budget.search.calls (--budget-calls {need} or more; a useful search needs several "
            "trials) or use fewer items"
        )


def _not_run(study: Any, trial: Any, rec: TrialRecord, records: list[TrialRecord]) -> None:
    """A trial that ends before its first call (rejected, or stopped by the budget): told
    to optuna as pruned and added to ``records``."""
    _tell_pruned(study, trial, rec)
    records.append(rec)


def _room_for_test(
    space: SearchSpace, records: list[TrialRecord], base: Any, calls: float, n_test: int, pq: Any, caps: Limits
) -> Spend:
    """What a trial of ``calls`` per query must leave for the closing re-score of the
    baseline and the winner on test (:func:`_kept_for_test`; nothing without a cap or a
    test split)."""
    if not (caps.any and n_test):
        return Spend()
    leader = select_winner(records, base.dev_items or None)
    most = max(calls, space.static_calls(leader.params) if leader else 0.0)
    return _kept_for_test(n_test, base.pipeline.plan.cost.calls, most, pq, caps)


def _kept_for_test(n_test: int, base_calls: float, most_calls: float, pq: Any, caps: Limits) -> Spend:
    """What trials leave in the search budget for the closing re-score on the test split:
    the baseline's and the costliest possible winner's worst case over ``n_test`` items
    (so a search that spends its budget still ends with a held-out score and a lift). A
    cap the re-score's worst case could never fit keeps nothing back."""
    if not n_test or math.isinf(most_calls):
        return Spend()
    calls = math.ceil((base_calls + most_calls) * n_test)
    tokens, usd = 2 * (pq.tokens or 0) * n_test, 2 * (pq.usd or 0.0) * n_test
    return Spend(
        calls if caps.calls is not None and calls <= caps.calls else 0,
        tokens if caps.tokens is not None and tokens <= caps.tokens else 0,
        usd if caps.usd is not None and usd <= caps.usd else 0.0,
    )


def _test_paid_before(ledger: Ledger) -> Spend:
    """What earlier re-scores on the test split paid (a resumed search re-scores again)."""
    for row in ledger.rows():  # an open row (a crash mid re-score) keeps its reservation counted
        if row["trial"] == TEST_ROW:
            return Spend(row["calls"], row["tokens"], row["usd"])
    return Spend()
