"""tune: a fixed architecture's prompts tuned with DSPy under a budget (``archon tune``).

Needs the ``dspy`` extra; importing this package imports DSPy.
"""

from archon.tune._tune import BudgetedLM
from archon.tune._tune import TuneBudgetExceeded
from archon.tune._tune import TuneLedger
from archon.tune._tune import TuneResult
from archon.tune._tune import budgeted
from archon.tune._tune import tune
from archon.tune._tune import tuned_yaml

__all__ = ["BudgetedLM", "TuneBudgetExceeded", "TuneLedger", "TuneResult", "budgeted", "tune", "tuned_yaml"]
