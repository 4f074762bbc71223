"""The weaker fallback sandbox: a subprocess with rlimits, for machines without bubblewrap.

Isolation: a fresh ``python -I`` in an empty temporary directory with a minimal
environment (no API keys); CPU, address space, file size, open files and process count
limited by ``setrlimit``; a new network namespace when the kernel allows it (root or
user namespaces), and a socket guard in any case; the whole process group is killed at
the end, and a cgroup (memory and process caps per program, every process in it killed
at the end) where one is writable. Run as root, the program also drops to a user id of
its own, so it cannot write where root owns, signal archon or a sibling program, or
escape the process limit. It still sees the host's filesystem read-only as that user,
/tmp included: accident-proofing for generated code, not a boundary against a determined
attacker. :class:`~archon.sandbox.BubblewrapSandbox` is that boundary.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import random
import resource
import shutil
import signal
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

from archon.sandbox._base import MAX_LINE
from archon.sandbox._base import BaseSandbox
from archon.sandbox._base import Running

_CLONE_NEWNET = 0x40000000
_CLONE_NEWUSER = 0x10000000

_GUARD = """\
import socket as _s
def _no_network(*a, **k):
    raise OSError("network access is disabled in the archon sandbox")
_s.socket = _no_network
_s.create_connection = _no_network
del _s
"""


def fresh_uid() -> int:
    """A user id no other program uses: each sandboxed program gets its own."""
    return random.SystemRandom().randint(2_000_000, 2_000_000_000)


class Cgroup:
    """A cgroup (v1 or v2) capping one program's memory and processes, where the machine
    lets archon create one; :meth:`make` returns None where it does not."""

    def __init__(self, dirs: list[Path]) -> None:
        self.dirs = dirs

    @staticmethod
    def _own(controller: str) -> str | None:
        try:
            lines = Path("/proc/self/cgroup").read_text().splitlines()
        except OSError:
            return None
        for line in lines:
            _, names, path = line.split(":", 2)
            if controller in names.split(",") or (controller == "" and names == ""):
                return path
        return None

    @classmethod
    def make(cls, memory_mb: int, pids: int) -> Cgroup | None:
        name = f"archon-{os.getpid()}-{random.getrandbits(40):x}"
        made: list[Path] = []
        try:
            if Path("/sys/fs/cgroup/cgroup.controllers").exists():  # v2
                own = cls._own("")
                if own is None:
                    return None
                d = Path("/sys/fs/cgroup" + own.rstrip("/")) / name
                d.mkdir()
                made.append(d)
                (d / "memory.max").write_text(str(memory_mb << 20))
                (d / "pids.max").write_text(str(pids))
                with contextlib.suppress(OSError):
                    (d / "memory.swap.max").write_text("0")
            else:  # v1: one hierarchy per controller
                for ctl, files in (
                    ("memory", {"memory.limit_in_bytes": str(memory_mb << 20)}),
                    ("pids", {"pids.max": str(pids)}),
                ):
                    own = cls._own(ctl)
                    if own is None:
                        raise OSError(f"no {ctl} cgroup")
                    d = Path(f"/sys/fs/cgroup/{ctl}" + own.rstrip("/")) / name
                    d.mkdir()
                    made.append(d)
                    for f, v in files.items():
                        (d / f).write_text(v)
                with contextlib.suppress(OSError):
                    (made[0] / "memory.memsw.limit_in_bytes").write_text(str(memory_mb << 20))
        except OSError:
            Cgroup(made).remove()
            return None
        return cls(made)

    def enter(self) -> None:
        """Moves the calling process in (between fork and exec)."""
        for d in self.dirs:
            (d / "cgroup.procs").write_text(str(os.getpid()))

    def kill_all(self) -> None:
        for _ in range(50):
            pids = set()
            for d in self.dirs:
                with contextlib.suppress(OSError):
                    pids |= {int(x) for x in (d / "cgroup.procs").read_text().split()}
            if not pids:
                return
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            import time

            time.sleep(0.02)

    def remove(self) -> None:
        for d in self.dirs:
            for _ in range(20):
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    import time

                    time.sleep(0.02)

    def oom_killed(self) -> bool:
        for d in self.dirs:
            for f in ("memory.events", "memory.failcnt"):
                with contextlib.suppress(OSError, ValueError):
                    text = (d / f).read_text()
                    if f == "memory.failcnt":
                        return int(text) > 0
                    return any(line.split()[0] == "oom_kill" and int(line.split()[1]) > 0 for line in text.splitlines())
        return False


def set_limits(timeout_s: float, memory_mb: int, uid: int | None, cgroup: Cgroup | None, *, nproc: int = 64) -> None:
    """Runs in the child between fork and exec: a cgroup, rlimits, then a user id of its own."""
    if cgroup is not None:
        cgroup.enter()
    cpu = int(timeout_s) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    mem = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
    resource.setrlimit(resource.RLIMIT_FSIZE, (16 << 20, 16 << 20))
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if uid is not None:  # counted per user: with a user id of its own, per program
        resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)


def _limits(timeout_s: float, memory_mb: int, uid: int | None, cgroup: Cgroup | None) -> None:
    os.setsid()
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(_CLONE_NEWNET) != 0 and uid is None:
        libc.unshare(_CLONE_NEWUSER | _CLONE_NEWNET)
    if uid is None:
        resource.setrlimit(resource.RLIMIT_NPROC, (128, 128))
    set_limits(timeout_s, memory_mb, uid, cgroup)


def world_executable(path: str) -> bool:
    """Whether a user with no rights but 'other' can execute ``path``."""
    real = os.path.realpath(path)
    parts = real.split(os.sep)
    for i in range(2, len(parts)):
        if not os.stat(os.sep.join(parts[:i]) or os.sep).st_mode & 0o001:
            return False
    return bool(os.stat(real).st_mode & 0o001)


def base_python() -> str:
    """The interpreter a sandboxed program runs: the base one (not a venv's), readable by anyone."""
    base = getattr(sys, "_base_executable", "")
    for candidate in (base, sys.executable, "/usr/bin/python3", shutil.which("python3") or ""):
        if candidate and os.path.exists(candidate) and world_executable(candidate):
            return os.path.realpath(candidate)
    return sys.executable


class SubprocessSandbox(BaseSandbox):
    """Each program in its own ``python -I`` process; at most ``max_parallel`` at once."""

    def __init__(self, max_parallel: int | None = None, python: str | None = None) -> None:
        self.max_parallel = max_parallel or (os.cpu_count() or 2)
        self.root = os.geteuid() == 0
        self.python = python or (base_python() if self.root else sys.executable)
        self.isolation = (
            "subprocess (weaker fallback: rlimits, a user id of its own, no network; the host filesystem "
            "is readable) — install bubblewrap for namespaces"
            if self.root
            else "subprocess (weaker fallback: rlimits, no network; runs as this user) — install bubblewrap"
        )

    @contextlib.asynccontextmanager
    async def start(
        self, code: str, *, timeout_s: float = 10.0, memory_mb: int = 512, stderr: bool = True, hold: bool = True
    ) -> AsyncIterator[Running]:
        async with self.slot() if hold else contextlib.nullcontext():
            tmp = tempfile.mkdtemp(prefix="archon-sandbox-")
            uid = fresh_uid() if self.root else None
            cgroup = Cgroup.make(memory_mb, 64) if self.root else None
            proc = None
            try:
                path = os.path.join(tmp, "main.py")
                with open(path, "w", encoding="utf-8") as f:
                    f.write(_GUARD + code)
                if uid is not None:
                    os.chown(tmp, uid, uid)
                    os.chown(path, uid, uid)
                env = {"PATH": "/usr/bin:/bin", "HOME": tmp, "TMPDIR": tmp, "LANG": "C.UTF-8", "PYTHONHASHSEED": "0"}
                proc = await asyncio.create_subprocess_exec(
                    self.python,
                    "-I",
                    path,
                    cwd=tmp,
                    env=env,
                    stdin=asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.PIPE if stderr else asyncio.subprocess.DEVNULL,
                    limit=MAX_LINE,
                    preexec_fn=lambda: _limits(timeout_s, memory_mb, uid, cgroup),
                )
                pid = proc.pid

                def kill() -> None:
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.killpg(pid, signal.SIGKILL)
                    if uid is not None:  # whatever it forked into a session of its own
                        _kill_uid(uid)
                    if cgroup is not None:
                        cgroup.kill_all()

                yield Running(proc, kill)
            finally:
                if proc is not None:  # its group, its user id and its cgroup: whatever it left behind
                    kill()
                    with contextlib.suppress(ProcessLookupError):
                        proc.kill()
                    await proc.wait()
                if cgroup is not None:
                    cgroup.remove()
                shutil.rmtree(tmp, ignore_errors=True)


def _kill_uid(uid: int) -> None:
    """SIGKILL to every process of ``uid`` (a user id only one program ever had)."""
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            if d.stat().st_uid == uid:
                os.kill(int(d.name), signal.SIGKILL)
        except (OSError, ProcessLookupError):
            continue
