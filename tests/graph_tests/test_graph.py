from __future__ import annotations

import pytest

from archon.errors import SpecError
from archon.graph import build_graph
from archon.spec import parse_pipeline


def test_disabled_node_passes_its_input_through() -> None:
    g = build_graph(
        parse_pipeline("""
nodes:
  g: {op: generate, model: local/x, samples: 4}
  r: {op: rank, model: local/x, inputs: [g], enabled: false}
  v: {op: vote, inputs: [r]}
output: v
""")
    )
    assert g.inputs["v"] == ("g",)
    assert "r" not in g.dag


def test_sole_model_alias_is_the_default() -> None:
    g = build_graph(parse_pipeline("models:\n  m: {model: local/x}\nnodes:\n  g: {op: generate}\noutput: g\n"))
    assert g.model_names["g"] == ("m",)


def test_generate_with_several_models() -> None:
    g = build_graph(
        parse_pipeline("""
models:
  a: {model: local/x}
  b: {model: openai/y}
nodes:
  g: {op: generate, models: [a, b], samples: 2}
output: g
""")
    )
    assert g.model_names["g"] == ("a", "b")


def test_union_of_inputs_in_declaration_order() -> None:
    g = build_graph(
        parse_pipeline("""
nodes:
  a: {op: generate, model: local/x}
  b: {op: generate, model: local/y}
  f: {op: fuse, model: local/x, inputs: [b, a]}
output: f
""")
    )
    assert g.inputs["f"] == ("b", "a")


def test_cycle_through_three_nodes_is_named() -> None:
    with pytest.raises(SpecError, match="cycle: "):
        build_graph(
            parse_pipeline("""
nodes:
  g: {op: generate, model: local/x}
  a: {op: fuse, model: local/x, inputs: [g, c]}
  b: {op: rank, model: local/x, inputs: [a]}
  c: {op: critique, model: local/x, inputs: [b]}
output: c
""")
        )
