"""A subprocess sandbox: own session, rlimits, private temp dir, no network.

Isolation: a fresh ``python -I`` in an empty temporary directory with a minimal
environment (no API keys); CPU, address space, file size, open files and process count
limited by ``setrlimit``; a new network namespace when the kernel allows it (root or
user namespaces), and a socket guard in any case; the whole process group is killed at
the end. Run as root, the program also drops to the unprivileged ``nobody`` user, so it
cannot write outside its temp dir (nor anywhere root owns), signal archon, or escape the
process limit. As an ordinary user it runs as that user: accident-proofing for
generated code, not a boundary against a determined attacker.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import pwd
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


def _limits(timeout_s: float, memory_mb: int, drop_to: tuple[int, int] | None) -> None:
    """Runs in the child between fork and exec."""
    os.setsid()
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(_CLONE_NEWNET) != 0 and drop_to is None:
        libc.unshare(_CLONE_NEWUSER | _CLONE_NEWNET)
    cpu = int(timeout_s) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    mem = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
    resource.setrlimit(resource.RLIMIT_FSIZE, (16 << 20, 16 << 20))
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
    resource.setrlimit(resource.RLIMIT_NPROC, (128, 128))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if drop_to is not None:
        uid, gid = drop_to
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)


def _world_executable(path: str) -> bool:
    """Whether a user with no rights but 'other' can execute ``path``."""
    real = os.path.realpath(path)
    parts = real.split(os.sep)
    for i in range(2, len(parts)):
        if not os.stat(os.sep.join(parts[:i]) or os.sep).st_mode & 0o001:
            return False
    return bool(os.stat(real).st_mode & 0o001)


def _unprivileged() -> tuple[int, int] | None:
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam("nobody")
    except KeyError:
        return None
    return entry.pw_uid, entry.pw_gid


def _interpreter(python: str | None, dropping: bool) -> str:
    if python:
        return python
    if not dropping:
        return sys.executable
    base = getattr(sys, "_base_executable", "")
    for candidate in (sys.executable, base, shutil.which("python3") or "", "/usr/bin/python3"):
        if candidate and os.path.exists(candidate) and _world_executable(candidate):
            return candidate
    return sys.executable


class SubprocessSandbox(BaseSandbox):
    """Each program in its own ``python -I`` process; at most ``max_parallel`` at once."""

    def __init__(self, max_parallel: int | None = None, python: str | None = None) -> None:
        self.max_parallel = max_parallel or (os.cpu_count() or 2)
        self.drop_to = _unprivileged()
        self.python = _interpreter(python, self.drop_to is not None)
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
            if self.drop_to is not None:
                os.chown(tmp, *self.drop_to)
                os.chown(path, *self.drop_to)
            env = {"PATH": "/usr/bin:/bin", "HOME": tmp, "TMPDIR": tmp, "LANG": "C.UTF-8", "PYTHONHASHSEED": "0"}
            drop_to = self.drop_to
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
                preexec_fn=lambda: _limits(timeout_s, memory_mb, drop_to),
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
                try:  # whatever it left behind in its group dies with it
                    os.killpg(proc.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
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
