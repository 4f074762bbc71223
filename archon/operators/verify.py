"""verify: one call per candidate judges it; those judged correct go on."""

from __future__ import annotations

from archon._typing import Candidate
from archon.operators._base import BaseOperator
from archon.operators._base import NodeInputs
from archon.operators._base import OpContext
from archon.operators._base import all_of
from archon.operators._combine import verified
from archon.spec import VerifySpec

PROMPT = """\
Decide whether the answer to the question below is correct. Check it step by step, then end with one line: "Verdict: correct" or "Verdict: incorrect".

Question:
{{ query }}

Answer: {{ candidate.text }}
{% if candidate.critique %}A reviewer noted: {{ candidate.critique }}
{% endif %}
Check:"""


class Verify(BaseOperator):
    """Each candidate gets a verdict: correct, incorrect, or unknown when the reply has
    no verdict (never a crash). Those judged correct pass, in order, with critiques.
    When none is: ``on_none: keep_all`` passes all, ``keep_best`` the first."""

    spec_type = VerifySpec

    async def run(self, inputs: NodeInputs, ctx: OpContext) -> tuple[Candidate, ...]:
        spec = ctx.spec
        assert isinstance(spec, VerifySpec)
        cands = inputs.candidates
        replies = await all_of(ctx.complete(ctx.instructions(PROMPT, candidate=c)) for c in cands)
        return verified(cands, replies, spec.on_none)
