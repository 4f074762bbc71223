"""operators: each owns its prompt and its parser."""

from archon.errors import TemplateError
from archon.operators._base import OpContext
from archon.operators._base import Prompter
from archon.operators._core import BaseOperator
from archon.operators._core import Context
from archon.operators._core import NodeInputs
from archon.operators._core import all_of
from archon.operators._core import first_of
from archon.operators._core import run_node
from archon.operators._core import split_inputs
from archon.operators._parsing import extract_code
from archon.operators._parsing import normalize_answer
from archon.operators._registry import BUILTIN
from archon.operators._registry import node_types
from archon.operators._registry import operator_types
from archon.operators.critique import Critique
from archon.operators.fuse import Fuse
from archon.operators.generate import Generate
from archon.operators.rank import Rank
from archon.operators.unit_test_evaluate import UnitTestEvaluate
from archon.operators.unit_test_generate import UnitTestGenerate
from archon.operators.verify import Verify
from archon.operators.vote import Vote

__all__ = [
    "BUILTIN",
    "BaseOperator",
    "Context",
    "Critique",
    "Fuse",
    "Generate",
    "NodeInputs",
    "OpContext",
    "Prompter",
    "Rank",
    "TemplateError",
    "UnitTestEvaluate",
    "UnitTestGenerate",
    "Verify",
    "Vote",
    "all_of",
    "extract_code",
    "first_of",
    "node_types",
    "normalize_answer",
    "operator_types",
    "run_node",
    "split_inputs",
]
