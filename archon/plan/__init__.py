"""plan: waves and static cost."""

from archon.plan._plan import BoundModel
from archon.plan._plan import Plan
from archon.plan._plan import PlannedNode
from archon.plan._plan import StaticCost
from archon.plan._plan import make_plan

__all__ = ["BoundModel", "Plan", "PlannedNode", "StaticCost", "make_plan"]
