"""rank: one call orders the candidates; the best ``top_k`` go on, best first."""

from __future__ import annotations

from typing import Any

from archon._typing import Candidate
from archon.operators._combine import judged_orders
from archon.operators._combine import pair_schedule
from archon.operators._combine import rank_needs_call
from archon.operators._combine import ranked
from archon.operators._combine import ranked_pairwise
from archon.operators._core import BaseOperator
from archon.operators._core import Context
from archon.operators._core import NodeInputs
from archon.operators._core import all_of
from archon.spec import RankSpec


class Rank(BaseOperator):
    """The ranking is repaired when the model's is partial: out-of-range and repeated
    ids are dropped and missing ones keep their original order, so rank never fails on
    bad output. Critiques travel with their candidates.

    ``method: pairwise`` instead judges pairs of candidates, each pair in both orders (so
    a judge's preference for the first answer cancels out), and orders the candidates by
    their Bradley–Terry strength (the score); ``pairs`` caps how many pairs are compared.
    """

    spec_type = RankSpec
    PROMPTS = {
        "list": """\
Rank the {{ candidates | length }} candidate answers to the question below from best to worst (most correct, helpful and complete first).

Question:
{{ query }}

{% for c in candidates %}[{{ loop.index }}] {{ c.text }}
{% if c.critique %}Critique of [{{ loop.index }}]: {{ c.critique }}
{% endif %}{% endfor %}
Reply with the ranking only, best first, like: [2] > [1] > [3]
Ranking:""",
        "pairwise": """\
Which of the two answers to the question below is better (more correct, helpful and complete)?

Question:
{{ query }}

Answer A: {{ first.text }}
{% if first.critique %}Critique of A: {{ first.critique }}
{% endif %}Answer B: {{ second.text }}
{% if second.critique %}Critique of B: {{ second.critique }}
{% endif %}
Reply with one letter, A or B.
Better answer:""",
    }

    async def run(self, inputs: NodeInputs, ctx: Context) -> tuple[Candidate, ...]:
        spec = ctx.spec
        cands = inputs.candidates
        prompt = self.PROMPTS[self.prompt_name(spec)]
        if spec.method == "pairwise" and rank_needs_call(cands):
            schedule = pair_schedule(len(cands), spec.pairs)
            prompts = [ctx.instructions(prompt, first=cands[a], second=cands[b]) for a, b in judged_orders(schedule)]
            return ranked_pairwise(cands, schedule, await all_of(ctx.complete(p) for p in prompts), spec.top_k)
        reply = await ctx.complete(ctx.instructions(prompt, candidates=cands)) if rank_needs_call(cands) else None
        return ranked(cands, reply, spec.top_k)

    @classmethod
    def prompt_name(cls, spec: Any) -> str:
        return "pairwise" if getattr(spec, "method", "list") == "pairwise" else "list"
