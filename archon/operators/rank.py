"""rank: one call orders the candidates; the best ``top_k`` go on, best first."""

from __future__ import annotations

from archon._typing import Candidate
from archon.operators._base import BaseOperator
from archon.operators._base import NodeInputs
from archon.operators._base import OpContext
from archon.operators._combine import rank_needs_call
from archon.operators._combine import ranked
from archon.spec import RankSpec

PROMPT = """\
Rank the {{ candidates | length }} candidate answers to the question below from best to worst (most correct, helpful and complete first).

Question:
{{ query }}

{% for c in candidates %}[{{ loop.index }}] {{ c.text }}
{% if c.critique %}Critique of [{{ loop.index }}]: {{ c.critique }}
{% endif %}{% endfor %}
Reply with the ranking only, best first, like: [2] > [1] > [3]
Ranking:"""


class Rank(BaseOperator):
    """The ranking is repaired when the model's is partial: out-of-range and repeated
    ids are dropped and missing ones keep their original order, so rank never fails on
    bad output. Critiques travel with their candidates."""

    spec_type = RankSpec

    async def run(self, inputs: NodeInputs, ctx: OpContext) -> tuple[Candidate, ...]:
        spec = ctx.spec
        assert isinstance(spec, RankSpec)
        cands = inputs.candidates
        reply = await ctx.complete(ctx.instructions(PROMPT, candidates=cands)) if rank_needs_call(cands) else None
        return ranked(cands, reply, spec.top_k)
