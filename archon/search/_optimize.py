"""The search driver: Optuna ask/tell over a space, archon's own budget accounting.

Every trial's architecture is planned first; one whose static worst case per query is
over the per-query budget is rejected before any call (a pruned trial, not a spend).
Before a trial runs, its worst case on the dev split (static calls × items) must fit the
search's remaining call budget, so the search never spends past it. All calls go
through the shared cache: architectures that share generators share samples, and a
resumed search (same command, same database) replays finished work for free.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import hashlib
import json
import logging
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from pathlib import Path
from typing import Any

from archon._pipeline import Pipeline
from archon.backends import Limits
from archon.backends import ModelClient
from archon.errors import ArchonError
from archon.errors import ConfigurationError
from archon.errors import SpecError
from archon.errors import redact
from archon.evaluate import Dataset
from archon.evaluate import Example
from archon.evaluate import Metric
from archon.evaluate import aevaluate
from archon.evaluate import bootstrap_ci
from archon.evaluate import get_metric
from archon.execute import static_check
from archon.operators import operator_types
from archon.search._archon import Ranking
from archon.search._baseline import Lift
from archon.search._baseline import dev_warning
from archon.search._baseline import item_scores
from archon.search._baseline import lift
from archon.search._baseline import select_winner
from archon.search._demos import DemoPool
from archon.search._halving import all_failed
from archon.search._halving import paid_spend
from archon.search._halving import run_trial
from archon.search._halving import rung_history
from archon.search._halving import worst_case
from archon.search._ledger import BASE_ROW
from archon.search._ledger import PROPOSE_ROW
from archon.search._ledger import RANK_ROW
from archon.search._ledger import TEST_ROW
from archon.search._ledger import Ledger
from archon.search._ledger import Spend
from archon.search._param import Param
from archon.search._records import TrialRecord
from archon.search._records import pareto_front
from archon.search._space import SearchSpace
from archon.search._space import _dump
from archon.spec import parse_pipeline
from archon.store import Store

log = logging.getLogger("archon.search")

#: The most worker processes one ``aoptimize(workers=...)`` (``--workers``) starts.
MAX_WORKERS = 64


@dataclass(frozen=True)
class SearchResult:
    study: str
    trials: tuple[TrialRecord, ...]
    best: TrialRecord | None
    pareto: tuple[TrialRecord, ...]
    paid_calls: int
    stopped_because: str
    results_dir: Path | None
    test_score: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _dataset(space: SearchSpace) -> tuple[Dataset, Dataset, Dataset]:
    """The space's train, dev and test splits (:meth:`SearchSpace.splits`)."""
    return space.splits()


def _suggest(trial: Any, params: tuple[Param, ...], grid: bool) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for p in params:
        if not grid and not p.is_active(values):
            continue
        if p.kind == "int":
            values[p.name] = trial.suggest_int(p.name, int(p.low), int(p.high), log=p.log)
        elif p.kind == "float":
            values[p.name] = trial.suggest_float(p.name, float(p.low), float(p.high), log=p.log)
        elif p.kind == "bool":
            values[p.name] = trial.suggest_categorical(p.name, [False, True])
        elif p.kind == "subset":  # optuna's choices are scalars: each combination as JSON
            values[p.name] = json.loads(trial.suggest_categorical(p.name, [json.dumps(c) for c in p.grid()]))
        else:
            values[p.name] = trial.suggest_categorical(p.name, list(p.choices))
    return values


def _sampler(space: SearchSpace, trials: int = 0) -> Any:
    """The strategy's sampler, seeded by the space's seed and the number of trials so far:
    a resumed search (or a second worker) proposes what an unkilled one would at that
    point, instead of replaying the first proposals of the seed."""
    import optuna

    seed = (space.seed * 1_000_003 + trials) % 2**32 if trials else space.seed
    space = replace(space, seed=seed)

    if space.strategy in ("random", "greedy"):  # greedy enqueues every trial's parameters itself
        return optuna.samplers.RandomSampler(seed=space.seed)
    if space.strategy == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=space.seed, population_size=max(4, min(20, _grid_cap(space))))
    if space.strategy == "grid":

        class AskTellGrid(optuna.samplers.GridSampler):
            # GridSampler calls study.stop() when the grid is done, which only works inside
            # study.optimize; with ask/tell archon counts the grid points itself.
            def after_trial(self, *args: Any, **kwargs: Any) -> None:
                return None

        grid = {p.name: [json.dumps(v) for v in p.grid()] if p.kind == "subset" else p.grid() for p in space.params}
        return AskTellGrid(grid, seed=space.seed)
    return optuna.samplers.TPESampler(seed=space.seed, multivariate=True)


def _neighbours(p: Param, value: Any) -> list[Any]:
    if p.kind in ("bool", "choice", "subset"):
        return [v for v in p.grid() if v != value]
    if p.kind == "int":  # a line search along the coordinate: every value of a small range, nearest first
        lo, hi = int(p.low), int(p.high)
        if hi - lo <= 8:
            return sorted((v for v in range(lo, hi + 1) if v != value), key=lambda v: (abs(v - value), v))
        step = max(1, (hi - lo) // 4)
        near = (value - 1, value + 1, value - step, value + step, lo, hi)
        return list(dict.fromkeys(v for v in near if lo <= v <= hi and v != value))
    width = (p.high - p.low) / 10
    return [v for v in (value - width, value + width) if p.low <= v <= p.high]


def _encode(space: SearchSpace, values: dict[str, Any]) -> dict[str, Any]:
    """Parameter values as optuna stores them (a subset as its JSON)."""
    kinds = {p.name: p.kind for p in space.params}
    return {k: json.dumps(v) if kinds.get(k) == "subset" else v for k, v in values.items()}


def _best(records: list[TrialRecord]) -> TrialRecord | None:
    """The complete trial with the highest score, the cheaper one on a tie (the point
    greedy climbs from; the search's winner is :func:`select_winner`'s)."""
    done = [r for r in records if r.state == "complete"]
    return max(done, key=lambda r: (r.score or 0, -(r.cost or 0)), default=None)


def _greedy_next(
    space: SearchSpace, records: list[TrialRecord], busy: list[dict[str, Any]] | None = None
) -> dict[str, Any] | None:
    """Coordinate ascent with restarts: the first untried neighbour of the best
    architecture so far (one parameter changed), the defaults first. When every neighbour
    of the best was tried (a local optimum), an untried architecture drawn at random —
    seeded by the space's seed and the number of trials, so a resumed search draws the
    same — and the climb goes on from whichever is best. None when no untried
    architecture is found. ``busy``: architectures other workers are trying now (not
    proposed again)."""
    records = [r for r in records if r.state != "failed"]  # a dead worker's trial evaluated nothing
    tried = [space.active(r.params) for r in records] + [space.active(b) for b in busy or []]
    best = _best(records)
    current = space.active(best.params) if best else None
    if current is None:
        start = space.active({p.name: p.default for p in space.params})
        if start not in tried:
            return start
    else:
        for p in space.params:
            if not p.is_active(current):
                continue
            for v in _neighbours(p, current[p.name]):
                proposal = _repair(space, space.active({**current, p.name: v}))
                if proposal not in tried:
                    return proposal
    rng = random.Random(f"{space.seed}:{len(records)}")
    for _ in range(500):
        values: dict[str, Any] = {}
        for p in space.params:
            if p.kind == "float":
                values[p.name] = rng.uniform(float(p.low), float(p.high))
            else:
                values[p.name] = rng.choice(list(p.grid()))
        proposal = space.active(values)
        if proposal not in tried:
            return proposal
    return None


def _repair(space: SearchSpace, values: dict[str, Any]) -> dict[str, Any]:
    """A parameter that a change made active keeps its inactive default only if that is
    one of its values; else it starts at its first value (the lowest)."""
    out = dict(values)
    for p in space.params:
        if not p.is_active(out):
            continue
        v = out.get(p.name)
        if p.kind == "float":
            out[p.name] = min(max(float(v if v is not None else p.low), float(p.low)), float(p.high))
        elif v not in p.grid():
            out[p.name] = p.grid()[0]
    return space.active(out)


def _storage(url: str, heartbeat_s: int) -> Any:
    """Optuna's RDB storage on the archon database: heartbeats let a live worker fail
    the trial of a killed one, which is then retried (twice at most) with the same
    parameters."""
    import optuna

    kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        kwargs = {"connect_args": {"timeout": 60}}
    return optuna.storages.RDBStorage(
        url,
        engine_kwargs=kwargs,
        heartbeat_interval=heartbeat_s,
        grace_period=3 * heartbeat_s,
        heartbeat_stale_trial_callback=_retry_stale,
    )


def _retry_stale(study: Any, trial: Any) -> None:
    """A dead worker's trial is retried with its parameters — if it had fixed them all
    (``values`` is recorded once they are). One killed while they were being drawn is not:
    the next ask draws them again, from the same seed, as an unkilled run would."""
    import optuna

    if "values" in trial.user_attrs:
        optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=2)(study, trial)


def _fail_dead(study: Any, heartbeat_s: float) -> None:
    """Fails the trials of dead workers: those whose heartbeat is stale (optuna's rule,
    which retries them, see _retry_stale) and those killed between ``ask`` and their first
    heartbeat — RUNNING with no parameters recorded, started longer ago than the grace
    period (a live worker records both within milliseconds of its ask)."""
    import datetime

    import optuna

    optuna.storages.fail_stale_trials(study)
    now = datetime.datetime.now()
    for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        started = t.datetime_start
        if "values" not in t.user_attrs and started is not None and (now - started).total_seconds() > 3 * heartbeat_s:
            with contextlib.suppress(Exception):  # another worker failed it first
                study._storage.set_trial_state_values(t._trial_id, optuna.trial.TrialState.FAIL)


async def _until_settled(study: Any, heartbeat_s: float) -> None:
    """Waits (at most four heartbeats) until no trial is RUNNING, failing dead workers'
    trials as they go stale: a killed process's trial is retried, not counted as live."""
    import optuna

    waited = 0.0
    while waited < 4 * heartbeat_s and any(
        t.state == optuna.trial.TrialState.RUNNING for t in study.get_trials(deepcopy=False)
    ):
        _fail_dead(study, heartbeat_s)
        await asyncio.sleep(0.5)
        waited += 0.5


class _Heartbeat:
    """Records a running trial's heartbeat from a thread while the event loop works."""

    def __init__(self, storage: Any, trial_id: int, every_s: float) -> None:
        import threading

        storage.record_heartbeat(trial_id)  # before the parameters are drawn: see _fail_dead
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._beat, args=(storage, trial_id, every_s), daemon=True)
        self.thread.start()

    def _beat(self, storage: Any, trial_id: int, every_s: float) -> None:
        while not self.stop.wait(every_s):
            storage.record_heartbeat(trial_id)

    def close(self) -> None:
        self.stop.set()
        self.thread.join()


def _records(study: Any) -> list[TrialRecord]:
    return [_record(t) for t in study.get_trials(deepcopy=False) if t.state.is_finished()]


def _counted(records: list[TrialRecord]) -> int:
    """Architectures tried: not repeats of tried ones (free), nor trials of dead workers."""
    return sum(1 for r in records if r.state not in ("failed", "repeat"))


def _tell_repeat(study: Any, trial: Any, rec: TrialRecord, same: TrialRecord, objectives: int) -> None:
    import optuna

    trial.set_user_attr("state", "repeat")
    trial.set_user_attr("reason", rec.reason)
    for k in ("score", "cost", "calls_per_query"):
        trial.set_user_attr(k, getattr(same, k))
    if same.state == "complete":
        score, cost = float(same.score or 0.0), float(same.cost or 0.0)
        study.tell(trial, [score, cost] if objectives == 2 else score)
    else:
        study.tell(trial, state=optuna.trial.TrialState.PRUNED)


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

    train, dev, test = _dataset(space)
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
    limits = Limits(pq.calls, pq.tokens, pq.usd)
    sb = space.budget.search
    caps = (sb.calls, sb.tokens, sb.usd)
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
                if not grid and not any(caps) and sb.trials is None and sb.time_s is None and _counted(records) >= 50:
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
                try:
                    pipe = Pipeline(space.instantiate(values), ops=ops, limits=limits, client=client)
                    static_check(pipe.plan, pipe.limits, client)
                except (SpecError, ConfigurationError) as exc:
                    rec = TrialRecord(trial.number, params, "rejected", reason=str(exc).splitlines()[0])
                    beat.close()
                    _tell_pruned(study, trial, rec)
                    records.append(rec)
                    if on_trial:
                        on_trial(rec, records, ledger.spent())
                    continue
                history = rung_history(records, len(rungs))
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
        best = select_winner(records)
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
                "test": test_scores.get(BASE_ROW),
                "test_ci95": test_cis.get(BASE_ROW),
            },
            "lift": lift_,
            "warning": warning,
            "space": space,
        },
    )


async def _ranked(
    space: SearchSpace,
    dev: Dataset,
    client: ModelClient,
    store: Store,
    ledger: Ledger,
    caps: tuple[int | None, int | None, float | None],
) -> Ranking:
    """The stored power ranking of an archon: space's models, or a new one paid from the
    search budget."""
    from archon.search._rank import arank_models
    from archon.search._rank import rank_items
    from archon.search._rank import rank_worst_case
    from archon.search._rank import stored_ranking

    ranking = stored_ranking(space, store)
    if ranking is not None:
        return ranking
    why = ledger.reserve(RANK_ROW, rank_worst_case(space, len(rank_items(space, dev))), caps)
    if why is not None:
        raise ConfigurationError(f"ranking the models (archon rank-models) does not fit the search budget: {why}")
    with ledger.tagged(RANK_ROW):
        ranking, paid = await arank_models(space, dev, client, store)
    ledger.settle(RANK_ROW, paid, final=True)
    return ranking


def _arch(params: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()


async def _claim(study: Any, ledger: Ledger, params: dict[str, Any], number: int, heartbeat_s: float) -> int | None:
    """Claims the architecture for trial ``number``; while another live trial holds it,
    waits for that trial to finish (a dead one's claim passes on, once its heartbeat is
    stale). None: this trial evaluates it; else the trial whose result answers it."""
    import optuna

    while True:
        trials = study.get_trials(deepcopy=False)
        released = {t.number for t in trials if t.state == optuna.trial.TrialState.FAIL}
        released |= {t.number for t in trials if t.user_attrs.get("state") == "stopped"}
        owner = ledger.claim(_arch(params), number, released)
        if owner is None:
            return None
        if any(t.number == owner and t.state.is_finished() for t in trials):
            return owner
        await asyncio.sleep(0.5)
        _fail_dead(study, heartbeat_s)


def _spawn_workers(space: SearchSpace, url: str, study: str, n: int, heartbeat_s: int) -> list[Any]:
    import subprocess
    import sys

    if n <= 0:
        return []
    if n + 1 > MAX_WORKERS:
        raise ConfigurationError(
            f"{n + 1} worker processes on one machine: at most {MAX_WORKERS} (more machines: --join on each)"
        )
    if url in ("sqlite://", "sqlite:///:memory:"):
        raise ConfigurationError("--workers needs a database the workers can share: --db sqlite:///search.db")
    if space.file.startswith("<"):
        raise ConfigurationError("--workers needs the space in a file the workers can read")
    cmd = [sys.executable, "-m", "archon", "optimize", space.file, "--db", url, "--study", study, "--join"]
    cmd += ["--heartbeat", str(heartbeat_s), "--json", *space.overrides]
    import tempfile

    children = []
    for _ in range(n):
        log = tempfile.TemporaryFile()  # a pipe could fill and stall the worker
        child = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)
        child.log = log  # type: ignore[attr-defined]
        children.append(child)
    return children


async def _wait(children: list[Any]) -> list[str]:
    """Waits for the worker processes; what went wrong with those that did not exit 0
    (killed, or failed: their stderr's tail)."""
    import asyncio
    import signal

    while any(c.poll() is None for c in children):
        await asyncio.sleep(0.2)
    failed = []
    for c in children:
        c.log.seek(0)
        err = c.log.read().decode(errors="replace")
        c.log.close()
        if c.returncode < 0:
            failed.append(f"search worker {c.pid} was killed ({signal.Signals(-c.returncode).name})")
        elif c.returncode != 0:
            failed.append(f"search worker {c.pid} exited with code {c.returncode}: {redact(err.strip()[-2000:])}")
    return failed


def _test_paid_before(ledger: Ledger) -> Spend:
    """What earlier re-scores on the test split paid (a resumed search re-scores again)."""
    for row in ledger.rows():  # an open row (a crash mid re-score) keeps its reservation counted
        if row["trial"] == TEST_ROW:
            return Spend(row["calls"], row["tokens"], row["usd"])
    return Spend()


def _grid_cap(space: SearchSpace) -> int:
    try:
        return _grid_size(space)
    except ValueError:  # a float parameter: unbounded
        return 20


def _grid_size(space: SearchSpace) -> int:
    size = 1
    for p in space.params:
        size *= len(p.grid())
    return size


def _tell_pruned(study: Any, trial: Any, rec: TrialRecord) -> None:
    import optuna

    trial.set_user_attr("state", rec.state)
    trial.set_user_attr("reason", rec.reason)
    study.tell(trial, state=optuna.trial.TrialState.PRUNED)


def _record(t: Any) -> TrialRecord:
    a = t.user_attrs
    if t.state.name == "FAIL":
        retry = a.get("worker", "")
        return TrialRecord(
            t.number, dict(a.get("values", t.params)), "failed", reason=f"its worker died {retry}".strip() + "; retried"
        )
    state = a.get("state", "complete" if t.state.name == "COMPLETE" else "rejected")
    ci = a.get("ci95")
    return TrialRecord(
        t.number,
        dict(a.get("values", t.params)),
        state,
        a.get("score"),
        tuple(ci) if ci else None,
        a.get("cost"),
        a.get("calls_per_query"),
        int(a.get("paid_calls", 0)),
        int(a.get("cached_calls", 0)),
        a.get("reason", ""),
        tuple(a.get("rung_scores", ())),
        tuple(a.get("item_scores", ())),
    )


def _write_results(
    space: SearchSpace,
    name: str,
    records: list[TrialRecord],
    best: TrialRecord | None,
    front: list[TrialRecord],
    test_scores: dict[int, float],
    results_dir: str | Path | None,
    extra: dict[str, Any] | None = None,
) -> Path | None:
    if results_dir is None:
        return None
    from archon.search._simplify import effective_params
    from archon.search._simplify import simplify

    extra = extra or {}
    out = Path(results_dir) / name
    (out / "pareto").mkdir(parents=True, exist_ok=True)
    cis = extra.get("test_cis", {})

    def yaml_for(rec: TrialRecord, label: str) -> str:
        data = simplify(space.pipeline_data(rec.params), space.node_types)  # no-op nodes dropped
        data["name"] = f"{space.name}-{label}"
        test = ""
        if rec.number in test_scores:
            lo, hi = cis.get(rec.number, (math.nan, math.nan))
            test = f", test score {test_scores[rec.number]:.4f} [{lo:.2f}-{hi:.2f}]"
        head = (
            f"# {label}: trial {rec.number} of study {name} ({space.file})\n"
            f"# dev score {rec.score:.4f}{test}, cost {rec.cost:.6g} per query; "
            f"params {json.dumps(effective_params(space, rec.params), default=str)}\n"
        )
        return head + _dump(data)

    if best is not None:
        (out / "best.yaml").write_text(yaml_for(best, "best"), encoding="utf-8")
    for old in (out / "pareto").glob("*.yaml"):
        old.unlink()
    for rec in front:
        (out / "pareto" / f"trial-{rec.number}.yaml").write_text(yaml_for(rec, "pareto"), encoding="utf-8")
    with (out / "trials.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        keys = [p.name for p in space.params]
        w.writerow(
            [
                "trial",
                "state",
                "score",
                "ci_low",
                "ci_high",
                "cost",
                "calls_per_query",
                "paid_calls",
                "cached_calls",
                "reason",
                *keys,
            ]
        )
        for r in records:
            ci = r.ci95 or (None, None)
            w.writerow(
                [
                    r.number,
                    r.state,
                    r.score,
                    ci[0],
                    ci[1],
                    r.cost,
                    r.calls_per_query,
                    r.paid_calls,
                    r.cached_calls,
                    r.reason,
                    *[r.params.get(k) for k in keys],
                ]
            )
    summary = {
        "study": name,
        "best": {**best.__dict__, "params": effective_params(space, best.params)} if best else None,
        "test_score": test_scores.get(best.number) if best else None,
        "test_ci95": cis.get(best.number) if best else None,
        "test_scores": {k: v for k, v in test_scores.items() if k >= 0},
        "test_cis": {k: v for k, v in cis.items() if k >= 0},
        "baseline": extra.get("baseline"),
        "lift": extra.get("lift"),
        "warning": extra.get("warning"),
        "selection": "the cheapest complete trial not significantly worse than the top dev score "
        "(paired bootstrap 95 %)",
        "pareto": [r.number for r in front],
        "instructions": [space.instruction(i) for i in range(space.instructions.size)] if space.instructions else None,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=1, default=str), encoding="utf-8")
    return out


def load_study_result(study_name: str, db: str | None = None) -> SearchResult:
    """A finished (or stopped) study's trials, best and Pareto front, from the database.

    Raises:
        ConfigurationError: no such study in that database.
    """
    import optuna

    store = Store(db)
    try:
        names = [s.study_name for s in optuna.get_all_study_summaries(storage=store.url)]
        if study_name not in names:
            raise ConfigurationError(
                f"no study {study_name!r} in {store._safe_url()} — studies: {', '.join(names) or 'none'}"
            )
        study = optuna.load_study(study_name=study_name, storage=store.url)
        records = _records(study)
        stopped = str(study.user_attrs.get("stopped_because", "not recorded"))
        test_score = study.user_attrs.get("test_score")
        attrs = study.user_attrs
        test_scores = {int(k): float(v) for k, v in attrs.get("test_scores", {}).items()}
        test_cis = {int(k): (float(v[0]), float(v[1])) for k, v in attrs.get("test_cis", {}).items()}
        base_items = (attrs.get("baseline") or {}).get("dev_items") or []
        lift_attr = attrs.get("lift")
        space = None
        if attrs.get("space_file"):
            from archon.operators import node_types
            from archon.search._space import parse_space_file

            try:  # for the parameters that matter in what is printed; the file may have moved
                space = parse_space_file(attrs["space_file"], node_types(operator_types()))
            except SpecError:
                space = None
        spent = Ledger(store, study_name, "show").spent()
    finally:
        store.close()
    chosen = attrs.get("best_trial", -1)
    best = next((r for r in records if r.number == chosen), None) if chosen != -1 else select_winner(records)
    return SearchResult(
        study_name,
        tuple(records),
        best,
        tuple(pareto_front(records)),
        spent.calls,
        stopped,
        None,
        test_score,
        {
            "spent": spent.__dict__,
            "test_scores": {k: v for k, v in test_scores.items() if k >= 0},
            "test_cis": {k: v for k, v in test_cis.items() if k >= 0},
            "baseline": {
                "dev": sum(base_items) / len(base_items) if base_items else None,
                "dev_ci95": bootstrap_ci(base_items) if base_items else None,
                "test": test_scores.get(BASE_ROW),
                "test_ci95": test_cis.get(BASE_ROW),
            },
            "lift": Lift.from_dict(lift_attr) if lift_attr else None,
            "warning": attrs.get("warning"),
            "space": space,
        },
    )


@dataclass(frozen=True)
class BaselineRun:
    """The baseline's per-item dev scores and, where demonstrations are bootstrapped, the
    train items it answered correctly with its answers."""

    pipeline: Pipeline
    dev_items: tuple[float, ...]
    bootstrapped: tuple[tuple[Example, str], ...] | None
    dev_score: float
    dev_ci95: tuple[float, float]


async def _baseline(
    space: SearchSpace,
    study: Any,
    pipe: Pipeline,
    train: Dataset,
    dev: list[Example],
    metric: Metric,
    ledger: Ledger,
    caps: tuple[int | None, int | None, float | None],
    pq: Any,
    role: str,
) -> BaselineRun:
    """Scores the baseline on dev (and on train to bootstrap demonstrations) once per
    study, paid from the search budget; a resumed search or a worker reads it back."""
    import asyncio

    boot_needed = space.needs_bootstrap() and len(train) > 0
    by_index = {e.index: e for e in train.examples}
    saved = study.user_attrs.get("baseline")
    if saved is None and role != "main":
        if not boot_needed:  # a worker needs the baseline only for bootstrapped demonstrations
            return BaselineRun(pipe, (), None, 0.0, (0.0, 0.0))
        for _ in range(1200):  # the leader scores it (a worker waits at most 10 minutes)
            await asyncio.sleep(0.5)
            saved = study.user_attrs.get("baseline")
            if saved is not None:
                break
        else:
            raise ConfigurationError(
                "no leader scored the baseline within 10 minutes: start archon optimize without --join"
            )
    if saved is not None:
        kept = saved.get("bootstrapped")
        dev_items = tuple(float(x) for x in saved["dev_items"])
        return BaselineRun(
            pipe,
            dev_items,
            None if kept is None else tuple((by_index[int(i)], str(a)) for i, a in kept if int(i) in by_index),
            sum(dev_items) / max(1, len(dev_items)),
            bootstrap_ci(dev_items),
        )
    items = len(dev) + (len(train) if boot_needed else 0)
    why = ledger.reserve(BASE_ROW, worst_case(pipe, pq, items), caps)
    if why is not None:
        raise ConfigurationError(
            f"scoring the baseline (one greedy call on {items} items) does not fit the search budget: {why} — "
            "raise budget.search or shrink the dataset"
        )
    paid = Spend()
    boot: tuple[tuple[Example, str], ...] | None = None
    try:
        if boot_needed:
            with ledger.tagged(BASE_ROW):
                res = await aevaluate(pipe, train, metric)
            paid = paid + paid_spend(res.usage)
            boot = tuple(
                (by_index[i.index], (i.output or "").strip()) for i in res.items if i.score is not None and i.score >= 1
            )
        with ledger.tagged(BASE_ROW):
            res = await aevaluate(pipe, Dataset("dev", tuple(dev)), metric)
        paid = paid + paid_spend(res.usage)
    finally:
        ledger.settle(BASE_ROW, paid, final=True)
    failed = all_failed(res)
    if failed:
        raise ArchonError(f"the baseline (one greedy call) failed on every dev item: {failed}")
    dev_items = item_scores(res)
    study.set_user_attr(
        "baseline",
        {
            "dev_items": list(dev_items),
            "bootstrapped": None if boot is None else [[e.index, a] for e, a in boot],
        },
    )
    return BaselineRun(pipe, dev_items, boot, res.score, res.ci95)


async def _proposals(
    space: SearchSpace,
    study: Any,
    train: Dataset,
    client: ModelClient,
    limits: Limits,
    ledger: Ledger,
    caps: tuple[int | None, int | None, float | None],
    pq: Any,
    role: str,
) -> tuple[str, ...]:
    """The instructions the space's proposer model writes from train demonstrations (one
    sample each, temperature 1), once per study: paid from the search budget, cached, and
    read back by a resumed search or a worker."""
    import asyncio

    block = space.instructions
    if block is None or block.propose == 0:
        return ()
    for _ in range(1200):
        saved = study.user_attrs.get("instructions")
        if saved is not None or role == "main":
            break
        await asyncio.sleep(0.5)  # a worker waits for the leader's proposals
    if saved is not None:
        return tuple(str(x) for x in saved)
    models = dict(space.pipeline_data({}).get("models") or {})
    alias = block.model or next(iter(models), None)
    if alias not in models:
        raise ConfigurationError(
            f"instructions: model '{alias}' is not an alias of the pipeline's models ({', '.join(models)})"
        )
    fmt = space.demos[0].format if space.demos else "Input: {{ input }}\nAnswer: {{ answer }}\n"
    from archon.search._demos import PROPOSER_PROMPT
    from archon.search._demos import DemoBlock
    from archon.search._demos import render_block

    examples = render_block(DemoBlock("shown", fmt), DemoPool(train.examples), block.shown, "first", 0)
    model = {**models[alias], "temperature": 1.0, "max_tokens": 48, "stop": ["\n"]}
    data = {
        "name": f"{space.name}-proposer",
        "models": {"proposer": model},
        "nodes": {
            "propose": {
                "op": "generate",
                "model": "proposer",
                "samples": block.propose,
                "template": PROPOSER_PROMPT.replace("{examples}", examples),
            }
        },
        "output": "propose",
    }
    pipe = Pipeline(parse_pipeline(_dump(data), f"{space.file}#instructions"), limits=limits, client=client)
    why = ledger.reserve(PROPOSE_ROW, worst_case(pipe, pq, 1), caps)
    if why is not None:
        raise ConfigurationError(f"proposing {block.propose} instructions does not fit the search budget: {why}")
    with ledger.tagged(PROPOSE_ROW):
        run = await pipe.aexecute([{"input": ""}])  # a crash leaves the reservation counted (over, never under)
    ledger.settle(PROPOSE_ROW, paid_spend(run.usage), final=True)
    texts = [c.text.strip() for item in run.items for c in item.candidates][: block.propose]
    texts += [""] * (block.propose - len(texts))
    study.set_user_attr("instructions", texts)
    return tuple(texts)
