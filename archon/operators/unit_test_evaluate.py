"""unit_test_evaluate: order candidates by tests passed (code in the sandbox, text judged)."""

from __future__ import annotations

import asyncio
from typing import Any

from archon._typing import Candidate
from archon._typing import Tests
from archon.operators._combine import by_tests
from archon.operators._combine import judged_passes
from archon.operators._combine import suite_for
from archon.operators._core import BaseOperator
from archon.operators._core import Context
from archon.operators._core import NodeInputs
from archon.operators._parsing import extract_code
from archon.spec import UnitTestEvaluateSpec


class UnitTestEvaluate(BaseOperator):
    """Code tests run in the sandbox: the candidate's code (its fenced blocks, or its
    text) then each assert; a crash, time-out or unparseable output counts as all
    failed. Text tests cost one judge call per candidate; an unreported test fails.
    Ties keep the input order."""

    spec_type = UnitTestEvaluateSpec
    PROMPTS = {
        "judge": """\
Check the answer below against each test. For every test write one line "Test <number>: Passed" or "Test <number>: Failed".

Question:
{{ query }}

Answer: {{ candidate.text }}

Tests:
{% for t in tests %}Test {{ loop.index }}: {{ t }}
{% endfor %}
Results:
""",
    }

    async def run(self, inputs: NodeInputs, ctx: Context) -> tuple[Candidate, ...]:
        spec = ctx.spec
        tests = suite_for(inputs.tests, ctx.query.fields, spec.tests_field, spec.tests_kind)
        cands = inputs.candidates
        if tests is None or not tests.items:
            return by_tests(cands, None, 0, spec.top_k)
        runner = self._run_code if tests.kind == "code" else self._judge
        passed = await asyncio.gather(*(runner(c, tests, ctx, spec) for c in cands))
        return by_tests(cands, passed, len(tests.items), spec.top_k)

    @staticmethod
    async def _run_code(c: Candidate, tests: Tests, ctx: Context, spec: Any) -> int:
        return await ctx.run_tests(
            extract_code(c.text), tests.items, timeout_s=spec.timeout_s, memory_mb=spec.memory_mb
        )

    async def _judge(self, c: Candidate, tests: Tests, ctx: Context, spec: Any) -> int:
        reply = await ctx.complete(ctx.instructions(self.PROMPTS["judge"], candidate=c, tests=tests.items))
        return judged_passes(reply, len(tests.items))
