"""fuse: merge the candidates (and their critiques) into one better answer."""

from __future__ import annotations

from archon._typing import Candidate
from archon.operators._combine import fused
from archon.operators._core import BaseOperator
from archon.operators._core import Context
from archon.operators._core import NodeInputs
from archon.operators._core import all_of
from archon.spec import FuseSpec


class Fuse(BaseOperator):
    """``samples`` fused answers (sample index i each). An empty fused answer falls back
    to the first input candidate, so a weak model never turns an answer into nothing."""

    spec_type = FuseSpec
    PROMPTS = {
        "default": """\
You are given a question and {{ candidates | length }} answers written by other assistants. Some may be wrong, incomplete or biased. Write one answer that keeps what is correct in them and fixes what is wrong. Do not mention the other answers.

Question:
{{ query }}

{% for c in candidates %}Answer {{ loop.index }}: {{ c.text }}
{% if c.critique %}Critique of answer {{ loop.index }}: {{ c.critique }}
{% endif %}{% endfor %}
Final answer:""",
    }

    async def run(self, inputs: NodeInputs, ctx: Context) -> tuple[Candidate, ...]:
        spec = ctx.spec
        cands = inputs.candidates
        if not cands:
            return ()
        prompt = ctx.instructions(self.PROMPTS["default"], candidates=cands)
        texts = await all_of(ctx.complete(prompt, sample=i) for i in range(spec.samples))
        return fused(cands, texts, ctx.node_id, ctx.model_names[0])
