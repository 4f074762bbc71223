"""kill -9 a search mid-loop, resume it: the same trials and best as an unkilled run, and
no paid call made twice."""

from __future__ import annotations

import csv
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.search_tests.test_optimize import space_text


def _optimize(space: Path, db: Path, results: Path) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-m", "archon", "optimize", str(space), "--db", f"sqlite:///{db}"]
    cmd += [
        "--results",
        str(results),
        "--json",
        "--heartbeat",
        "3",
    ]  # grace 9 s: a loaded CI machine does not stall a live trial
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


def _complete(db: Path) -> int:
    try:
        with sqlite3.connect(db, timeout=5) as c:
            return int(c.execute("select count(*) from trials where state = 'COMPLETE'").fetchone()[0])
    except sqlite3.Error:
        return 0


def _calls(db: Path) -> int:
    with sqlite3.connect(db) as c:
        return int(c.execute("select count(*) from archon_calls").fetchone()[0])


def _trials(results: Path) -> list[str]:
    """The architectures completed, in order (a killed trial's retry in its place)."""
    with (results / "synthetic-demo" / "trials.csv").open() as f:
        rows = list(csv.DictReader(f))
    skip = {"trial", "state", "score", "ci_low", "ci_high", "cost", "calls_per_query", "paid_calls", "cached_calls"}
    return [
        json.dumps({k: v for k, v in r.items() if k not in skip | {"reason"}}, sort_keys=True)
        for r in rows
        if r["state"] == "complete"
    ]


@pytest.mark.timeout(600)
@pytest.mark.parametrize("strategy", ["tpe", "greedy"])
@pytest.mark.parametrize("kill_after", [2, 5])
def test_kill_9_then_resume_ends_where_an_unkilled_run_does(tmp_path: Path, strategy: str, kill_after: int) -> None:
    space = tmp_path / "space.yaml"
    space.write_text(space_text("{calls: 200000, trials: 10}", strategy, n_high=8))
    clean = _optimize(space, tmp_path / "clean.db", tmp_path / "r1")
    out, err = clean.communicate(timeout=500)
    assert clean.returncode == 0, err
    want = json.loads(out)

    db = tmp_path / "killed.db"
    proc = _optimize(space, db, tmp_path / "r2")
    deadline = time.monotonic() + 300
    while _complete(db) < kill_after and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "the search ended before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    resumed = _optimize(space, db, tmp_path / "r2")
    out, err = resumed.communicate(timeout=500)
    assert resumed.returncode == 0, err
    got = json.loads(out)
    assert _trials(tmp_path / "r2") == _trials(tmp_path / "r1")
    assert got["best"]["params"] == want["best"]["params"]
    assert _calls(db) == _calls(tmp_path / "clean.db")  # no call paid twice, none lost
    with sqlite3.connect(db) as c:
        assert c.execute("select count(*) from trials where state = 'RUNNING'").fetchone()[0] == 0
    # no leaked reservation: the search budget holds every paid call, plus the worst case
    # of calls the killed process sent and never saw answered — not its whole reservation
    for path in (db, tmp_path / "clean.db"):
        with sqlite3.connect(path) as c:
            counted = c.execute("select sum(calls) from archon_search_spend where trial != -1").fetchone()[0]
            unanswered = c.execute("select count(*) from archon_search_calls where state = 'sent'").fetchone()[0]
            assert not c.execute("select count(*) from archon_search_spend where state = 'open'").fetchone()[0]
        assert counted == _calls(path) + unanswered, (path, counted, _calls(path), unanswered)
        # at most what was in flight at the kill — the synthetic backend's concurrency, 256
        # (before tagging, the whole open reservation stayed counted); 0 for the clean run
        assert unanswered <= (256 if path == db else 0)
