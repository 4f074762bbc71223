"""search: architecture search over a space of pipelines (``archon optimize``)."""

from archon.search._ledger import Spend
from archon.search._optimize import aoptimize
from archon.search._param import Param
from archon.search._power_ranking import rank_models
from archon.search._records import TrialRecord
from archon.search._results import SearchResult
from archon.search._results import StudyTrial
from archon.search._results import load_study_result
from archon.search._results import study_trial
from archon.search._simplify import effective_params
from archon.search._space import SearchSpace
from archon.search._space import parse_space
from archon.search._space import parse_space_file
from archon.search._strategy_names import STRATEGIES
from archon.search._task import dump_space
from archon.search._task import task_space
from archon.search._workers import MAX_WORKERS

__all__ = [
    "MAX_WORKERS",
    "Param",
    "STRATEGIES",
    "SearchResult",
    "SearchSpace",
    "Spend",
    "StudyTrial",
    "TrialRecord",
    "aoptimize",
    "dump_space",
    "effective_params",
    "load_study_result",
    "parse_space",
    "parse_space_file",
    "rank_models",
    "study_trial",
    "task_space",
]
