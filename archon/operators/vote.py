"""vote: self-consistency; the majority answer first. Makes no calls."""

from __future__ import annotations

import dataclasses

from archon._typing import Candidate
from archon.operators._base import BaseOperator
from archon.operators._base import NodeInputs
from archon.operators._base import OpContext
from archon.operators._parsing import normalize_answer
from archon.spec import VoteSpec


class Vote(BaseOperator):
    """Groups candidates by their normalized answer and orders the groups by size
    (ties: the group seen first wins). Each candidate's ``score`` is its group's share.
    Empty answers vote last."""

    spec_type = VoteSpec

    async def run(self, inputs: NodeInputs, ctx: OpContext) -> tuple[Candidate, ...]:
        spec = ctx.spec
        assert isinstance(spec, VoteSpec)
        groups: dict[str, list[Candidate]] = {}
        for c in inputs.candidates:
            groups.setdefault(normalize_answer(c.text, spec.normalize), []).append(c)
        n = len(inputs.candidates) or 1
        order = sorted(groups.items(), key=lambda kv: (kv[0] == "", -len(kv[1])))
        return tuple(dataclasses.replace(c, score=len(members) / n) for _, members in order for c in members)
