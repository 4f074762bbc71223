"""cli: the ``archon`` command."""

from archon.cli._main import build_parser
from archon.cli._main import main

__all__ = ["build_parser", "main"]
