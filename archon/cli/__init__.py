"""cli: the ``archon`` command."""

from archon.cli._main import main
from archon.cli._parser import build_parser

__all__ = ["build_parser", "main"]
