"""Operators over a scripted OpenAI-compatible server on 127.0.0.1 (a protocol peer with
fixed replies, not a model): checks alignment, repair and fallbacks end to end through
the real HTTP backend, store and executor. Model quality is tested on the real model."""

from __future__ import annotations

import pytest

import archon
from archon.testing import ServerProcess

SCRIPT = [
    # generate: the prompt is the raw input
    (r"^Q1$", "alpha"),
    # critique: the model reviews three answers out of order
    (r"short critique", "[3] third is vague\n[1] first is right\n"),
    # rank: garbage around a partial ranking; 3 first, then 1 (2 missing)
    (r"Rank the", "I think [3] > [3] > [7] > [1]"),
    # verify: one verdict per candidate, keyed on the answer text
    (r"Answer: a0[^\n]*\n", "Verdict: incorrect"),
    (r"Answer: a1[^\n]*\n", "hmm, unsure"),
    (r"Answer: a2[^\n]*\n", "Verdict: correct"),
    (r"Final answer:", "fused"),
    (r"Write 2 Python assert", "assert add(1, 2) == 3\nassert add(0, 0) == 0\nnot a test"),
]


@pytest.fixture(scope="module")
def server():  # type: ignore[no-untyped-def]
    with ServerProcess(script=SCRIPT) as srv:
        yield srv


def pipe(server: ServerProcess, body: str, db_url: str) -> archon.Pipeline:
    head = f'models:\n  m: {{model: openai/scripted, api_base: "{server.api_base}", max_tokens: 64}}\n'
    return archon.load(head + body, db=db_url)


def test_critiques_stay_aligned_through_rank_and_verify(server: ServerProcess, db_url: str) -> None:
    # Three fixed candidates from three generate nodes (each reply-N differs); we make
    # their texts known by scripting on the input instead.
    body = """
nodes:
  g0: {op: generate, model: m, template: "cand a0"}
  g1: {op: generate, model: m, template: "cand a1"}
  g2: {op: generate, model: m, template: "cand a2"}
  c: {op: critique, model: m, inputs: [g0, g1, g2]}
  r: {op: rank, model: m, inputs: [c], top_k: 3}
  v: {op: verify, model: m, inputs: [r]}
output: v
"""
    script_server_texts = {"cand a0": "a0", "cand a1": "a1", "cand a2": "a2"}
    with ServerProcess(script=[(f"^{k}$", v) for k, v in script_server_texts.items()] + SCRIPT) as srv:
        with pipe(srv, body, db_url) as p:
            result = p.execute(["x"])
    item = result.items[0]
    assert item.error is None, item.error
    # rank repaired [3] > [1] (+ missing 2) and verify kept only the 'correct' one: a2,
    # which still carries the critique written for it ([3]).
    assert [c.text for c in item.candidates] == ["a2"]
    assert item.candidates[0].critique == "third is vague"
    assert item.candidates[0].verdict == "correct"


def test_verify_keeps_all_when_none_is_correct(server: ServerProcess, db_url: str) -> None:
    body = """
nodes:
  g0: {op: generate, model: m, template: "cand a0"}
  g1: {op: generate, model: m, template: "cand a1"}
  v: {op: verify, model: m, inputs: [g0, g1], on_none: keep_all}
output: v
"""
    with ServerProcess(script=[("^cand a0$", "a0"), ("^cand a1$", "a1")] + SCRIPT) as srv:
        with pipe(srv, body, db_url) as p:
            item = p.execute(["x"]).items[0]
    assert [c.text for c in item.candidates] == ["a0", "a1"]
    assert [c.verdict for c in item.candidates] == ["incorrect", "unknown"]


def test_fuse_and_generated_code_tests_in_the_sandbox(server: ServerProcess, db_url: str) -> None:
    body = """
nodes:
  good: {op: generate, model: m, template: "good"}
  bad: {op: generate, model: m, template: "bad"}
  t: {op: unit_test_generate, model: m, kind: code, count: 2}
  e: {op: unit_test_evaluate, inputs: [bad, good, t]}
output: e
"""
    script = [
        ("^good$", "```python\ndef add(a, b):\n    return a + b\n```"),
        ("^bad$", "def add(a, b):\n    return a - b"),
    ] + SCRIPT
    with ServerProcess(script=script) as srv:
        with pipe(srv, body, db_url) as p:
            item = p.execute(["Write add(a, b)."]).items[0]
    assert item.error is None, item.error
    assert [(c.tests_passed, c.tests_total) for c in item.candidates] == [(2, 2), (1, 2)]
    assert "a + b" in item.candidates[0].text


def test_tests_from_an_item_field(server: ServerProcess, db_url: str) -> None:
    body = """
nodes:
  g: {op: generate, model: m, template: "good"}
  e: {op: unit_test_evaluate, inputs: [g], tests_field: tests}
output: e
"""
    with ServerProcess(script=[("^good$", "def add(a, b):\n    return a + b")]) as srv:
        with pipe(srv, body, db_url) as p:
            item = p.execute([{"input": "x", "tests": ["assert add(2, 2) == 4", "assert add(1, 1) == 3"]}]).items[0]
    assert (item.candidates[0].tests_passed, item.candidates[0].tests_total) == (1, 2)


def test_missing_template_field_fails_the_item_not_the_run(server: ServerProcess, db_url: str) -> None:
    body = 'nodes:\n  g: {op: generate, model: m, template: "{{ question }}"}\noutput: g\n'
    with pipe(server, body, db_url) as p:
        result = p.execute([{"input": "a", "question": "Q1"}, {"input": "b"}])
    assert result.items[0].output == "alpha"
    assert result.items[1].output is None
    assert "'question' is undefined" in (result.items[1].error or "")


def test_chat_items_are_sent_as_their_conversation(db_url: str) -> None:
    # The scripted server joins the message contents; the reply depends on the whole turn list.
    with ServerProcess(script=[("be brief\nHi\nHello!\nAnd now\\?", "multi-turn seen")]) as srv:
        body = 'nodes:\n  g: {op: generate, model: m, system: "be brief"}\noutput: g\n'
        with pipe(srv, body, db_url) as p:
            item = {
                "messages": [
                    {"role": "user", "content": "Hi"},
                    {"role": "assistant", "content": "Hello!"},
                    {"role": "user", "content": "And now?"},
                ]
            }
            out = p.execute([item])
    assert out.outputs == ["multi-turn seen"]


def test_pairwise_rank_judges_both_orders_and_cancels_position_bias(db_url: str) -> None:
    """A judge that always answers A (the first answer) except for a2, which it picks
    wherever it stands: a2 comes first; a0 and a1 each won once, in the first place, so
    they tie and keep their order. Every pair costs two calls."""
    body = """
nodes:
  g0: {op: generate, model: m, template: "cand a0"}
  g1: {op: generate, model: m, template: "cand a1"}
  g2: {op: generate, model: m, template: "cand a2"}
  r: {op: rank, model: m, inputs: [g0, g1, g2], method: pairwise, top_k: 3}
output: r
"""
    script = [("^cand a0$", "a0"), ("^cand a1$", "a1"), ("^cand a2$", "a2")]
    script += [("Answer A: a2\n", "A"), ("Answer B: a2\n", "Answer B is better."), ("Better answer:", "A")]
    with ServerProcess(script=script) as srv:
        with pipe(srv, body, db_url) as p:
            result = p.execute(["x"])
    item = result.items[0]
    assert item.error is None, item.error
    assert [c.text for c in item.candidates] == ["a2", "a0", "a1"]
    scores = [c.score or 0.0 for c in item.candidates]
    assert scores[0] > scores[1] and abs(scores[1] - scores[2]) < 1e-9 and abs(sum(scores) - 1) < 1e-9
    assert result.usage.paid_calls == 3 + 2 * 3  # three generations, three pairs in both orders


def test_pairwise_rank_with_a_pair_budget_compares_only_that_many(db_url: str) -> None:
    body = """
nodes:
  g: {op: generate, model: m, samples: 5, template: "cand"}
  r: {op: rank, model: m, inputs: [g], method: pairwise, pairs: 4, top_k: 2}
output: r
"""
    with ServerProcess(script=[("^cand$", "same"), ("Better answer:", "B")]) as srv:
        with pipe(srv, body, db_url) as p:
            plan_calls = p.plan.cost.calls
            result = p.execute(["x"])
    assert plan_calls == 5 + 2 * 4  # the static worst case counts the capped pairs
    assert result.items[0].error is None and len(result.items[0].candidates) == 2
    assert result.usage.paid_calls + result.usage.cached_calls <= 5 + 2 * 4


def test_verify_k_of_m_asks_m_times_and_keeps_by_the_rule(db_url: str) -> None:
    """Three judgments per candidate (samples 0-2 of the same call): a0 gets 2 of 3
    'correct', a1 gets 1 of 3, a2 gets 0 of 3 with one reply lacking a verdict."""
    script = [
        ("^cand a0$", "a0"),
        ("^cand a1$", "a1"),
        ("^cand a2$", "a2"),
        (r"Answer: a0\n", ["Verdict: correct", "Verdict: incorrect", "Verdict: correct"]),
        (r"Answer: a1\n", ["Verdict: correct", "Verdict: incorrect", "Verdict: incorrect"]),
        (r"Answer: a2\n", ["Verdict: incorrect", "no idea", "Verdict: incorrect"]),
    ]
    body = """
nodes:
  g0: {op: generate, model: m, template: "cand a0"}
  g1: {op: generate, model: m, template: "cand a1"}
  g2: {op: generate, model: m, template: "cand a2"}
  v: {op: verify, model: m, inputs: [g0, g1, g2], judgments: 3, min_correct: 2}
output: v
"""
    with ServerProcess(script=script) as srv:
        with pipe(srv, body, db_url) as p:
            assert p.plan.cost.calls == 3 + 3 * 3  # the worst case counts every judgment
            item = p.execute(["x"]).items[0]
            judged = item.records["v"]["verdicts"]
        assert srv.stats()["requests"] == 3 + 9
    assert [c.text for c in item.candidates] == ["a0"]
    assert [c.verdict for c in judged] == ["correct", "incorrect", "incorrect"]
    # all three must say correct: none can (each has an 'incorrect'), so keep_all passes all three
    with ServerProcess(script=script) as srv:
        with pipe(srv, body.replace("min_correct: 2", "min_correct: 3"), db_url + "x") as p:
            item = p.execute(["x"]).items[0]
    assert [c.text for c in item.candidates] == ["a0", "a1", "a2"]
    assert [c.verdict for c in item.candidates] == ["incorrect", "incorrect", "incorrect"]


def test_eval_reports_the_verifiers_precision_and_recall_against_gold(tmp_path, db_url: str) -> None:  # type: ignore[no-untyped-def]
    """A verifier that passes every candidate: recall 1, and its false-positive rate is
    every wrong candidate — archon eval says so and warns."""
    import json

    from archon.evaluate import aevaluate
    from archon.evaluate import get_metric
    from archon.evaluate import load_file

    script = [(r"^Q\d+$", ["right", "wrong", "wrong"]), (r"Answer: ", "Verdict: correct")]
    body = """
nodes:
  g: {op: generate, model: m, samples: 3, temperature: 0.8}
  v: {op: verify, model: m, inputs: [g]}
output: v
"""
    data = tmp_path / "d.jsonl"
    data.write_text("".join(json.dumps({"input": f"Q{i}", "answer": "right"}) + "\n" for i in range(6)))
    with ServerProcess(script=script) as srv:
        with pipe(srv, body, db_url) as p:
            result = p._sync(aevaluate(p, load_file(str(data), "input", "answer"), get_metric("exact")))
    v = result.verifiers["v"]
    assert (v.true_pos, v.false_pos, v.false_neg, v.true_neg) == (6, 12, 0, 0)
    assert v.recall == 1.0 and v.false_positive_rate == 1.0 and abs(v.precision - 1 / 3) < 1e-9
    assert v.warning() is not None and "passes 100% of wrong candidates" in v.warning()
    assert result.summary()["verifiers"]["v"]["false_positive_rate"] == 1.0


def test_escalation_runs_the_costly_path_only_when_the_cheap_one_disagrees(db_url: str) -> None:
    """'easy' always gets the same answer; 'hard' gets 'a', 'b', 'a', ...: only hard pays
    for the gated node's four samples, and the budget reserves them for both."""
    script = [(r"^easy$", "x"), (r"^hard$", ["a", "b"])]
    body = """
nodes:
  cheap: {op: generate, model: m, samples: 2, temperature: 0.8}
  costly: {op: generate, model: m, samples: 4, temperature: 0.9, when: {node: cheap, agreement_below: 1.0}}
  answer: {op: vote, inputs: [cheap, costly]}
output: answer
"""
    with ServerProcess(script=script) as srv:
        with pipe(srv, body, db_url) as p:
            assert p.plan.cost.calls == 6 and p.plan.waves == (("cheap",), ("costly",), ("answer",))
            easy, hard = p.execute(["easy", "hard"]).items
        assert srv.stats()["requests"] == 2 + 6
    assert easy.usage.paid_calls == 2 and [c.text for c in easy.candidates] == ["x", "x"]
    assert hard.usage.paid_calls == 6 and len(hard.candidates) == 6 and hard.output == "a"


def test_escalation_on_an_unverified_answer_and_a_bad_gate(db_url: str) -> None:
    script = [(r"^q$", "ans"), (r"Answer: ans", "Verdict: incorrect")]
    body = """
nodes:
  first: {op: generate, model: m}
  check: {op: verify, model: m, inputs: [first], on_none: keep_all}
  retry: {op: generate, model: m, temperature: 0.5, template: "{{ input }} (again)", when: {node: check, unverified: true}}
  answer: {op: vote, inputs: [check, retry]}
output: answer
"""
    with ServerProcess(script=script) as srv:
        with pipe(srv, body, db_url) as p:
            item = p.execute(["q"]).items[0]
    assert item.usage.paid_calls == 3  # first, its check (incorrect), then the retry
    with pytest.raises(archon.SpecError, match=r"when: node 'chek' is not a node.*did you mean 'check'"):
        archon.load(body.replace("node: check,", "node: chek,").replace("model: m", "model: local/x"))
    with pytest.raises(archon.SpecError, match="give one signal"):
        archon.load(body.replace("unverified: true", "unverified: false").replace("model: m", "model: local/x"))


def test_first_finish_keeps_the_first_k_and_cancels_the_rest(db_url: str) -> None:
    """Six samples launched against a server whose latencies spread 0.05-1.5 s: the first
    two to finish are kept, the rest cancelled; the node returns long before the slowest."""
    import math
    import random

    body = """
nodes:
  g: {op: generate, model: m, samples: 6, first: 2, temperature: 0.8}
  v: {op: vote, inputs: [g]}
output: v
"""
    with ServerProcess(latency=0.3, latency_spread=1.0) as srv:
        with pipe(srv, body, db_url) as p:
            assert p.plan.cost.calls == 6  # the budget reserves every launched sample
            result = p.execute(["q"])
    item = result.items[0]
    latencies = sorted(0.3 * math.exp(random.Random(n).gauss(0, 1)) for n in range(1, 7))  # the server's
    assert item.error is None and len(item.candidates) == 2
    assert item.usage.paid_calls == 2 and item.usage.cancelled_calls == 4
    assert result.wall_s < latencies[-1], (result.wall_s, latencies)  # it did not wait for the slowest
    with pytest.raises(archon.SpecError, match="first and early_stop do not combine"):
        archon.load(body.replace("first: 2", "first: 2, early_stop: 0.9").replace("model: m", "model: local/x"))


def test_first_finish_survives_a_failed_sample(db_url: str) -> None:
    body = """
nodes:
  g: {op: generate, model: m, samples: 4, first: 2, temperature: 0.8}
output: g
"""
    with ServerProcess(faults="500", fault_first=1) as srv:  # the first request fails, not retried below
        head = f'models:\n  m: {{model: openai/scripted, api_base: "{srv.api_base}", max_tokens: 8, max_retries: 0}}\n'
        with archon.load(head + body, db=db_url) as p:
            item = p.execute(["q"]).items[0]
    assert item.error is None and len(item.candidates) == 2
    assert item.usage.failed_calls == 1


def test_cancelled_calls_are_counted_at_their_worst_case(db_url: str) -> None:
    """A hosted API may bill a call abandoned in flight: its worst case (prompt bound +
    max_tokens) is counted, and a search's ledger spends it (paid_spend)."""
    from archon.search._halving import paid_spend

    body = """
nodes:
  g: {op: generate, model: m, samples: 4, first: 1, temperature: 0.8, max_tokens: 50}
output: g
"""
    with ServerProcess(latency=0.3, latency_spread=1.0) as srv:
        with pipe(srv, body, db_url) as p:
            item = p.execute(["q"]).items[0]
    u = item.usage
    assert u.paid_calls >= 1 and u.cancelled_calls >= 1 and u.paid_calls + u.cancelled_calls <= 4
    assert u.cancelled_tokens >= 50 * u.cancelled_calls  # each at least its max_tokens
    spent = paid_spend(u)
    assert spent.calls == u.paid_calls + u.cancelled_calls
    assert spent.tokens == u.prompt_tokens + u.completion_tokens + u.cancelled_tokens
