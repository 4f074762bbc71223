"""unit_test_evaluate: order candidates by tests passed (code in the sandbox, text judged)."""

from __future__ import annotations

import asyncio
import dataclasses

from archon._typing import Candidate
from archon._typing import Tests
from archon.operators._base import BaseOperator
from archon.operators._base import NodeInputs
from archon.operators._base import OpContext
from archon.operators._parsing import extract_code
from archon.operators._parsing import parse_test_results
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
        tests = inputs.merged_tests() or self._field_tests(ctx, spec)
        cands = inputs.candidates
        if tests is None or not tests.items:
            scored = tuple(dataclasses.replace(c, tests_passed=0, tests_total=0) for c in cands)
        else:
            runner = self._run_code if tests.kind == "code" else self._judge
            passed = await asyncio.gather(*(runner(c, tests, ctx, spec) for c in cands))
            scored = tuple(
                dataclasses.replace(c, tests_passed=p, tests_total=len(tests.items))
                for c, p in zip(cands, passed, strict=True)
            )
        ordered = sorted(scored, key=lambda c: -(c.tests_passed or 0))
        return tuple(ordered[: spec.top_k] if spec.top_k else ordered)

    @staticmethod
    def _field_tests(ctx: OpContext, spec: UnitTestEvaluateSpec) -> Tests | None:
        if not spec.tests_field:
            return None
        raw = ctx.query.fields.get(spec.tests_field)
        if raw is None:
            return None
        items = raw.splitlines() if isinstance(raw, str) else [str(x) for x in raw]
        return Tests(spec.tests_kind, tuple(i for i in items if i.strip()))

    @staticmethod
    async def _run_code(c: Candidate, tests: Tests, ctx: OpContext, spec: UnitTestEvaluateSpec) -> int:
        return await count_passed(
            ctx.sandbox, extract_code(c.text), tests.items, timeout_s=spec.timeout_s, memory_mb=spec.memory_mb
        )

    @staticmethod
    async def _judge(c: Candidate, tests: Tests, ctx: OpContext, spec: UnitTestEvaluateSpec) -> int:
        reply = await ctx.complete(ctx.instructions(JUDGE, candidate=c, tests=tests.items))
        return sum(1 for r in parse_test_results(reply, len(tests.items)) if r)
