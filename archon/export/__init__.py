"""export: compiled pipelines as Python modules (``archon export``)."""

from archon.export._dspy import export_dspy
from archon.export._dspy import load_program_module
from archon.export._dspy import write_dspy
from archon.export._python import export_python
from archon.export._runtime import Program
from archon.export._runtime import QueryRun
from archon.export._runtime import Value
from archon.export._runtime import main
from archon.export._source import ExportSource
from archon.export._source import read_export_source
from archon.export._standalone import export_standalone

__all__ = [
    "ExportSource",
    "Program",
    "QueryRun",
    "Value",
    "export_dspy",
    "export_python",
    "export_standalone",
    "load_program_module",
    "main",
    "read_export_source",
    "write_dspy",
]
