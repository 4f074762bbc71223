"""testing: helpers for archon's own tests and benchmarks (a scripted OpenAI-compatible
server, and starting a server process until it answers)."""

from archon.testing._openai_server import ServerProcess
from archon.testing._openai_server import free_port
from archon.testing._process import running_server
from archon.testing._process import wait_until_serving

__all__ = ["ServerProcess", "free_port", "running_server", "wait_until_serving"]
