"""A subprocess sandbox: own process group, rlimits, private temp dir, no network.

Isolation: a fresh ``python -I`` in an empty temporary directory with a minimal
environment; CPU, address space, file size, open files and process count limited by
``setrlimit``; a new network namespace when the kernel allows it (root or user
namespaces), and in any case a socket guard. It is accident-proofing for generated
code, not a security boundary against a determined attacker (hardening comes later).
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import resource
import shutil
import signal
import sys
import tempfile
import time

from archon.sandbox._base import BaseSandbox
from archon.sandbox._base import SandboxResult

_CLONE_NEWNET = 0x40000000
_CLONE_NEWUSER = 0x10000000
_MAX_OUTPUT = 1 << 20

_GUARD = """\
import socket as _s
def _no_network(*a, **k):
    raise OSError("network access is disabled in the archon sandbox")
_s.socket = _no_network
_s.create_connection = _no_network
del _s
"""


def _limits(timeout_s: float, memory_mb: int) -> None:
    os.setsid()
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(_CLONE_NEWNET) != 0:
        libc.unshare(_CLONE_NEWUSER | _CLONE_NEWNET)
    cpu = int(timeout_s) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    mem = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
    resource.setrlimit(resource.RLIMIT_FSIZE, (16 << 20, 16 << 20))
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
    resource.setrlimit(resource.RLIMIT_NPROC, (256, 256))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


class SubprocessSandbox(BaseSandbox):
    """Each program in its own ``python -I`` process; at most ``max_parallel`` at once."""

    def __init__(self, max_parallel: int | None = None, python: str | None = None) -> None:
        self.max_parallel = max_parallel or (os.cpu_count() or 2)
        self.python = python or sys.executable
        self._sems: dict[int, asyncio.Semaphore] = {}

    def _sem(self) -> asyncio.Semaphore:
        loop_id = id(asyncio.get_running_loop())
        if loop_id not in self._sems:
            self._sems = {loop_id: asyncio.Semaphore(self.max_parallel)}
        return self._sems[loop_id]

    async def run(self, code: str, *, timeout_s: float = 10.0, memory_mb: int = 512) -> SandboxResult:
        async with self._sem():
            return await self._run(code, timeout_s, memory_mb)

    async def _run(self, code: str, timeout_s: float, memory_mb: int) -> SandboxResult:
        tmp = tempfile.mkdtemp(prefix="archon-sandbox-")
        try:
            path = os.path.join(tmp, "main.py")
            with open(path, "w", encoding="utf-8") as f:
                f.write(_GUARD + code)
            env = {"PATH": "/usr/bin:/bin", "HOME": tmp, "TMPDIR": tmp, "LANG": "C.UTF-8", "PYTHONHASHSEED": "0"}
            t0 = time.perf_counter()
            proc = await asyncio.create_subprocess_exec(
                self.python,
                "-I",
                path,
                cwd=tmp,
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                preexec_fn=lambda: _limits(timeout_s, memory_mb),
            )
            timed_out = False
            try:
                out, err = await asyncio.wait_for(proc.communicate(), timeout=timeout_s)
            except TimeoutError:
                timed_out = True
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                out, err = await proc.communicate()
            finally:
                if proc.returncode is None:
                    try:
                        os.killpg(proc.pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
            return SandboxResult(
                returncode=proc.returncode,
                stdout=out[:_MAX_OUTPUT].decode("utf-8", "replace"),
                stderr=err[:_MAX_OUTPUT].decode("utf-8", "replace"),
                timed_out=timed_out,
                duration_s=time.perf_counter() - t0,
            )
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
