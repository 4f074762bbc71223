"""testing: helpers for archon's own tests and benchmarks (a scripted OpenAI-compatible server)."""

from archon.testing._openai_server import ServerProcess
from archon.testing._openai_server import free_port

__all__ = ["ServerProcess", "free_port"]
