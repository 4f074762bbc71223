"""evaluate: datasets, metrics and scoring (``archon eval``)."""

from archon.evaluate._benchmarks import BENCHMARKS
from archon.evaluate._benchmarks import load_benchmark
from archon.evaluate._datasets import Dataset
from archon.evaluate._datasets import Example
from archon.evaluate._datasets import load_file
from archon.evaluate._eval import EvalResult
from archon.evaluate._eval import ItemScore
from archon.evaluate._eval import aevaluate
from archon.evaluate._eval import make_judge
from archon.evaluate._judge import Judge
from archon.evaluate._judge import parse_rating
from archon.evaluate._math import last_boxed
from archon.evaluate._math import math_equal
from archon.evaluate._math import normalize_math
from archon.evaluate._metrics import BUILTIN as METRICS
from archon.evaluate._metrics import Metric
from archon.evaluate._metrics import get_metric
from archon.evaluate._metrics import last_number
from archon.evaluate._stats import bootstrap_ci
from archon.evaluate._stats import paired_bootstrap_ci
from archon.evaluate._stats import pass_at_k
from archon.evaluate._verifiers import VerifierStats
from archon.evaluate._verifiers import verifier_stats

__all__ = [
    "BENCHMARKS",
    "Dataset",
    "EvalResult",
    "Example",
    "ItemScore",
    "Judge",
    "METRICS",
    "Metric",
    "VerifierStats",
    "aevaluate",
    "bootstrap_ci",
    "get_metric",
    "last_boxed",
    "last_number",
    "load_benchmark",
    "load_file",
    "make_judge",
    "math_equal",
    "normalize_math",
    "paired_bootstrap_ci",
    "parse_rating",
    "pass_at_k",
    "verifier_stats",
]
