"""What ``archon serve`` serves: pipelines by model name, requests batched into waves,
and a router that moves between a study's Pareto points under load.

A *target* is one pipeline behind one model name. Requests that arrive together (within
``batch_ms``) run as one :func:`archon.execute.execute` call, so a batched backend (vLLM,
a remote API's concurrency) sees every request's calls of a wave at once. Each request
keeps its own per-query budget and can be cancelled alone (its client went away).
"""

from __future__ import annotations

import asyncio
import csv
import json
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

from archon._pipeline import Pipeline
from archon._pipeline import load
from archon._typing import Query
from archon.backends import Limits
from archon.backends import ModelClient
from archon.errors import ConfigurationError
from archon.execute import ItemResult
from archon.execute import execute
from archon.execute import static_check
from archon.store import Store


@dataclass
class _Job:
    query: Query
    limits: Limits
    future: asyncio.Future[ItemResult]
    gone: str | None = None  # why the client no longer waits


@dataclass
class Target:
    """One pipeline served under ``name``; ``score`` and ``cost`` (dev score, cost per
    query) are known for a study's points and order them for the router."""

    name: str
    pipeline: Pipeline
    score: float | None = None
    cost: float | None = None
    batch_ms: float = 5.0
    max_batch: int = 64
    _pending: list[_Job] = field(default_factory=list)
    _wake: asyncio.Event | None = None
    _loop_task: asyncio.Task[None] | None = None
    _running: set[asyncio.Task[None]] = field(default_factory=set)

    def check_budget(self, limits: Limits) -> None:
        """Refuses a per-request budget below the plan's worst case, before any call."""
        p = self.pipeline
        static_check(p.plan, p.limits.merged(limits), p.client)

    async def submit(self, query: Query, limits: Limits) -> _Job:
        job = _Job(query, limits, asyncio.get_running_loop().create_future())
        self._pending.append(job)
        if self._wake is None:
            self._wake = asyncio.Event()
        if self._loop_task is None or self._loop_task.done():
            self._loop_task = asyncio.create_task(self._collect())
        self._wake.set()
        return job

    async def _collect(self) -> None:
        assert self._wake is not None
        while True:
            await self._wake.wait()
            self._wake.clear()
            await asyncio.sleep(self.batch_ms / 1000)  # let requests that arrive together join
            while self._pending:
                batch, self._pending = self._pending[: self.max_batch], self._pending[self.max_batch :]
                task = asyncio.create_task(self._run(batch))
                self._running.add(task)
                task.add_done_callback(self._running.discard)

    async def _run(self, batch: list[_Job]) -> None:
        p = self.pipeline
        try:
            result = await execute(
                p.plan,
                [j.query for j in batch],
                p.client,
                p.ops,
                limits=p.limits,
                sandbox=p.sandbox,
                pipeline_text=p.text,
                item_limits=[j.limits for j in batch],
                cancelled=lambda i: batch[i].gone,
            )
        except BaseException as exc:  # a configuration error, or shutdown: every job learns it
            for j in batch:
                if not j.future.done():
                    j.future.set_exception(exc if isinstance(exc, Exception) else ConfigurationError("shut down"))
            if not isinstance(exc, Exception):
                raise
            return
        for j, item in zip(batch, result.items, strict=True):
            if not j.future.done():
                j.future.set_result(item)

    async def drain(self) -> None:
        """Waits for the batches in flight (graceful shutdown)."""
        if self._running:
            await asyncio.gather(*self._running, return_exceptions=True)


class Router:
    """Load-adaptive switching between a study's Pareto points (best first). While the
    observed p95 latency of recent requests or the queue says the SLO is at risk, new
    requests go to the next cheaper point; when both are well below, back toward the best.

    The rule, evaluated on each request: *at risk* when p95 > ``0.8 × slo`` or the
    queue holds more than ``queue_high`` requests; *calm* when p95 (of at least 5 requests
    since the last move) < ``0.4 × slo`` and the queue is empty. At risk steps one point
    cheaper, calm one point better, at most once per ``hold_s``."""

    def __init__(self, points: Sequence[Target], slo_ms: float, *, queue_high: int = 8, hold_s: float = 1.0) -> None:
        if not points:
            raise ConfigurationError("no Pareto points to route between")
        self.points = list(points)
        self.slo_s = slo_ms / 1000
        self.queue_high = queue_high
        self.hold_s = hold_s
        self.level = 0
        self._lat: deque[float] = deque(maxlen=50)
        self._moved = 0.0

    def observe(self, seconds: float) -> None:
        self._lat.append(seconds)

    def p95(self) -> float | None:
        if len(self._lat) < 5:
            return None
        xs = sorted(self._lat)
        return xs[min(len(xs) - 1, int(0.95 * len(xs)))]

    def pick(self, queued: int) -> Target:
        now = time.monotonic()
        p95 = self.p95()
        if now - self._moved >= self.hold_s:
            risk = queued > self.queue_high or (p95 is not None and p95 > 0.8 * self.slo_s)
            calm = queued == 0 and p95 is not None and p95 < 0.4 * self.slo_s
            if risk and self.level < len(self.points) - 1:
                self.level += 1
                self._moved = now
                self._lat.clear()  # judge the new point on its own latencies
            elif calm and self.level > 0:
                self.level -= 1
                self._moved = now
                self._lat.clear()
        return self.points[self.level]


def _study_points(study: Path) -> list[tuple[str, Path, float | None, float | None]]:
    """(label, pipeline file, dev score, cost) of a finished search's best and Pareto points."""
    summary_path = study / "summary.json"
    if not summary_path.is_file():
        raise ConfigurationError(
            f"{study}: not a finished search (no summary.json) — pass a pipeline YAML or a study folder"
        )
    try:
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"{summary_path}: unreadable ({exc}) — re-run archon optimize") from None
    scores: dict[int, tuple[float | None, float | None]] = {}
    trials = study / "trials.csv"
    if trials.is_file():
        with trials.open(encoding="utf-8") as f:
            for row in csv.DictReader(f):
                try:
                    scores[int(row["trial"])] = (
                        float(row["score"]) if row["score"] else None,
                        float(row["cost"]) if row["cost"] else None,
                    )
                except (KeyError, ValueError):
                    continue
    out = []
    best = summary.get("best") or {}
    if (study / "best.yaml").is_file():
        out.append(("best", study / "best.yaml", best.get("score"), best.get("cost")))
    for n in summary.get("pareto") or []:
        path = study / "pareto" / f"trial-{n}.yaml"
        if path.is_file():
            s, c = scores.get(int(n), (None, None))
            out.append((f"trial-{n}", path, s, c))
    if not out:
        raise ConfigurationError(f"{study}: the search found no complete trial to serve")
    return out


@dataclass
class Served:
    """Everything one server serves: targets by model name, study routers, one client."""

    targets: dict[str, Target]
    routers: dict[str, Router]
    store: Store
    client: ModelClient

    async def aclose(self) -> None:
        for t in self.targets.values():
            await t.drain()
        await self.client.aclose()
        self.store.close()


def load_served(
    sources: Sequence[str | Path], *, db: str | None, slo_ms: float | None = None, batch_ms: float = 5.0
) -> Served:
    """Loads each pipeline YAML (served under its ``name``) and each study folder (served
    as ``<study>/best``, ``<study>/cheapest``, ``<study>/trial-N`` and, with an SLO,
    ``<study>/auto``), all on one client and one cache."""
    store = Store(db)
    client = ModelClient(store)
    targets: dict[str, Target] = {}
    routers: dict[str, Router] = {}

    def add(path: Path, name: str | None = None, score: float | None = None, cost: float | None = None) -> Target:
        pipe = load(path, db=db, client=client)
        name = name or pipe.spec.name or path.stem  # a pipeline file serves under its name:
        if name in targets:
            raise ConfigurationError(f"{path}: model name '{name}' is served twice — give the pipelines distinct names")
        t = Target(name, pipe, score, cost, batch_ms=batch_ms)
        targets[name] = t
        return t

    try:
        for src in sources:
            path = Path(src)
            if path.is_dir():
                study = path.name
                points = [add(p, f"{study}/{label}", s, c) for label, p, s, c in _study_points(path)]
                front = sorted(
                    (t for t in points if not t.name.endswith("/best")),
                    key=lambda t: (-(t.score if t.score is not None else -1.0), t.cost or 0.0),
                )
                if front:
                    cheapest = min(
                        front, key=lambda t: (t.cost if t.cost is not None else float("inf"), -(t.score or 0))
                    )
                    targets[f"{study}/cheapest"] = cheapest
                    if slo_ms is not None:
                        routers[f"{study}/auto"] = Router(front, slo_ms)
            else:
                add(path)
    except BaseException:
        asyncio.run(client.aclose())
        store.close()
        raise
    for t in {id(t): t for t in targets.values()}.values():  # 'cheapest' is another point's second name
        t.pipeline.client.check(t.pipeline.plan.models)  # keys and models, before the first request
    return Served(targets, routers, store, client)
