from __future__ import annotations

from archon.graph import build_graph
from archon.plan import make_plan
from archon.spec import parse_pipeline


def plan_of(text: str):  # type: ignore[no-untyped-def]
    return make_plan(build_graph(parse_pipeline(text)))


def test_archon_recipe_worst_case_cost() -> None:
    plan = plan_of("""
models:
  m: {model: openai/x, max_tokens: 100, price_per_1k: {prompt: 1.0, completion: 2.0}}
layers:
  - [{op: generate, model: m, samples: 10}]
  - [{op: critique, model: m}]
  - [{op: rank, model: m, top_k: 5}]
  - [{op: verify, model: m}]
  - [{op: fuse, model: m, samples: 2}]
""")
    # 10 samples + 1 critique + 1 rank + 5 verifications + 2 fusions
    assert plan.cost.calls == 19
    assert plan.cost.completion_tokens == 1900
    assert plan.cost.usd is not None and abs(plan.cost.usd - 3.8) < 1e-9
    assert [len(w) for w in plan.waves] == [1, 1, 1, 1, 1]


def test_independent_nodes_share_a_wave_and_unused_nodes_are_dropped() -> None:
    plan = plan_of("""
nodes:
  a: {op: generate, model: local/x, samples: 2}
  b: {op: generate, model: local/x, samples: 3}
  unused: {op: generate, model: local/x, samples: 50}
  t: {op: unit_test_generate, model: local/x, kind: code}
  e: {op: unit_test_evaluate, inputs: [a, b, t]}
output: e
""")
    assert plan.waves == (("a", "b", "t"), ("e",))
    assert "unused" not in plan.nodes
    assert plan.cost.calls == 2 + 3 + 1  # code tests are run, not judged
    assert plan.nodes["e"].max_in == 5


def test_node_overrides_sampling() -> None:
    plan = plan_of("""
models:
  m: {model: local/x, temperature: 0.9, max_tokens: 10}
nodes:
  g: {op: generate, model: m, temperature: 0.1, stop: ["\\n"]}
output: g
""")
    s = plan.nodes["g"].models[0].sampling
    assert (s.temperature, s.max_tokens, s.stop) == (0.1, 10, ("\n",))
