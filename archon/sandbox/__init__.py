"""sandbox: the only place untrusted (generated) code runs."""

from archon.sandbox._base import BaseSandbox
from archon.sandbox._base import SandboxResult
from archon.sandbox._bwrap import BubblewrapSandbox
from archon.sandbox._bwrap import bwrap_problem
from archon.sandbox._bwrap import default_sandbox
from archon.sandbox._judge import count_passed
from archon.sandbox._judge import run_tests
from archon.sandbox._subprocess import SubprocessSandbox

__all__ = [
    "BaseSandbox",
    "BubblewrapSandbox",
    "SandboxResult",
    "SubprocessSandbox",
    "bwrap_problem",
    "count_passed",
    "default_sandbox",
    "run_tests",
]
