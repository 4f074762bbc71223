"""critique: one call writes strengths and weaknesses of every candidate."""

from __future__ import annotations

from archon._typing import Candidate
from archon.operators._combine import critiqued
from archon.operators._core import BaseOperator
from archon.operators._core import Context
from archon.operators._core import NodeInputs
from archon.spec import CritiqueSpec


class Critique(BaseOperator):
    """Candidates pass through unchanged, each with its critique attached, so critiques
    stay aligned through later rank and verify nodes. A critique the model did not
    write (unparseable output) is left empty (None)."""

    spec_type = CritiqueSpec
    PROMPTS = {
        "default": """\
Below are a question and {{ candidates | length }} candidate answers. For each answer, write a short critique: what it gets right and what it gets wrong.

Question:
{{ query }}

{% for c in candidates %}[{{ loop.index }}] {{ c.text }}
{% endfor %}
Write one block per answer, each starting with its number in brackets, e.g. "[1] Strengths: ... Weaknesses: ...".
""",
    }

    async def run(self, inputs: NodeInputs, ctx: Context) -> tuple[Candidate, ...]:
        cands = inputs.candidates
        if not cands:
            return ()
        return critiqued(cands, await ctx.complete(ctx.instructions(self.PROMPTS["default"], candidates=cands)))
