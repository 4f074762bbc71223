"""graph: the pipeline as a validated DAG."""

from archon.graph._graph import Graph
from archon.graph._graph import build_graph

__all__ = ["Graph", "build_graph"]
