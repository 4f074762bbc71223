"""Retries and budgets against a server that injects 429, 500 and hangs."""

from __future__ import annotations

import archon
from archon.testing import ServerProcess


def body(api_base: str, retries: int = 4, timeout: float = 2.0, samples: int = 3) -> str:
    return f"""
models:
  m: {{model: openai/flaky, api_base: "{api_base}", max_tokens: 8, max_retries: {retries}, timeout_s: {timeout}}}
nodes:
  g: {{op: generate, model: m, samples: {samples}}}
  f: {{op: fuse, model: m, inputs: [g]}}
output: f
"""


def test_run_survives_429_500_and_timeouts(db_url: str) -> None:
    with ServerProcess(faults="429,500,timeout", fault_every=3, hang_s=30) as srv:
        with archon.load(body(srv.api_base), db=db_url) as p:
            result = p.execute([f"q{i}" for i in range(6)])
        stats = srv.stats()
    assert not result.failed, result.failed
    assert sum(stats["faults"].values()) >= 3 and set(stats["faults"]) == {"429", "500", "timeout"}
    assert result.usage.paid_calls == 6 * 4
    assert result.usage.failed_calls == sum(stats["faults"].values())
    assert stats["ok"] == result.usage.paid_calls


def test_exhausted_retries_fail_the_item_and_are_reported(db_url: str) -> None:
    with ServerProcess(faults="500", fault_every=1) as srv:
        with archon.load(body(srv.api_base, retries=2, samples=1), db=db_url) as p:
            result = p.execute(["a", "b"])
        stats = srv.stats()
    assert len(result.failed) == 2
    assert all("ServerError" in (i.error or "") for i in result.items)
    assert result.usage.failed_calls == stats["requests"] == 2 * 3  # 1 try + 2 retries each


def test_call_budget_is_never_exceeded_even_with_retries(db_url: str) -> None:
    # 4 calls per query are needed; every 2nd request fails, so retries eat the budget.
    with ServerProcess(faults="500", fault_every=2) as srv:
        with archon.load(body(srv.api_base, samples=3), db=db_url, limits=archon.Limits(calls=5)) as p:
            result = p.execute([f"q{i}" for i in range(4)])
        stats = srv.stats()
    assert stats["requests"] <= 4 * 5
    for item in result.items:
        sent = item.usage.paid_calls + item.usage.failed_calls
        assert sent <= 5, item
    assert any(i.error and "call budget" in i.error for i in result.items)


def test_over_budget_plan_is_refused_before_any_call(db_url: str) -> None:
    with ServerProcess() as srv:
        with archon.load(body(srv.api_base, samples=10), db=db_url, limits=archon.Limits(calls=5)) as p:
            try:
                p.execute(["q"])
            except archon.ConfigurationError as exc:
                assert "up to 11 calls per query" in str(exc)
            else:
                raise AssertionError("an over-budget plan ran")
        assert srv.stats()["requests"] == 0


def test_dollar_budget(db_url: str) -> None:
    text_price = "max_tokens: 8, price_per_1k: {prompt: 1.0, completion: 1.0}"
    with ServerProcess() as srv:
        text = body(srv.api_base).replace("max_tokens: 8", text_price)
        with archon.load(text, db=db_url) as p:  # unlimited: what one query costs here
            free = p.execute(["question"])
        full = free.usage.cost_usd
        assert full > 0 and not free.failed
        cap = full * 0.6  # below the query's cost: the budget must stop it
        with archon.load(text, db=db_url, limits=archon.Limits(usd=cap)) as p:
            result = p.execute(["other question"])
        stats = srv.stats()
        assert result.usage.cost_usd <= cap
        assert result.failed and "dollar budget" in (result.items[0].error or "")
        assert stats["requests"] < 2 * 4  # the capped query was refused before some of its calls
        unpriced = body(srv.api_base)
        with archon.load(unpriced, db=db_url, limits=archon.Limits(usd=1.0)) as p:
            try:
                p.execute(["question"])
            except archon.ConfigurationError as exc:
                assert "no known price" in str(exc)
            else:
                raise AssertionError("a dollar budget ran on an unpriced model")


def test_concurrency_limit_per_model(db_url: str) -> None:
    with ServerProcess(latency=0.2) as srv:
        text = body(srv.api_base).replace("max_retries: 4", "max_retries: 4, concurrency: 3")
        with archon.load(text, db=db_url) as p:
            p.execute([f"q{i}" for i in range(5)])
        assert srv.stats()["max_inflight"] == 3


def test_null_content_is_a_failed_attempt_never_a_cached_answer(db_url: str) -> None:
    with ServerProcess(faults="null", fault_first=2) as srv:
        with archon.load(body(srv.api_base, samples=1), db=db_url) as p:
            result = p.execute(["q0"])
            again = p.execute(["q0"])  # from the cache: the retried, real answers
    assert not result.failed, result.failed
    assert result.usage.failed_calls == 2 and result.usage.paid_calls == 2
    assert again.usage.paid_calls == 0 and again.items[0].output == result.items[0].output
    assert result.items[0].output and result.items[0].output.startswith("reply-")


def test_null_content_exhausting_retries_is_reported(db_url: str) -> None:
    with ServerProcess(faults="null", fault_every=1) as srv:
        with archon.load(body(srv.api_base, retries=1, samples=1), db=db_url) as p:
            result = p.execute(["q"])
    assert result.failed and "content: null" in (result.items[0].error or "")


def test_retry_after_is_honoured(db_url: str) -> None:
    import time

    with ServerProcess(faults="429", fault_first=1, retry_after=2.5) as srv:
        with archon.load(body(srv.api_base, samples=1), db=db_url) as p:
            t0 = time.monotonic()
            result = p.execute(["q"])
            took = time.monotonic() - t0
    assert not result.failed and result.usage.failed_calls == 1
    assert took >= 2.5, took  # the backoff alone would have retried after ~0.25-1 s


def test_budget_refusal_names_the_error_behind_the_retries(db_url: str) -> None:
    with ServerProcess(faults="500", fault_every=1) as srv:
        with archon.load(body(srv.api_base, samples=1, retries=10), db=db_url, limits=archon.Limits(calls=3)) as p:
            result = p.execute(["q"])
    error = result.items[0].error or ""
    assert "budget" in error and "HTTP 500" in error and "internal error" in error, error
    assert result.usage.failed_calls == 3


def test_a_failing_sample_does_not_discard_its_paid_siblings(db_url: str) -> None:
    # 3 samples per query and every 3rd request fails: the first run loses one sample, yet
    # the two answered ones are stored; the rerun pays only for the lost one and the fuse
    with ServerProcess(faults="500", fault_every=3, latency=1.0) as srv:  # the failure comes back first
        with archon.load(body(srv.api_base, samples=3, retries=0), db=db_url) as p:
            first = p.execute(["q"])
            assert first.failed and srv.stats()["ok"] == 2
            second = p.execute(["q"])
        stats = srv.stats()
    assert not second.failed, second.failed
    assert second.usage.cached_calls == 2 and second.usage.paid_calls == 2
    assert stats["requests"] == 5
