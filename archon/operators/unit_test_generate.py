"""unit_test_generate: write ``count`` tests for the query (code asserts or text checks)."""

from __future__ import annotations

from typing import Any

from archon._typing import Tests
from archon.operators._combine import written_tests
from archon.operators._core import BaseOperator
from archon.operators._core import Context
from archon.operators._core import NodeInputs
from archon.spec import UnitTestGenerateSpec


class UnitTestGenerate(BaseOperator):
    """Lines that are not tests are dropped (for code: anything that is not one
    syntactically valid ``assert``); zero tests is a valid, if useless, result."""

    spec_type = UnitTestGenerateSpec
    PROMPTS = {
        "code": """\
Write {{ count }} Python assert statements that a correct solution to the task below must pass. One assert per line, nothing else.

Task:
{{ query }}

Tests:
""",
        "text": """\
Write {{ count }} short checks that a correct answer to the question below must pass, one per line, e.g. "The answer names Paris as the capital."

Question:
{{ query }}

Checks:
""",
    }

    async def run(self, inputs: NodeInputs, ctx: Context) -> Tests:
        spec = ctx.spec
        prompt = ctx.instructions(self.PROMPTS[self.prompt_name(spec)], count=spec.count)
        return written_tests(await ctx.complete(prompt), spec.kind, spec.count)

    @classmethod
    def prompt_name(cls, spec: Any) -> str:
        return str(getattr(spec, "kind", "text"))
