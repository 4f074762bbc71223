"""Operator registry: the built-ins plus those registered by entry point.

A package registers an operator with an entry point in the group ``archon.operators``::

    [project.entry-points."archon.operators"]
    my_op = "my_pkg.ops:MyOp"      # a BaseOperator subclass; the name must be its key
"""

from __future__ import annotations

from importlib.metadata import entry_points

from archon.operators._base import BaseOperator
from archon.operators.critique import Critique
from archon.operators.fuse import Fuse
from archon.operators.generate import Generate
from archon.operators.rank import Rank
from archon.operators.unit_test_evaluate import UnitTestEvaluate
from archon.operators.unit_test_generate import UnitTestGenerate
from archon.operators.verify import Verify
from archon.operators.vote import Vote
from archon.spec import NodeSpec

BUILTIN: tuple[type[BaseOperator], ...] = (
    Generate,
    Critique,
    Rank,
    Fuse,
    Verify,
    Vote,
    UnitTestGenerate,
    UnitTestEvaluate,
)


def operator_types(extra: tuple[type[BaseOperator], ...] = ()) -> dict[str, type[BaseOperator]]:
    """Operator key → class: built-ins, then entry points, then ``extra``."""
    ops: dict[str, type[BaseOperator]] = {op.key: op for op in BUILTIN}
    for ep in entry_points(group="archon.operators"):
        cls = ep.load()
        if not (isinstance(cls, type) and issubclass(cls, BaseOperator)):
            raise TypeError(f"entry point archon.operators:{ep.name} is not a BaseOperator subclass")
        ops[cls.key] = cls
    for cls in extra:
        ops[cls.key] = cls
    return ops


def node_types(ops: dict[str, type[BaseOperator]]) -> dict[str, type[NodeSpec]]:
    return {k: v.spec_type for k, v in ops.items()}
