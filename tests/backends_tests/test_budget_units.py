"""The per-query budget and the cache key, rule by rule (mutation-tested: see [tool.mutmut])."""

from __future__ import annotations

import pytest

from archon._cachekey import call_key
from archon._typing import Sampling
from archon.backends import Limits
from archon.backends import QueryBudget
from archon.backends import cache_key
from archon.backends._base import Request
from archon.errors import BudgetExceededError


def test_merged_takes_the_tighter_cap_and_keeps_a_lone_one() -> None:
    a = Limits(calls=5, tokens=None, usd=0.5)
    b = Limits(calls=3, tokens=100, usd=None)
    assert a.merged(b) == Limits(3, 100, 0.5)
    assert b.merged(a) == Limits(3, 100, 0.5)
    assert Limits().merged(Limits()) == Limits(None, None, None)
    assert Limits(calls=2).merged(Limits(calls=7)) == Limits(calls=2)
    assert Limits(usd=0.2).merged(Limits(usd=0.1)).usd == 0.1


def test_any_is_true_for_each_single_cap() -> None:
    assert not Limits().any
    assert Limits(calls=0).any
    assert Limits(tokens=1).any
    assert Limits(usd=0.0).any


def test_call_cap_allows_exactly_the_limit() -> None:
    b = QueryBudget(Limits(calls=2))
    b.reserve(10, 0.0)
    b.reserve(10, 0.0)
    assert b.calls == 2
    with pytest.raises(BudgetExceededError, match=r"call budget reached \(2 of 2 calls used\)"):
        b.reserve(10, 0.0)
    assert b.calls == 2  # a refused call is not counted


def test_token_cap_counts_the_worst_case_and_allows_an_exact_fit() -> None:
    b = QueryBudget(Limits(tokens=100))
    r = b.reserve(60, 0.0)
    assert (r.tokens, b.tokens) == (60, 60)
    with pytest.raises(BudgetExceededError, match="up to 41 tokens, 40 of 100 left"):
        b.reserve(41, 0.0)
    b.reserve(40, 0.0)  # exactly fills the cap
    assert b.tokens == 100
    with pytest.raises(BudgetExceededError):
        b.reserve(1, 0.0)


def test_dollar_cap_allows_an_exact_fit_and_refuses_a_cent_more() -> None:
    b = QueryBudget(Limits(usd=0.3))
    b.reserve(0, 0.1)
    b.reserve(0, 0.2)  # 0.1 + 0.2 is 0.30000000000000004: inside the float tolerance
    assert b.usd == pytest.approx(0.3)
    with pytest.raises(BudgetExceededError, match=r"dollar budget: this call may cost up to \$0\.010000"):
        b.reserve(0, 0.01)
    c = QueryBudget(Limits(usd=0.05))
    with pytest.raises(BudgetExceededError, match=r"\$0\.050000 of \$0\.05 left"):
        c.reserve(0, 0.06)
    assert (c.calls, c.usd) == (0, 0.0)


def test_no_cap_counts_but_never_refuses() -> None:
    b = QueryBudget(Limits())
    for _ in range(50):
        b.reserve(1000, 1.0)
    assert (b.calls, b.tokens, b.usd) == (50, 50_000, 50.0)


def test_settle_replaces_the_reservation_by_the_real_use() -> None:
    b = QueryBudget(Limits(tokens=100, usd=1.0))
    r = b.reserve(80, 0.8)
    b.settle(r, 30, 0.25)
    assert (b.calls, b.tokens, b.usd) == (1, 30, pytest.approx(0.25))
    b.reserve(70, 0.75)  # the freed worst case can be reserved again
    assert b.tokens == 100


def test_release_returns_tokens_and_dollars_but_keeps_the_call() -> None:
    b = QueryBudget(Limits(calls=2, tokens=50, usd=0.5))
    r = b.reserve(50, 0.5)
    b.release(r)
    assert (b.calls, b.tokens, b.usd) == (1, 0, 0.0)
    b.reserve(50, 0.5)
    with pytest.raises(BudgetExceededError, match="call budget"):
        b.reserve(0, 0.0)


def _req(**kw: object) -> Request:
    base: dict[str, object] = {
        "model": "openai/gpt-4o-mini",
        "messages": (("system", "be brief"), ("user", "hi")),
        "sampling": Sampling(temperature=0.7, max_tokens=64),
        "sample": 0,
    }
    return Request(**(base | kw))  # type: ignore[arg-type]


def test_cache_key_is_pinned() -> None:
    """Changing the key silently orphans every cached call users paid for."""
    key = call_key("openai", "openai/gpt-4o-mini", "chat", [("user", "hi")], {"temperature": 0.0}, 0)
    assert key == "28b94f3ad132df5496447b7f400ace396ec5eb228e315da6e1ff549bb88b1219"
    assert len(cache_key("openai", _req(), "chat")) == 64
    assert cache_key("openai", _req(), "chat") == call_key(
        "openai", "openai/gpt-4o-mini", "chat", [["system", "be brief"], ["user", "hi"]], _req().sampling.as_dict(), 0
    )


def test_every_part_of_a_call_changes_its_key() -> None:
    k = cache_key("openai", _req(), "chat")
    others = {
        cache_key("azure", _req(), "chat"),
        cache_key("openai", _req(), "completion"),
        cache_key("openai", _req(model="openai/gpt-4o"), "chat"),
        cache_key("openai", _req(messages=(("system", "be brief"), ("user", "hi!"))), "chat"),
        cache_key("openai", _req(messages=(("user", "be brief"), ("user", "hi"))), "chat"),
        cache_key("openai", _req(sampling=Sampling(temperature=0.8, max_tokens=64)), "chat"),
        cache_key("openai", _req(sampling=Sampling(temperature=0.7, max_tokens=65)), "chat"),
        cache_key("openai", _req(sample=1), "chat"),
    }
    assert k not in others and len(others) == 8
    assert cache_key("openai", _req(), "chat") == k  # and it is deterministic


def test_key_is_unicode_stable() -> None:
    """Non-ASCII text is hashed as UTF-8 of the text itself, not of its escapes."""
    a = call_key("e", "m", "chat", [("user", "café")], {}, 0)
    b = call_key("e", "m", "chat", [("user", "caf\\u00e9")], {}, 0)
    assert a != b
    assert a == "f22a92adb491402d98909d15571c52b776c94790c0f0e4df397680895061eb29"
