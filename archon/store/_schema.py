"""The database schema: cached calls, runs and per-item results."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON
from sqlalchemy import DateTime
from sqlalchemy import Float
from sqlalchemy import ForeignKey
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column


class Base(DeclarativeBase):
    pass


class CallRecord(Base):
    """One paid LLM call, keyed by the hash of what was asked (never the API key)."""

    __tablename__ = "archon_calls"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    endpoint: Mapped[str] = mapped_column(String(300))
    model: Mapped[str] = mapped_column(String(300), index=True)
    sample: Mapped[int] = mapped_column(Integer)
    request: Mapped[dict[str, Any]] = mapped_column(JSON)  # messages and sampling parameters
    text: Mapped[str] = mapped_column(Text)
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cost_usd: Mapped[float] = mapped_column(Float, default=0.0)
    latency_s: Mapped[float] = mapped_column(Float, default=0.0)
    finish_reason: Mapped[str | None] = mapped_column(String(40), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class RunRecord(Base):
    __tablename__ = "archon_runs"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    pipeline: Mapped[str] = mapped_column(String(300))
    pipeline_sha: Mapped[str] = mapped_column(String(64))
    file: Mapped[str] = mapped_column(Text)
    n_items: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    usage: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    started_at: Mapped[datetime] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class ScoreRecord(Base):
    """The score of one item of an eval run (the gold answer never reaches the pipeline)."""

    __tablename__ = "archon_scores"
    run_id: Mapped[str] = mapped_column(ForeignKey("archon_runs.id"), primary_key=True)
    idx: Mapped[int] = mapped_column(Integer, primary_key=True)
    metric: Mapped[str] = mapped_column(String(200))
    gold: Mapped[Any] = mapped_column(JSON, nullable=True)
    score: Mapped[float | None] = mapped_column(Float, nullable=True)


class ItemRecord(Base):
    __tablename__ = "archon_items"
    run_id: Mapped[str] = mapped_column(ForeignKey("archon_runs.id"), primary_key=True)
    idx: Mapped[int] = mapped_column(Integer, primary_key=True)
    input: Mapped[dict[str, Any]] = mapped_column(JSON)
    output: Mapped[str | None] = mapped_column(Text, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    usage: Mapped[dict[str, Any]] = mapped_column(JSON)


class SearchSpendRecord(Base):
    """What one trial of a search may spend or has spent, shared by every worker.

    A trial reserves its worst case before each step and settles to what it paid after
    it; the search budget counts ``reserved`` of every row (``trial`` -1 is the row
    workers lock on, -2 the held-out re-score, -3 the model ranking). A killed worker's row keeps its
    reservation, so a search never counts less than it may have spent.
    """

    __tablename__ = "archon_search_spend"
    study: Mapped[str] = mapped_column(String(200), primary_key=True)
    trial: Mapped[int] = mapped_column(Integer, primary_key=True)
    worker: Mapped[str] = mapped_column(String(200), default="")
    state: Mapped[str] = mapped_column(String(20), default="open")  # open | closed | dead
    calls: Mapped[int] = mapped_column(Integer, default=0)
    tokens: Mapped[int] = mapped_column(Integer, default=0)
    usd: Mapped[float] = mapped_column(Float, default=0.0)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class SearchCallRecord(Base):
    """A call a search trial sent, tagged before it is sent: ``sent`` holds its worst case
    (what a killed worker may have been billed), ``paid`` what it cost. A dead trial's
    reservation is replaced by the sum of its rows, so a kill leaks nothing into the
    search budget and still never counts less than was spent."""

    __tablename__ = "archon_search_calls"
    study: Mapped[str] = mapped_column(String(200), primary_key=True)
    trial: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    state: Mapped[str] = mapped_column(String(10), default="sent")  # sent | paid
    tokens: Mapped[int] = mapped_column(Integer, default=0)
    usd: Mapped[float] = mapped_column(Float, default=0.0)


class SearchClaimRecord(Base):
    """Which trial evaluates an architecture (by the hash of its parameters): a worker
    that draws an architecture another live trial holds waits for that result instead of
    paying for it again."""

    __tablename__ = "archon_search_claims"
    study: Mapped[str] = mapped_column(String(200), primary_key=True)
    arch: Mapped[str] = mapped_column(String(64), primary_key=True)
    trial: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class ModelRankRecord(Base):
    """One model's dev score as a generator or a fuser (``archon rank-models``), keyed by
    the hash of what was ranked (models, dataset, metric, sample, settings)."""

    __tablename__ = "archon_model_ranks"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    role: Mapped[str] = mapped_column(String(20), primary_key=True)  # generator | fuser
    model: Mapped[str] = mapped_column(String(300), primary_key=True)
    score: Mapped[float] = mapped_column(Float)
    items: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime)


def _sqlite_ddl(table: Any) -> str:
    from sqlalchemy.dialects import sqlite
    from sqlalchemy.schema import CreateIndex
    from sqlalchemy.schema import CreateTable

    parts: list[Any] = [CreateTable(table, if_not_exists=True)]
    parts += [CreateIndex(i, if_not_exists=True) for i in sorted(table.indexes, key=lambda i: str(i.name))]
    texts = [str(p.compile(dialect=sqlite.dialect())).strip() for p in parts]
    return ";\n".join("\n".join(line.rstrip() for line in t.splitlines()) for t in texts) + ";\n"


#: The call cache's table and index in SQLite, as archon creates them: the script a
#: standalone export runs on its database (one definition of the table).
CALLS_SQLITE_DDL: str = _sqlite_ddl(CallRecord.__table__)
