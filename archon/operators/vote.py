"""vote: self-consistency; the majority answer first. Makes no calls."""

from __future__ import annotations

from archon._typing import Candidate
from archon.operators._combine import voted
from archon.operators._core import BaseOperator
from archon.operators._core import Context
from archon.operators._core import NodeInputs
from archon.spec import VoteSpec


class Vote(BaseOperator):
    """Groups candidates by their normalized answer and orders the groups by size
    (ties: the group seen first wins). Each candidate's ``score`` is its group's share.
    Empty answers vote last."""

    spec_type = VoteSpec

    async def run(self, inputs: NodeInputs, ctx: Context) -> tuple[Candidate, ...]:
        return voted(inputs.candidates, ctx.spec.normalize)
