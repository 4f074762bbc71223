"""evaluate: datasets, metrics and scoring (``archon eval``)."""

from archon.evaluate._datasets import Dataset
from archon.evaluate._datasets import Example
from archon.evaluate._datasets import load_file
from archon.evaluate._eval import EvalResult
from archon.evaluate._eval import ItemScore
from archon.evaluate._eval import aevaluate
from archon.evaluate._math import last_boxed
from archon.evaluate._math import math_equal
from archon.evaluate._math import normalize_math
from archon.evaluate._metrics import BUILTIN as METRICS
from archon.evaluate._metrics import Metric
from archon.evaluate._metrics import get_metric
from archon.evaluate._metrics import last_number
from archon.evaluate._stats import bootstrap_ci
from archon.evaluate._stats import pass_at_k

__all__ = [
    "METRICS",
    "Dataset",
    "EvalResult",
    "Example",
    "ItemScore",
    "Metric",
    "aevaluate",
    "bootstrap_ci",
    "get_metric",
    "last_boxed",
    "last_number",
    "load_file",
    "math_equal",
    "normalize_math",
    "pass_at_k",
]
