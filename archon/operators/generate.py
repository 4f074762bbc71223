"""generate: ``samples`` answers from each listed model."""

from __future__ import annotations

from archon._typing import Candidate
from archon.operators._combine import generated
from archon.operators._combine import majority_settled
from archon.operators._combine import sample_waves
from archon.operators._core import BaseOperator
from archon.operators._core import Context
from archon.operators._core import NodeInputs
from archon.operators._core import all_of
from archon.operators._core import first_of
from archon.spec import GenerateSpec


class Generate(BaseOperator):
    """Prompt: the node's template over the item (default ``{{ input }}``), sent as is;
    an item with chat ``messages`` and no template is sent as that conversation.

    Sample i of model m is request i of the (prompt, model, sampling) context, so
    ``samples: 5`` reuses the first five samples of ``samples: 10``. A failed sample
    fails the item (it is retried first by the backend layer).

    With ``early_stop`` the samples are drawn in waves of ``wave`` per model and
    drawing stops once the leading answer is settled (:func:`majority_settled`);
    ``samples`` is the maximum, which is what the budget reserves.

    With ``first: k`` every sample is launched at once and the first k to finish are
    kept, in finish order (first-finish search); the rest are cancelled — one still
    waiting for a slot is never sent, one in flight is abandoned (a hosted API may bill
    the tokens it generated; they are counted as ``cancelled``, never cached).
    """

    spec_type = GenerateSpec

    async def run(self, inputs: NodeInputs, ctx: Context) -> tuple[Candidate, ...]:
        spec = ctx.spec
        conversation = ctx.conversation()
        prompt = ctx.query_text()
        models = ctx.model_names
        if spec.first:  # first-finish: every sample launched, the first `first` kept
            every = sample_waves(len(models), spec.samples, None)[0]
            calls = (ctx.complete(prompt, sample=i, model=m, conversation=conversation) for m, i in every)
            done = await first_of(calls, spec.first)
            return generated([t for _, t in done], [every[j] for j, _ in done], ctx.node_id, list(models))
        jobs: list[tuple[int, int]] = []
        texts: list[str] = []
        for wave in sample_waves(len(models), spec.samples, spec.wave if spec.early_stop else None):
            texts += await all_of(ctx.complete(prompt, sample=i, model=m, conversation=conversation) for m, i in wave)
            jobs += wave
            if spec.early_stop and majority_settled(texts, spec.normalize, spec.early_stop):
                break
        return generated(texts, jobs, ctx.node_id, list(models))
