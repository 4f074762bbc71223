"""execute: the async wave executor."""

from archon.execute._executor import ItemResult
from archon.execute._executor import RunResult
from archon.execute._executor import execute
from archon.execute._executor import static_check

__all__ = ["ItemResult", "RunResult", "execute", "static_check"]
