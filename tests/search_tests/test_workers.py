"""Several search workers on one study: shared budget, SQLite and a real PostgreSQL,
and a worker killed with SIGKILL mid-trial (its trial is retried, its spend still counted).

The models are synthetic/ (SIMULATED), which is what makes these searches fast and seeded.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest

from archon.search import aoptimize
from archon.search import parse_space_file
from archon.search._ledger import Ledger
from archon.store import Store
from tests.conftest import children_of
from tests.search_tests.test_optimize import space_text


def _space_file(tmp_path: Path, search: str) -> Path:
    path = tmp_path / "space.yaml"
    path.write_text(space_text(search), encoding="utf-8")
    return path


def _optimize(*args: str, env: dict[str, str] | None = None, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "archon", "optimize", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def _running(study_name: str, url: str) -> list[optuna.trial.FrozenTrial] | None:
    """The study's RUNNING trials; None while the study does not exist yet (or its
    database is being created: this poll can race the leader's schema set-up)."""
    from sqlalchemy.exc import IntegrityError
    from sqlalchemy.exc import OperationalError

    try:
        study = optuna.load_study(study_name=study_name, storage=url)
    except (KeyError, IntegrityError, OperationalError):
        return None
    return [t for t in study.trials if t.state == optuna.trial.TrialState.RUNNING]


def _check_shared_search(url: str, tmp_path: Path, trials: int, budget: int) -> None:
    space = _space_file(tmp_path, f"{{calls: {budget}, trials: {trials}}}")
    done = _optimize(
        str(space),
        "--storage",
        url,
        "--workers",
        "2",
        "--json",
        "--results",
        str(tmp_path / "results"),
        env={"ARCHON_SYNTHETIC_LATENCY_S": "0.01"},  # trials long enough for both workers to take some
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    study = optuna.load_study(study_name="synthetic-demo", storage=url)
    finished = [t for t in study.trials if t.state.is_finished() and t.user_attrs.get("state") != "repeat"]
    workers = {t.user_attrs.get("worker") for t in finished if "worker" in t.user_attrs}
    assert len(workers) == 2, workers  # both processes ran trials of the one study
    # the trial budget can be overshot only by a race between the two workers' last asks
    assert trials <= len(finished) <= trials + 1
    store = Store(url)
    try:
        spent = Ledger(store, "synthetic-demo", "test").spent()
        # two workers may both pay for one call they asked at once; the ledger counts both
        assert store.count_calls() <= spent.calls == out["paid_calls"] <= budget
    finally:
        store.close()
    assert out["best"] is not None and (tmp_path / "results" / "synthetic-demo" / "best.yaml").exists()


def test_two_workers_share_a_study_and_its_budget_on_sqlite(tmp_path: Path) -> None:
    _check_shared_search(f"sqlite:///{tmp_path / 'search.db'}", tmp_path, trials=14, budget=20000)


def test_two_workers_share_a_study_on_postgresql(postgres_url: str, tmp_path: Path) -> None:
    _check_shared_search(postgres_url, tmp_path, trials=10, budget=20000)


def test_call_budget_holds_across_workers(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'search.db'}"
    space = _space_file(tmp_path, "{calls: 2500}")
    done = _optimize(str(space), "--db", url, "--workers", "3", "--json", "--results", str(tmp_path))
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert "search budget" in out["stopped_because"]
    store = Store(url)
    try:
        assert store.count_calls() <= out["paid_calls"] <= 2500
    finally:
        store.close()


async def test_a_killed_workers_trial_is_retried_and_its_spend_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'search.db'}"
    space_path = _space_file(tmp_path, "{calls: 30000, trials: 3}")
    worker = subprocess.Popen(
        [sys.executable, "-m", "archon", "optimize", str(space_path), "--db", url, "--study", "kill"]
        + ["--join", "--heartbeat", "1", "--json"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "ARCHON_SYNTHETIC_LATENCY_S": "1"},  # each wave of calls takes a second
        start_new_session=True,
    )
    store = Store(url)
    try:
        deadline = time.monotonic() + 120
        running: list[optuna.trial.FrozenTrial] = []
        while time.monotonic() < deadline:  # wait until it is in the middle of a trial that has paid calls
            time.sleep(0.3)
            running = _running("kill", url) or []
            if running and store.count_calls() > 0:
                break
        assert worker.poll() is None, worker.stderr.read() if worker.stderr else ""
        assert running, "the worker never started a trial"
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()
        killed = running[0]
        paid_by_killed = store.count_calls()
        time.sleep(3.5)  # past the grace period (3 heartbeats)
        monkeypatch.setenv("ARCHON_SYNTHETIC_LATENCY_S", "0")
        result = await aoptimize(
            parse_space_file(space_path), db=url, study_name="kill", results_dir=None, heartbeat_s=1
        )
        rows = {r["trial"]: r for r in Ledger(store, "kill", "test").rows()}
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
        store.close()
    states = {t.number: t.state for t in result.trials}
    assert states[killed.number] == "failed"
    study = optuna.load_study(study_name="kill", storage=url)
    retries = [t for t in study.trials if t.system_attrs.get("failed_trial") == killed.number]
    assert len(retries) == 1 and retries[0].params == killed.params
    retry = next(t for t in result.trials if t.number == retries[0].number)
    assert retry.state in ("complete", "pruned")
    assert retry.cached_calls >= paid_by_killed > 0  # what the killed worker paid came back from the cache
    assert rows[killed.number]["state"] == "dead" and rows[killed.number]["calls"] >= paid_by_killed
    assert len([t for t in result.trials if t.state not in ("failed", "repeat")]) == 3


async def test_resume_after_the_search_itself_is_killed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'search.db'}"
    space_path = _space_file(tmp_path, "{calls: 30000, trials: 5}")
    proc = subprocess.Popen(
        [sys.executable, "-m", "archon", "optimize", str(space_path), "--db", url, "--heartbeat", "1", "--json"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "ARCHON_SYNTHETIC_LATENCY_S": "0.3"},
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        finished: list[optuna.trial.FrozenTrial] = []
        while time.monotonic() < deadline:  # kill it once a trial is finished and another is running
            time.sleep(0.3)
            try:
                trials = optuna.load_study(study_name="synthetic-demo", storage=url).trials
            except KeyError:
                continue
            finished = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
            if finished and any(t.state == optuna.trial.TrialState.RUNNING for t in trials):
                break
        assert proc.poll() is None and finished
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    time.sleep(3.5)
    monkeypatch.setenv("ARCHON_SYNTHETIC_LATENCY_S", "0")
    result = await aoptimize(parse_space_file(space_path), db=url, results_dir=None, heartbeat_s=1)
    by_number = {t.number: t for t in result.trials}
    for t in finished:  # finished trials are kept as they were, not re-run
        assert by_number[t.number].state == "complete" and by_number[t.number].score == t.user_attrs["score"]
    assert any(t.state == "failed" for t in result.trials)  # the trial the kill interrupted, retried
    assert len([t for t in result.trials if t.state not in ("failed", "repeat")]) == 5
    assert result.best is not None and result.paid_calls <= 30000


def _four_workers(url: str, tmp_path: Path, strategy: str) -> None:
    # a small space (generator x n in 1..3 x rank x reducer) so that 4 workers draw the same
    # architectures often: each is evaluated by one trial, the others wait for its result
    space = tmp_path / "space.yaml"
    space.write_text(space_text("{calls: 60000, trials: 14}", strategy, n_high=3), encoding="utf-8")
    done = _optimize(
        str(space),
        "--db",
        url,
        "--workers",
        "4",
        "--json",
        "--results",
        str(tmp_path / "results"),
        env={"ARCHON_SYNTHETIC_LATENCY_S": "0.02"},
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    study = optuna.load_study(study_name="synthetic-demo", storage=url)
    evaluated = [t for t in study.trials if t.state.is_finished() and t.user_attrs.get("state") not in ("repeat", None)]
    workers = {t.user_attrs.get("worker") for t in evaluated}
    assert len(workers) >= 2, workers
    archs = [json.dumps(t.user_attrs["values"], sort_keys=True) for t in evaluated]
    assert len(archs) == len(set(archs)), sorted(archs)  # no architecture paid for twice
    repeats = [t for t in study.trials if t.user_attrs.get("state") == "repeat"]
    assert all(t.user_attrs.get("reason", "").startswith("= trial") for t in repeats)


@pytest.mark.timeout(700)
@pytest.mark.parametrize("strategy", ["random", "greedy"])
def test_four_workers_evaluate_no_architecture_twice_on_sqlite(tmp_path: Path, strategy: str) -> None:
    _four_workers(f"sqlite:///{tmp_path / 'search.db'}", tmp_path, strategy)


@pytest.mark.timeout(700)
def test_four_workers_evaluate_no_architecture_twice_on_postgresql(postgres_url: str, tmp_path: Path) -> None:
    _four_workers(postgres_url, tmp_path, "random")


@pytest.mark.timeout(600)
def test_a_killed_worker_does_not_sink_the_leader(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'search.db'}"
    space = _space_file(tmp_path, "{calls: 60000, trials: 8}")
    leader = subprocess.Popen(
        [sys.executable, "-m", "archon", "optimize", str(space), "--db", url, "--workers", "3", "--json"]
        + ["--heartbeat", "1", "--results", str(tmp_path / "results")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "ARCHON_SYNTHETIC_LATENCY_S": "0.3"},
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        killed = None
        while time.monotonic() < deadline and killed is None and leader.poll() is None:
            time.sleep(0.3)
            mine = {t.user_attrs.get("worker", "") for t in _running("synthetic-demo", url) or []}
            for child in children_of(leader.pid):  # a worker in the middle of a trial
                if any(w.endswith(f":{child}") for w in mine):
                    os.kill(child, signal.SIGKILL)
                    killed = child
                    break
        assert killed is not None, "no worker was caught mid-trial"
        out, err = leader.communicate(timeout=400)
    finally:
        if leader.poll() is None:
            os.killpg(leader.pid, signal.SIGKILL)
    assert leader.returncode == 0, err
    assert f"search worker {killed} was killed (SIGKILL)" in err
    result = json.loads(out)
    assert result["best"] is not None and (tmp_path / "results" / "synthetic-demo" / "best.yaml").exists()
    study = optuna.load_study(study_name="synthetic-demo", storage=url)
    assert not [t for t in study.trials if t.state == optuna.trial.TrialState.RUNNING]
    evaluated = [t for t in study.trials if t.user_attrs.get("state") not in ("repeat", None) and t.state.is_finished()]
    assert len(evaluated) >= 8  # the trial budget was met, the killed trial retried or replaced
