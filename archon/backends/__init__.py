"""backends: one async interface for every model provider, plus cache and budgets."""

from archon.backends._base import BaseBackend
from archon.backends._base import Completion
from archon.backends._base import Request
from archon.backends._budget import Limits
from archon.backends._budget import QueryBudget
from archon.backends._budget import Reservation
from archon.backends._client import ClientSession
from archon.backends._client import ModelClient
from archon.backends._client import backend_class
from archon.backends._client import cache_key
from archon.backends._client import model_problem
from archon.backends._local import quiet_llama_logs
from archon.backends._local_model import resolve_local_model

__all__ = [
    "BaseBackend",
    "ClientSession",
    "Completion",
    "Limits",
    "ModelClient",
    "QueryBudget",
    "Request",
    "Reservation",
    "backend_class",
    "cache_key",
    "model_problem",
    "quiet_llama_logs",
    "resolve_local_model",
]
