"""unit_test_generate: write ``count`` tests for the query (code asserts or text checks)."""

from __future__ import annotations

from archon._typing import Tests
from archon.operators._base import BaseOperator
from archon.operators._base import NodeInputs
from archon.operators._base import OpContext
from archon.operators._combine import written_tests
from archon.spec import UnitTestGenerateSpec

CODE = """\
Write {{ count }} Python assert statements that a correct solution to the task below must pass. One assert per line, nothing else.

Task:
{{ query }}

Tests:
"""
TEXT = """\
Write {{ count }} short checks that a correct answer to the question below must pass, one per line, e.g. "The answer names Paris as the capital."

Question:
{{ query }}

Checks:
"""


class UnitTestGenerate(BaseOperator):
    """Lines that are not tests are dropped (for code: anything that is not one
    syntactically valid ``assert``); zero tests is a valid, if useless, result."""

    spec_type = UnitTestGenerateSpec

    async def run(self, inputs: NodeInputs, ctx: OpContext) -> Tests:
        spec = ctx.spec
        assert isinstance(spec, UnitTestGenerateSpec)
        prompt = ctx.instructions(CODE if spec.kind == "code" else TEXT, count=spec.count)
        return written_tests(await ctx.complete(prompt), spec.kind, spec.count)
