"""unit_test_evaluate: order candidates by tests passed (code in the sandbox, text judged)."""

from __future__ import annotations

import asyncio

from archon._typing import Candidate
from archon._typing import Tests
from archon.operators._base import BaseOperator
from archon.operators._base import NodeInputs
from archon.operators._base import OpContext
from archon.operators._combine import by_tests
from archon.operators._combine import judged_passes
from archon.operators._combine import suite_for
from archon.operators._parsing import extract_code
from archon.sandbox import count_passed
from archon.spec import UnitTestEvaluateSpec

JUDGE = """\
Check the answer below against each test. For every test write one line "Test <number>: Passed" or "Test <number>: Failed".

Question:
{{ query }}

Answer: {{ candidate.text }}

Tests:
{% for t in tests %}Test {{ loop.index }}: {{ t }}
{% endfor %}
Results:
"""


class UnitTestEvaluate(BaseOperator):
    """Code tests run in the sandbox: the candidate's code (its fenced blocks, or its
    text) then each assert; a crash, time-out or unparseable output counts as all
    failed. Text tests cost one judge call per candidate; an unreported test fails.
    Ties keep the input order."""

    spec_type = UnitTestEvaluateSpec

    async def run(self, inputs: NodeInputs, ctx: OpContext) -> tuple[Candidate, ...]:
        spec = ctx.spec
        assert isinstance(spec, UnitTestEvaluateSpec)
        tests = suite_for(inputs.tests, ctx.query.fields, spec.tests_field, spec.tests_kind)
        cands = inputs.candidates
        if tests is None or not tests.items:
            return by_tests(cands, None, 0, spec.top_k)
        runner = self._run_code if tests.kind == "code" else self._judge
        passed = await asyncio.gather(*(runner(c, tests, ctx, spec) for c in cands))
        return by_tests(cands, passed, len(tests.items), spec.top_k)

    @staticmethod
    async def _run_code(c: Candidate, tests: Tests, ctx: OpContext, spec: UnitTestEvaluateSpec) -> int:
        return await count_passed(
            ctx.sandbox, extract_code(c.text), tests.items, timeout_s=spec.timeout_s, memory_mb=spec.memory_mb
        )

    @staticmethod
    async def _judge(c: Candidate, tests: Tests, ctx: OpContext, spec: UnitTestEvaluateSpec) -> int:
        reply = await ctx.complete(ctx.instructions(JUDGE, candidate=c, tests=tests.items))
        return judged_passes(reply, len(tests.items))
