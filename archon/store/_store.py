"""Store: one SQLAlchemy database for the call cache, runs and item results.

All database work runs on one worker thread so the event loop never blocks. Writes
and cache look-ups that arrive together are grouped into one transaction/query; a
caller awaiting :meth:`Store.put_call` resumes only after its row is committed, so a
crash never loses a paid call.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import uuid
from collections.abc import Callable
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from datetime import UTC
from datetime import datetime
from pathlib import Path
from typing import Any
from typing import TypeVar

from sqlalchemy import create_engine
from sqlalchemy import event
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import ArgumentError
from sqlalchemy.exc import DatabaseError
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from archon.errors import ConfigurationError
from archon.store._schema import Base
from archon.store._schema import CallRecord
from archon.store._schema import ItemRecord
from archon.store._schema import RunRecord
from archon.store._schema import ScoreRecord
from archon.store._schema import SearchCallRecord

log = logging.getLogger("archon.store")
T = TypeVar("T")

#: Who pays the calls made in this context: ``(study, trial)`` of a search trial, else
#: None. A tagged call is recorded as sent before it is sent and as paid once it is, so a
#: killed trial's spend can be read back exactly (see ``SearchCallRecord``).
call_tag: ContextVar[tuple[str, int] | None] = ContextVar("archon_call_tag", default=None)


def default_db_url() -> str:
    """``sqlite:///<user cache dir>/archon/archon.db``."""
    from platformdirs import user_cache_dir

    path = Path(user_cache_dir("archon")) / "archon.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def resolve_db_url(url: str | None = None) -> str:
    """The one reading of where archon's database is: ``url`` (a ``--db`` value), else
    ``$ARCHON_DB``, else :func:`default_db_url`. A value without ``://`` is a SQLite
    file path (``~`` expanded, made absolute).

    Example:
        >>> resolve_db_url("sqlite:///x.db"), resolve_db_url("/tmp/a.db")
        ('sqlite:///x.db', 'sqlite:////tmp/a.db')
    """
    value = url or os.environ.get("ARCHON_DB") or None
    if value is None:
        return default_db_url()
    if "://" not in value:
        return f"sqlite:///{Path(value).expanduser().resolve()}"
    return value


def utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Store:
    """The database behind a run. Use as ``async with`` or call :meth:`close`."""

    def __init__(self, url: str | None = None) -> None:
        self.url = resolve_db_url(url)
        try:
            self.engine: Engine = create_engine(self.url, future=True)
        except (ArgumentError, ImportError, ValueError) as exc:
            raise ConfigurationError(
                f"bad database URL {self._safe_url()}: {exc} — give a SQLAlchemy URL "
                "(sqlite:///path.db, postgresql://host/db) or a file path"
            ) from None
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
            db_file = self.engine.url.database
            if db_file and db_file != ":memory:" and not db_file.startswith("file:"):
                Path(db_file).expanduser().parent.mkdir(parents=True, exist_ok=True)  # a new file in a new folder
        try:
            Base.metadata.create_all(self.engine)
        except OperationalError as exc:
            raise ConfigurationError(f"cannot open database {self._safe_url()}: {exc.orig}") from None
        except DatabaseError as exc:  # e.g. a file that is not a SQLite database
            raise ConfigurationError(
                f"cannot use database {self._safe_url()}: {exc.orig} — give --db a new path or an archon database"
            ) from None
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="archon-store")
        self._pending_puts: list[tuple[dict[str, Any], asyncio.Future[None]]] = []
        self._pending_gets: list[tuple[str, asyncio.Future[CallRecord | None]]] = []
        self._pending_sent: list[tuple[dict[str, Any], asyncio.Future[None]]] = []
        self._flush_scheduled = False
        self._tasks: set[asyncio.Task[None]] = set()

    def _safe_url(self) -> str:
        try:
            from sqlalchemy.engine import make_url

            return make_url(self.url).render_as_string(hide_password=True)
        except Exception:  # not parseable: shown without anything between // and @
            return re.sub(r"//[^/@]*@", "//***@", self.url)

    # -- the call cache -------------------------------------------------------------
    async def get_call(self, key: str) -> CallRecord | None:
        fut: asyncio.Future[CallRecord | None] = asyncio.get_running_loop().create_future()
        self._pending_gets.append((key, fut))
        self._schedule()
        return await fut

    async def put_call(self, row: dict[str, Any]) -> None:
        """Commits one paid call; returns once it is durable."""
        await self._durable(self._pending_puts, row)

    async def put_sent(self, tag: tuple[str, int], key: str, tokens: int, usd: float) -> None:
        """Records, durably, that trial ``tag`` is about to send call ``key`` whose worst
        case is ``tokens`` and ``usd``."""
        row = {"study": tag[0], "trial": tag[1], "key": key, "state": "sent", "tokens": tokens, "usd": usd}
        await self._durable(self._pending_sent, row)

    async def _durable(self, queue: list[tuple[dict[str, Any], asyncio.Future[None]]], row: dict[str, Any]) -> None:
        """Queues a row for the next grouped write and returns once it is committed."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        queue.append((row, fut))
        self._schedule()
        await fut

    def _schedule(self) -> None:
        if not self._flush_scheduled:
            self._flush_scheduled = True
            loop = asyncio.get_running_loop()
            loop.call_soon(lambda: self._tasks.add(loop.create_task(self._flush())))

    async def _flush(self) -> None:
        self._tasks = {t for t in self._tasks if not t.done()}
        self._flush_scheduled = False
        puts, self._pending_puts = self._pending_puts, []
        gets, self._pending_gets = self._pending_gets, []
        sent, self._pending_sent = self._pending_sent, []
        if sent:
            await self._settle(sent, self._write_sent)
        if puts:
            await self._settle(puts, self._write_calls)
        if gets:
            await self._settle(gets, self._read_calls)

    async def _settle(self, batch: list[tuple[Any, asyncio.Future[Any]]], work: Callable[[list[Any]], Any]) -> None:
        """Runs ``work`` on the batch in the database thread and resolves each waiter."""
        try:
            found = await asyncio.get_running_loop().run_in_executor(self._pool, work, [k for k, _ in batch])
        except Exception as exc:
            for _, fut in batch:
                if not fut.done():
                    fut.set_exception(exc)
            return
        for k, fut in batch:
            if not fut.done():
                fut.set_result(found.get(k) if isinstance(found, dict) else None)

    def _upsert_ignore(self, conn: Any, table: Any, rows: list[dict[str, Any]], pk: list[str]) -> None:
        """Inserts the rows whose primary key is new; the others are left as they are."""
        dialect = self.engine.dialect.name
        if dialect in ("sqlite", "postgresql"):
            mod = __import__(f"sqlalchemy.dialects.{dialect}", fromlist=["insert"])
            conn.execute(mod.insert(table).on_conflict_do_nothing(index_elements=pk), rows)
            return
        for r in rows:
            where = [table.c[k] == r[k] for k in pk]
            if conn.execute(select(table.c[pk[0]]).where(*where)).first() is None:
                conn.execute(table.insert(), [r])

    def _write_sent(self, rows: list[dict[str, Any]]) -> None:
        with self.engine.begin() as conn:
            self._upsert_ignore(conn, SearchCallRecord.__table__, rows, ["study", "trial", "key"])

    def _write_calls(self, rows: list[dict[str, Any]]) -> None:
        table: Any = CallRecord.__table__
        now = utc_now()
        tags = [(r.pop("_tag"), r) for r in rows if r.get("_tag") is not None]
        for r in rows:
            r.pop("_tag", None)
        unique = list({r["key"]: {**r, "created_at": now} for r in rows}.values())
        with self.engine.begin() as conn:
            self._upsert_ignore(conn, table, unique, ["key"])
            tagged: Any = SearchCallRecord.__table__
            for (study, trial), r in tags:  # the same transaction: paid and recorded as paid at once
                tokens = int(r.get("prompt_tokens", 0)) + int(r.get("completion_tokens", 0))
                row = {"study": study, "trial": trial, "key": r["key"], "state": "paid", "tokens": tokens}
                row["usd"] = float(r.get("cost_usd", 0.0))
                hit = conn.execute(
                    update(tagged)
                    .where(tagged.c.study == study, tagged.c.trial == trial, tagged.c.key == r["key"])
                    .values(state="paid", tokens=row["tokens"], usd=row["usd"])
                ).rowcount
                if not hit:
                    conn.execute(tagged.insert(), [row])

    def _read_calls(self, keys: list[str]) -> dict[str, CallRecord]:
        keys = sorted(set(keys))
        out: dict[str, CallRecord] = {}
        with Session(self.engine, expire_on_commit=False) as session:
            for i in range(0, len(keys), 500):
                chunk = keys[i : i + 500]
                for rec in session.scalars(select(CallRecord).where(CallRecord.key.in_(chunk))):
                    session.expunge(rec)
                    out[rec.key] = rec
        return out

    # -- runs and items -----------------------------------------------------------
    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    async def start_run(self, pipeline: str, sha: str, file: str, n_items: int) -> str:
        run_id = uuid.uuid4().hex

        def write() -> None:
            with Session(self.engine) as session, session.begin():
                session.add(
                    RunRecord(
                        id=run_id,
                        pipeline=pipeline,
                        pipeline_sha=sha,
                        file=file,
                        n_items=n_items,
                        status="running",
                        started_at=utc_now(),
                    )
                )

        await self._run(write)
        return run_id

    async def put_items(self, run_id: str, items: Iterable[dict[str, Any]]) -> None:
        rows = list(items)

        def write() -> None:
            with Session(self.engine) as session, session.begin():
                for r in rows:
                    session.merge(ItemRecord(run_id=run_id, **r))

        await self._run(write)

    async def put_scores(self, run_id: str, metric: str, rows: Iterable[dict[str, Any]]) -> None:
        data = list(rows)

        def write() -> None:
            with Session(self.engine) as session, session.begin():
                for r in data:
                    session.merge(ScoreRecord(run_id=run_id, metric=metric, **r))

        await self._run(write)

    def scores(self, run_id: str) -> list[ScoreRecord]:
        with Session(self.engine, expire_on_commit=False) as session:
            q = select(ScoreRecord).where(ScoreRecord.run_id == run_id).order_by(ScoreRecord.idx)
            out = list(session.scalars(q))
            session.expunge_all()
            return out

    async def finish_run(self, run_id: str, status: str, usage: dict[str, Any]) -> None:
        def write() -> None:
            with Session(self.engine) as session, session.begin():
                session.execute(
                    update(RunRecord)
                    .where(RunRecord.id == run_id)
                    .values(status=status, usage=usage, finished_at=utc_now())
                )

        await self._run(write)

    def runs(self) -> list[RunRecord]:
        with Session(self.engine, expire_on_commit=False) as session:
            out = list(session.scalars(select(RunRecord).order_by(RunRecord.started_at)))
            session.expunge_all()
            return out

    def items(self, run_id: str) -> list[ItemRecord]:
        with Session(self.engine, expire_on_commit=False) as session:
            out = list(session.scalars(select(ItemRecord).where(ItemRecord.run_id == run_id).order_by(ItemRecord.idx)))
            session.expunge_all()
            return out

    def count_calls(self) -> int:
        from sqlalchemy import func

        with Session(self.engine) as session:
            return int(session.scalar(select(func.count()).select_from(CallRecord)) or 0)

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self.engine.dispose()


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()
