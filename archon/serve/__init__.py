"""serve: a compiled pipeline (or a finished search's Pareto points) as an
OpenAI-compatible model (``archon serve``)."""

from archon.serve._app import create_app
from archon.serve._targets import Router
from archon.serve._targets import Served
from archon.serve._targets import Target
from archon.serve._targets import load_served

__all__ = ["Router", "Served", "Target", "create_app", "load_served"]
