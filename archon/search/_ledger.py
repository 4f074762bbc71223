"""The search budget, shared through the database by every worker of a study.

Before a step (a rung of a trial, the held-out re-score) a worker reserves the step's
worst case; the reservation succeeds only if every capped dimension (calls, tokens,
dollars) still fits, checked and written in one transaction while holding the study's
lock row — an ``UPDATE`` of one row, which serializes writers on SQLite and PostgreSQL
alike. After the step the row is settled to what was really paid.

Every call a step sends is tagged with its row (``archon.store.call_tag``): on record as
sent, with its worst case, before it goes out, and as paid, with its cost, in the same
transaction that caches it. A worker killed mid-step leaves its reservation open; when
the trial is found dead its row is replaced by what its tags say — paid calls at their
cost, calls sent but never answered at their worst case — so a kill leaks no
reservation and the sum still never counts less than was spent.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from typing import TypeVar

from sqlalchemy import Table
from sqlalchemy import func
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.exc import OperationalError

from archon.backends import Limits
from archon.store import SearchCallRecord
from archon.store import SearchClaimRecord
from archon.store import SearchSpendRecord
from archon.store import Store
from archon.store import call_tag
from archon.store import utc_now

LOCK_ROW = -1
TEST_ROW = -2
RANK_ROW = -3
BASE_ROW = -4  # the baseline on dev
PROPOSE_ROW = -5  # instructions written by the proposer model
_T: Table = SearchSpendRecord.__table__  # type: ignore[assignment]
_C: Table = SearchCallRecord.__table__  # type: ignore[assignment]
_A: Table = SearchClaimRecord.__table__  # type: ignore[assignment]
T = TypeVar("T")


@dataclass(frozen=True)
class Spend:
    """Calls, tokens (prompt + completion) and dollars."""

    calls: int = 0
    tokens: int = 0
    usd: float = 0.0

    def __add__(self, other: Spend) -> Spend:
        return Spend(self.calls + other.calls, self.tokens + other.tokens, self.usd + other.usd)

    def kept_from(self, caps: Limits) -> Limits:
        """``caps`` less this spend, kept back for later (an absent cap stays absent)."""
        return Limits(
            None if caps.calls is None else caps.calls - self.calls,
            None if caps.tokens is None else caps.tokens - self.tokens,
            None if caps.usd is None else caps.usd - self.usd,
        )

    def over(self, caps: Limits) -> str | None:
        """The first cap this spend is over, described; None if within every cap."""
        if caps.calls is not None and self.calls > caps.calls:
            return f"{self.calls} calls > {caps.calls}"
        if caps.tokens is not None and self.tokens > caps.tokens:
            return f"{self.tokens} tokens > {caps.tokens}"
        if caps.usd is not None and self.usd > caps.usd + 1e-12:
            return f"${self.usd:.4f} > ${caps.usd:.4f}"
        return None


class Ledger:
    """Reservations and spend of one study (see the module docstring)."""

    def __init__(self, store: Store, study: str, worker: str) -> None:
        self.engine = store.engine
        self.study = study
        self.worker = worker  # the lock row is made by the first write (_locked)

    def _locked(self, work: Callable[[Connection], T]) -> T:
        """Runs ``work`` in one transaction that holds the study's lock row; retried
        whole when SQLite reports a busy snapshot or two workers create the lock row."""
        for attempt in range(300):
            try:
                with self.engine.begin() as conn:
                    hit = conn.execute(
                        update(_T).where(_T.c.study == self.study, _T.c.trial == LOCK_ROW).values(updated_at=utc_now())
                    ).rowcount
                    if not hit:
                        conn.execute(insert(_T).values(**self._row(LOCK_ROW, Spend(), "lock")))
                    return work(conn)
            except (OperationalError, IntegrityError):
                if attempt == 299:
                    raise
                time.sleep(0.02 + 0.01 * (attempt % 10))
        raise AssertionError("unreachable")

    def _row(self, trial: int, s: Spend, state: str) -> dict[str, Any]:
        return {
            "study": self.study,
            "trial": trial,
            "worker": self.worker,
            "state": state,
            "calls": s.calls,
            "tokens": s.tokens,
            "usd": s.usd,
            "updated_at": utc_now(),
        }

    def _sum(self, conn: Connection) -> Spend:
        row = conn.execute(
            select(func.coalesce(func.sum(_T.c.calls), 0), func.coalesce(func.sum(_T.c.tokens), 0), func.sum(_T.c.usd))
            .where(_T.c.study == self.study)
            .where(_T.c.trial != LOCK_ROW)
        ).one()
        return Spend(int(row[0]), int(row[1]), float(row[2] or 0.0))

    def spent(self) -> Spend:
        """Settled spend plus open (and dead workers') reservations."""
        with self.engine.connect() as conn:
            return self._sum(conn)

    def reserve(self, trial: int, want: Spend, caps: Limits) -> str | None:
        """Adds ``want`` to the trial's reservation if every cap still fits.

        Returns None when reserved, else why not (nothing is written)."""

        def work(conn: Connection) -> str | None:
            total = self._sum(conn) + want
            why = total.over(caps)
            if why is not None:
                return why
            old = conn.execute(
                select(_T.c.calls, _T.c.tokens, _T.c.usd).where(_T.c.study == self.study, _T.c.trial == trial)
            ).one_or_none()
            if old is None:
                conn.execute(insert(_T).values(**self._row(trial, want, "open")))
            else:
                now = Spend(int(old[0]), int(old[1]), float(old[2])) + want
                conn.execute(
                    update(_T)
                    .where(_T.c.study == self.study, _T.c.trial == trial)
                    .values(**self._row(trial, now, "open"))
                )
            return None

        return self._locked(work)

    @contextlib.contextmanager
    def tagged(self, trial: int) -> Iterator[None]:
        """Calls made inside (and in tasks started inside) are tagged with ``trial``'s row."""
        token = call_tag.set((self.study, trial))
        try:
            yield
        finally:
            call_tag.reset(token)

    def _tagged(self, conn: Connection, trial: int) -> Spend:
        """What the trial's tagged calls cost: paid ones at their cost, those never
        answered at their worst case."""
        row = conn.execute(
            select(func.count(), func.coalesce(func.sum(_C.c.tokens), 0), func.sum(_C.c.usd)).where(
                _C.c.study == self.study, _C.c.trial == trial
            )
        ).one()
        return Spend(int(row[0]), int(row[1]), float(row[2] or 0.0))

    def settle(self, trial: int, paid: Spend, *, final: bool) -> None:
        """Replaces the trial's reservation by what it has paid so far: ``paid`` as this
        process counted it, or what the row's tagged calls say if that is more (calls a
        killed process paid for the same row before a resume; calls that never got an
        answer, at their worst case)."""

        def work(conn: Connection) -> None:
            t = self._tagged(conn, trial)
            now = Spend(max(paid.calls, t.calls), max(paid.tokens, t.tokens), max(paid.usd, t.usd))
            conn.execute(
                update(_T)
                .where(_T.c.study == self.study, _T.c.trial == trial)
                .values(**self._row(trial, now, "closed" if final else "open"))
            )

        self._locked(work)

    def mark_dead(self, trials: set[int]) -> None:
        """Rows whose worker died mid-step: the open reservation is replaced by what the
        row's tagged calls paid, plus the worst case of those sent and never answered."""
        if not trials:
            return

        def work(conn: Connection) -> None:
            open_ = conn.execute(
                select(_T.c.trial).where(_T.c.study == self.study, _T.c.trial.in_(sorted(trials)), _T.c.state == "open")
            ).scalars()
            for trial in list(open_):
                spent = self._tagged(conn, trial)
                conn.execute(
                    update(_T)
                    .where(_T.c.study == self.study, _T.c.trial == trial)
                    .values(calls=spent.calls, tokens=spent.tokens, usd=spent.usd, state="dead", updated_at=utc_now())
                )

        self._locked(work)

    def take(self, trial: int) -> bool:
        """Makes this worker the one that runs ``trial``: False when another worker
        already has. Optuna hands a queued (WAITING) trial to one ``ask`` only where the
        database locks the row it reads; SQLite's driver does not, so two workers can pop
        the same queued trial, and the second one's results would land on a finished
        trial. The trial's spend row, written under the study's lock, decides; it starts
        as ``taken`` with nothing spent, so a trial that never reserves (a repeat, a
        rejected architecture) leaves no open reservation behind."""

        def work(conn: Connection) -> bool:
            owner = conn.execute(select(_T.c.worker).where(_T.c.study == self.study, _T.c.trial == trial)).one_or_none()
            if owner is None:
                conn.execute(insert(_T).values(**self._row(trial, Spend(), "taken")))
                return True
            return bool(owner[0] == self.worker)

        return self._locked(work)

    def claim(self, arch: str, trial: int, released: set[int]) -> int | None:
        """Claims architecture ``arch`` (a hash of its parameters) for ``trial``: None when
        it is this trial's now, else the number of the trial holding it. A claim held by a
        trial in ``released`` (dead, or stopped by the budget) passes to this one."""

        def work(conn: Connection) -> int | None:
            owner = conn.execute(select(_A.c.trial).where(_A.c.study == self.study, _A.c.arch == arch)).scalar()
            if owner is None:
                conn.execute(insert(_A).values(study=self.study, arch=arch, trial=trial, updated_at=utc_now()))
                return None
            if owner == trial:
                return None
            if owner in released:
                conn.execute(
                    update(_A)
                    .where(_A.c.study == self.study, _A.c.arch == arch)
                    .values(trial=trial, updated_at=utc_now())
                )
                return None
            return int(owner)

        return self._locked(work)

    def rows(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            res = conn.execute(select(_T).where(_T.c.study == self.study, _T.c.trial != LOCK_ROW).order_by(_T.c.trial))
            return [dict(r._mapping) for r in res]
