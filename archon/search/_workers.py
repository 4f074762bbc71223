"""Workers of one study: Optuna's RDB storage with heartbeats, dead workers' trials
failed and retried, one trial per architecture (claims), and the worker processes that
``--workers N`` starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from typing import Any

from archon.errors import ConfigurationError
from archon.errors import redact
from archon.search._ledger import Ledger
from archon.search._space import SearchSpace

log = logging.getLogger("archon.search")


#: The most worker processes one ``aoptimize(workers=...)`` (``--workers``) starts.
MAX_WORKERS = 64


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
