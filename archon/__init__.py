"""archon: a declarative compiler for inference-time LLM systems."""

from archon._pipeline import Pipeline
from archon._pipeline import load
from archon._typing import Candidate
from archon._typing import Query
from archon._typing import Tests
from archon._typing import Usage
from archon.backends import Limits
from archon.errors import ArchonError
from archon.errors import BackendError
from archon.errors import BudgetExceededError
from archon.errors import ConfigurationError
from archon.errors import SpecError
from archon.execute import ItemResult
from archon.execute import RunResult

__version__ = "0.1.0"

__all__ = [
    "ArchonError",
    "BackendError",
    "BudgetExceededError",
    "Candidate",
    "ConfigurationError",
    "ItemResult",
    "Limits",
    "Pipeline",
    "Query",
    "RunResult",
    "SpecError",
    "Tests",
    "Usage",
    "load",
]
