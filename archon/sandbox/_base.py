"""The sandbox interface: untrusted code runs only through this."""

from __future__ import annotations

from abc import ABC
from abc import abstractmethod
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
