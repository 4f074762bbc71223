"""verify: one call per candidate judges it; those judged correct go on."""

from __future__ import annotations

from archon._typing import Candidate
from archon.operators._combine import k_of
from archon.operators._combine import kept_by_verdict
from archon.operators._combine import with_verdicts
from archon.operators._core import BaseOperator
from archon.operators._core import Context
from archon.operators._core import NodeInputs
from archon.operators._core import all_of
from archon.spec import VerifySpec


class Verify(BaseOperator):
    """Each candidate gets a verdict: correct, incorrect, or unknown when the reply has
    no verdict (never a crash). Those judged correct pass, in order, with critiques.
    When none is: ``on_none: keep_all`` passes all, ``keep_best`` the first.

    ``judgments: m`` asks m times per candidate (samples 0..m-1 of the same call) and
    keeps a candidate when ``min_correct`` (k; default a majority) of them say correct.
    Every verdict is recorded (``verdicts``), so ``archon eval`` can measure the
    verifier's precision and recall against gold."""

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
        m = spec.judgments
        prompts = [ctx.instructions(self.PROMPTS["default"], candidate=c) for c in cands]
        replies = await all_of(ctx.complete(p, sample=j) for p in prompts for j in range(m))
        judged = with_verdicts(cands, replies, m, k_of(m, spec.min_correct))
        ctx.record("verdicts", judged)  # every candidate judged, for the verifier's precision/recall
        return kept_by_verdict(judged, spec.on_none)
