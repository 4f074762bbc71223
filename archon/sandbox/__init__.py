"""sandbox: the only place untrusted (generated) code runs."""

from archon.sandbox._base import BaseSandbox
from archon.sandbox._base import SandboxResult
from archon.sandbox._base import count_passed
from archon.sandbox._subprocess import SubprocessSandbox

__all__ = ["BaseSandbox", "SandboxResult", "SubprocessSandbox", "count_passed"]
