"""The sandbox interface: untrusted code runs only through this."""

from __future__ import annotations

import json
import uuid
from abc import ABC
from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SandboxResult:
    returncode: int | None
    stdout: str
    stderr: str
    timed_out: bool
    duration_s: float

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out


class BaseSandbox(ABC):
    """Runs a Python program in isolation, with limits, and returns what it printed."""

    @abstractmethod
    async def run(self, code: str, *, timeout_s: float = 10.0, memory_mb: int = 512) -> SandboxResult:
        """Runs ``code`` as a program; never raises for a failure of the code itself."""


_HARNESS = """
import json as _json
_results = []
for _src in _json.loads({tests!r}):
    try:
        exec(compile(_src, "<test>", "exec"), globals())
        _results.append(True)
    except BaseException:
        _results.append(False)
print("\\n{marker}" + _json.dumps(_results))
"""


async def count_passed(
    sandbox: BaseSandbox, code: str, tests: Sequence[str], *, timeout_s: float = 10.0, memory_mb: int = 512
) -> int:
    """How many of the ``assert`` tests pass after ``code``, run in the sandbox: a crash,
    a time-out or unreadable output counts as none."""
    marker = "__ARCHON_RESULTS_" + uuid.uuid4().hex + "__"  # unguessable: no faked results
    program = code + "\n" + _HARNESS.format(tests=json.dumps(list(tests)), marker=marker)
    result = await sandbox.run(program, timeout_s=timeout_s, memory_mb=memory_mb)
    at = result.stdout.rfind(marker)
    if result.timed_out or at < 0:
        return 0
    try:
        values = json.loads(result.stdout[at + len(marker) :].strip().splitlines()[0])
    except (ValueError, IndexError):
        return 0
    return sum(1 for v in values if v is True)
