"""verify: one call per candidate judges it; those judged correct go on."""

from __future__ import annotations

from archon._typing import Candidate
from archon.operators._combine import verified
from archon.operators._core import BaseOperator
from archon.operators._core import Context
from archon.operators._core import NodeInputs
from archon.operators._core import all_of
from archon.spec import VerifySpec


class Verify(BaseOperator):
    """Each candidate gets a verdict: correct, incorrect, or unknown when the reply has
    no verdict (never a crash). Those judged correct pass, in order, with critiques.
    When none is: ``on_none: keep_all`` passes all, ``keep_best`` the first."""

    spec_type = VerifySpec
    PROMPTS = {
        "default": """\
Decide whether the answer to the question below is correct. Check it step by step, then end with one line: "Verdict: correct" or "Verdict: incorrect".

Question:
{{ query }}

Answer: {{ candidate.text }}
{% if candidate.critique %}A reviewer noted: {{ candidate.critique }}
{% endif %}
Check:""",
    }

    async def run(self, inputs: NodeInputs, ctx: Context) -> tuple[Candidate, ...]:
        spec = ctx.spec
        cands = inputs.candidates
        replies = await all_of(ctx.complete(ctx.instructions(self.PROMPTS["default"], candidate=c)) for c in cands)
        return verified(cands, replies, spec.on_none)
