"""The search ledger's rules on a real SQLite database (mutation-tested: see
[tool.mutmut]); many workers and kills against it are in test_workers.py and
test_kill_resume.py."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from archon.backends import Limits
from archon.search._ledger import Ledger
from archon.search._ledger import Spend
from archon.store import Store

NO_CAPS = Limits()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(f"sqlite:///{tmp_path / 'l.db'}")
    yield s
    s.close()


def test_over_names_the_first_cap_passed() -> None:
    s = Spend(10, 100, 0.5)
    assert s.over(Limits(10, 100, 0.5)) is None  # exactly at every cap fits
    assert s.over(Limits(9, None, None)) == "10 calls > 9"
    assert s.over(Limits(None, 99, None)) == "100 tokens > 99"
    assert s.over(Limits(None, None, 0.4)) == "$0.5000 > $0.4000"
    assert s.over(Limits(9, 99, 0.4)) == "10 calls > 9"
    assert Spend(0, 0, 0.1 + 0.2).over(Limits(None, None, 0.3)) is None  # float tolerance
    assert Spend(1, 2, 0.5) + Spend(3, 4, 0.25) == Spend(4, 6, 0.75)


def test_reserve_fits_exactly_then_refuses_without_writing(store: Store) -> None:
    led = Ledger(store, "s", "w")
    assert led.reserve(0, Spend(6, 60, 0.6), Limits(10, 100, 1.0)) is None
    assert led.reserve(0, Spend(4, 40, 0.4), Limits(10, 100, 1.0)) is None  # the same row grows
    assert led.spent() == Spend(10, 100, pytest.approx(1.0))
    assert led.reserve(1, Spend(1, 0, 0.0), Limits(10, 100, 1.0)) == "11 calls > 10"
    assert led.reserve(1, Spend(0, 1, 0.0), Limits(10, 100, 1.0)) == "101 tokens > 100"
    assert led.reserve(1, Spend(0, 0, 0.01), Limits(10, 100, 1.0)) == "$1.0100 > $1.0000"
    assert [r["trial"] for r in led.rows()] == [0]  # refused: nothing written
    assert led.rows()[0]["state"] == "open" and led.rows()[0]["calls"] == 10


def test_settle_replaces_the_reservation_and_closes_it(store: Store) -> None:
    led = Ledger(store, "s", "w")
    led.reserve(3, Spend(50, 500, 0.5), NO_CAPS)
    led.settle(3, Spend(7, 70, 0.07), final=False)
    row = led.rows()[0]
    assert (row["calls"], row["tokens"], row["state"]) == (7, 70, "open")
    led.settle(3, Spend(9, 90, 0.09), final=True)
    assert led.rows()[0]["state"] == "closed" and led.spent() == Spend(9, 90, pytest.approx(0.09))


def test_studies_do_not_share_spend(store: Store) -> None:
    a, b = Ledger(store, "a", "w"), Ledger(store, "b", "w")
    a.reserve(0, Spend(5), Limits(5, None, None))
    assert b.reserve(0, Spend(5), Limits(5, None, None)) is None
    assert a.spent().calls == 5 and b.spent().calls == 5


def test_a_dead_row_becomes_what_its_tags_say(store: Store) -> None:
    led = Ledger(store, "s", "w")
    led.reserve(4, Spend(100, 1000, 1.0), NO_CAPS)
    led.reserve(5, Spend(100, 1000, 1.0), NO_CAPS)
    led.settle(5, Spend(2, 20, 0.0), final=True)

    async def sent() -> None:
        await store.put_sent(("s", 4), "k1", 30, 0.03)
        await store.put_sent(("s", 4), "k2", 40, 0.04)
        await store.put_sent(("s", 9), "k3", 50, 0.05)  # another trial's call

    asyncio.run(sent())
    led.mark_dead({4, 5})  # 5 is closed: left as it is
    rows = {r["trial"]: r for r in led.rows()}
    assert (rows[4]["calls"], rows[4]["tokens"], rows[4]["state"]) == (2, 70, "dead")
    assert rows[4]["usd"] == pytest.approx(0.07)
    assert (rows[5]["calls"], rows[5]["state"]) == (2, "closed")
    led.mark_dead(set())  # nothing to do
    assert led.spent().calls == 4


def test_settle_never_counts_less_than_the_tags(store: Store) -> None:
    led = Ledger(store, "s", "w")
    led.reserve(1, Spend(10, 100, 0.1), NO_CAPS)
    asyncio.run(store.put_sent(("s", 1), "k", 60, 0.02))
    led.settle(1, Spend(0, 5, 0.01), final=True)  # a resumed process counted less
    row = led.rows()[0]
    assert (row["calls"], row["tokens"]) == (1, 60) and row["usd"] == pytest.approx(0.02)


def test_claims_pass_only_from_released_trials(store: Store) -> None:
    led = Ledger(store, "s", "w")
    assert led.claim("arch", 1, set()) is None
    assert led.claim("arch", 1, set()) is None  # its own claim
    assert led.claim("arch", 2, set()) == 1
    assert led.claim("arch", 2, {1}) is None  # 1 died: the claim passes to 2
    assert led.claim("arch", 3, {1}) == 2
    assert led.claim("other", 3, set()) is None
    assert Ledger(store, "t", "w").claim("arch", 7, set()) is None  # per study


def test_tagged_sets_and_restores_the_tag(store: Store) -> None:
    from archon.store import call_tag

    led = Ledger(store, "s", "w")
    assert call_tag.get() is None
    with led.tagged(3):
        assert call_tag.get() == ("s", 3)
        with led.tagged(4):
            assert call_tag.get() == ("s", 4)
        assert call_tag.get() == ("s", 3)
    assert call_tag.get() is None


def _lock_rows(store: Store, study: str) -> list[str]:
    from sqlalchemy import select

    from archon.search._ledger import _T
    from archon.search._ledger import LOCK_ROW

    with store.engine.connect() as conn:
        q = select(_T.c.state).where(_T.c.study == study, _T.c.trial == LOCK_ROW)
        return list(conn.execute(q).scalars())


def test_each_study_holds_its_own_lock_row(store: Store) -> None:
    a, b = Ledger(store, "a", "w"), Ledger(store, "b", "w")
    a.reserve(0, Spend(1), NO_CAPS)
    assert _lock_rows(store, "a") == ["lock"] and _lock_rows(store, "b") == []
    b.reserve(0, Spend(1), NO_CAPS)
    a.settle(0, Spend(1), final=True)
    assert _lock_rows(store, "a") == ["lock"] and _lock_rows(store, "b") == ["lock"]
    assert [r["trial"] for r in a.rows()] == [0]  # the lock row is not a trial


def test_mark_dead_touches_only_the_named_trials_of_its_study(store: Store) -> None:
    a, b = Ledger(store, "a", "w"), Ledger(store, "b", "w")
    for led in (a, b):
        led.reserve(4, Spend(100), NO_CAPS)
        led.reserve(6, Spend(100), NO_CAPS)
    a.mark_dead({4})
    assert {r["trial"]: (r["state"], r["calls"]) for r in a.rows()} == {4: ("dead", 0), 6: ("open", 100)}
    assert {r["trial"]: (r["state"], r["calls"]) for r in b.rows()} == {4: ("open", 100), 6: ("open", 100)}


def test_two_processes_reserving_at_once_never_pass_the_cap(tmp_path: Path) -> None:
    """Two engines on one SQLite file (as two workers are): the lock row serialises their
    reservations, so exactly the cap is granted however they interleave."""
    from concurrent.futures import ThreadPoolExecutor

    url = f"sqlite:///{tmp_path / 'two.db'}"
    stores = [Store(url), Store(url)]
    try:
        ledgers = [Ledger(s, "s", f"w{i}") for i, s in enumerate(stores)]

        def worker(i: int) -> int:
            return sum(ledgers[i].reserve(i * 1000 + t, Spend(1), Limits(40, None, None)) is None for t in range(30))

        with ThreadPoolExecutor(2) as pool:
            granted = list(pool.map(worker, [0, 1]))
        assert sum(granted) == 40 and ledgers[0].spent().calls == 40
        assert len(ledgers[1].rows()) == 40
    finally:
        for s in stores:
            s.close()


def test_an_empty_ledger_has_spent_nothing_and_tags_stay_in_their_study(store: Store) -> None:
    a, b = Ledger(store, "a", "w"), Ledger(store, "b", "w")
    assert a.spent() == Spend(0, 0, 0.0)
    a.reserve(1, Spend(10), NO_CAPS)
    b.reserve(1, Spend(10), NO_CAPS)
    asyncio.run(store.put_sent(("a", 1), "k", 60, 0.02))
    b.settle(1, Spend(0), final=True)  # study a's tagged call is not b's
    a.settle(1, Spend(0), final=True)
    assert (b.rows()[0]["calls"], b.rows()[0]["tokens"]) == (0, 0)
    assert (a.rows()[0]["calls"], a.rows()[0]["tokens"]) == (1, 60)
    assert b.reserve(1, Spend(3), NO_CAPS) is None and a.rows()[0]["state"] == "closed"


def test_a_trial_is_taken_by_one_worker_only(store: Store) -> None:
    a, b = Ledger(store, "s", "host:1"), Ledger(store, "s", "host:2")
    assert a.take(5) and a.take(5)  # its own
    assert not b.take(5)
    assert b.take(6) and not a.take(6)
    assert Ledger(store, "t", "host:2").take(5)  # per study
    assert a.spent() == Spend(0, 0, 0.0)  # taking reserves nothing
    assert a.reserve(5, Spend(2), NO_CAPS) is None and a.spent().calls == 2


def test_two_processes_popping_one_queued_trial_run_it_once(tmp_path: Path) -> None:
    """Optuna's pop of a queued trial is not atomic on SQLite (its SELECT ... FOR UPDATE
    locks nothing there): two engines asking at once may both get it. ``take`` lets one
    of them run it, however the two interleave."""
    from concurrent.futures import ThreadPoolExecutor

    url = f"sqlite:///{tmp_path / 'two.db'}"
    stores = [Store(url), Store(url)]
    try:
        ledgers = [Ledger(s, "s", f"w{i}") for i, s in enumerate(stores)]
        with ThreadPoolExecutor(2) as pool:
            won = list(pool.map(lambda i: [ledgers[i].take(t) for t in range(60)], [0, 1]))
        assert all(x != y for x, y in zip(won[0], won[1], strict=True))
    finally:
        for s in stores:
            s.close()
