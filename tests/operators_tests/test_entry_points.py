"""A custom operator registered by entry point, as a separately installed package would."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import archon
from archon.operators import operator_types

PLUGIN = """
from typing import ClassVar, Literal

from archon import Candidate
from archon.operators import BaseOperator, NodeInputs, OpContext
from archon.spec import NodeSpec


class ShoutSpec(NodeSpec):
    needs_model: ClassVar[bool] = False
    op: Literal["shout"] = "shout"
    suffix: str = "!"


class Shout(BaseOperator):
    spec_type = ShoutSpec

    async def run(self, inputs: NodeInputs, ctx: OpContext) -> tuple[Candidate, ...]:
        suffix = ctx.spec.suffix
        return tuple(Candidate(text=c.text.upper() + suffix, node=ctx.node.id) for c in inputs.candidates)
"""


@pytest.fixture
def plugin_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "shout_plugin.py").write_text(PLUGIN)
    dist = tmp_path / "shout_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: shout-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[archon.operators]\nshout = shout_plugin:Shout\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield
    sys.modules.pop("shout_plugin", None)


def test_entry_point_operator_is_registered_and_runs(plugin_on_path: None, db_url: str) -> None:
    assert "shout" in operator_types()
    text = """
nodes:
  g: {op: generate, model: local/gemma-3-270m, temperature: 0, max_tokens: 4, stop: ["\\n"], template: "Word: tall\\nOpposite: short\\nWord: big\\nOpposite:"}
  s: {op: shout, inputs: [g], suffix: "?!"}
output: s
"""
    with archon.load(text, db=db_url) as p:
        out = p.run("ignored")
    assert out is not None and out.endswith("?!") and out == out.upper()


def test_entry_point_operator_parameters_are_validated(plugin_on_path: None) -> None:
    with pytest.raises(archon.SpecError, match="unknown parameter 'sufix'"):
        archon.load("nodes:\n  g: {op: generate, model: local/x}\n  s: {op: shout, inputs: [g], sufix: 1}\noutput: s\n")


def test_operator_key_must_match_its_spec() -> None:
    from archon.operators import BaseOperator
    from archon.spec import VoteSpec

    with pytest.raises(TypeError, match="expected 'loud_vote'"):

        class LoudVote(BaseOperator):  # noqa: F841
            spec_type = VoteSpec

            async def run(self, inputs, ctx):  # type: ignore[no-untyped-def]
                return ()


def test_the_side_tables_come_from_the_operators() -> None:
    """The spec layer's table of built-in parameters is the registry's, and every prompt a
    runtime sends by default is the operator's own (no table of prompts elsewhere)."""
    from archon.operators import BUILTIN
    from archon.operators import node_types as types_of
    from archon.spec import BUILTIN_NODE_TYPES

    assert BUILTIN_NODE_TYPES == types_of({op.key: op for op in BUILTIN})
    for op in BUILTIN:
        spec = op.spec_type.model_validate({"op": op.key, "model": "m"} if op.spec_type.needs_model else {"op": op.key})
        name = op.prompt_name(spec)
        assert (name is None) == (not op.PROMPTS), op.key
        if name is not None:
            assert op.default_prompt(spec) == op.PROMPTS[name] and "{{ query }}" in op.PROMPTS[name]
