"""The sandbox interface: untrusted code runs only through this."""

from __future__ import annotations

import asyncio
import contextlib
import time
from abc import ABC
from abc import abstractmethod
from dataclasses import dataclass

#: What is kept of a program's stdout or stderr; a program printing more is killed.
MAX_OUTPUT = 1 << 20
#: The longest protocol line read from a sandboxed process.
MAX_LINE = 4 << 20


@dataclass(frozen=True, slots=True)
class SandboxResult:
    returncode: int | None
    stdout: str
    stderr: str
    timed_out: bool
    duration_s: float
    flooded: bool = False

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out and not self.flooded


class Running:
    """A started sandboxed program: its pipes, and a kill that takes every process it made."""

    def __init__(self, proc: asyncio.subprocess.Process, kill: object) -> None:
        self.proc = proc
        self._kill = kill

    def kill(self) -> None:
        self._kill()  # type: ignore[operator]


class BaseSandbox(ABC):
    """Runs a Python program in isolation, with limits.

    ``isolation`` says in words what separates the program from the host (shown by
    ``archon eval``)."""

    isolation: str = "none"
    max_parallel: int = 2

    def slot(self) -> asyncio.Semaphore:
        """The limit on programs run at once (one semaphore per event loop)."""
        loop_id = id(asyncio.get_running_loop())
        sems: dict[int, asyncio.Semaphore] = self.__dict__.setdefault("_sems", {})
        if loop_id not in sems:
            sems.clear()
            sems[loop_id] = asyncio.Semaphore(self.max_parallel)
        return sems[loop_id]

    @abstractmethod
    def start(
        self, code: str, *, timeout_s: float = 10.0, memory_mb: int = 512, stderr: bool = True, hold: bool = True
    ) -> contextlib.AbstractAsyncContextManager[Running]:
        """Starts ``code`` as a program with stdin/stdout (and stderr) pipes; leaving the
        context kills whatever is left of it and removes its files. ``hold``: take a
        :meth:`slot` for it (False when the caller holds one for several programs)."""

    async def run(self, code: str, *, timeout_s: float = 10.0, memory_mb: int = 512) -> SandboxResult:
        """Runs ``code`` as a program; never raises for a failure of the code itself. Output
        is read as it comes: past :data:`MAX_OUTPUT` on either stream the program is killed."""
        t0 = time.perf_counter()
        async with self.start(code, timeout_s=timeout_s, memory_mb=memory_mb) as run:
            proc = run.proc
            assert proc.stdout is not None and proc.stderr is not None and proc.stdin is not None
            proc.stdin.close()
            flooded = False

            async def drain(stream: asyncio.StreamReader) -> bytes:
                nonlocal flooded
                kept = bytearray()
                while chunk := await stream.read(65536):
                    kept += chunk
                    if len(kept) > MAX_OUTPUT:
                        flooded = True
                        run.kill()
                        break
                return bytes(kept[:MAX_OUTPUT])

            timed_out = False
            reads = asyncio.gather(drain(proc.stdout), drain(proc.stderr))
            try:
                out, err = await asyncio.wait_for(reads, timeout=timeout_s)
                await asyncio.wait_for(proc.wait(), timeout=max(1.0, timeout_s))
            except TimeoutError:
                timed_out = True
                run.kill()
                out, err = b"", b""
            code_ = proc.returncode
        return SandboxResult(
            returncode=code_,
            stdout=out.decode("utf-8", "replace"),
            stderr=err.decode("utf-8", "replace"),
            timed_out=timed_out,
            duration_s=time.perf_counter() - t0,
            flooded=flooded,
        )
