"""The sandbox: bubblewrap (Debian's ``bubblewrap``, the tool Flatpak isolates apps with).

Each program gets private user, PID, network, mount, IPC and UTS namespaces, a user id
of its own (so a ``kill -9 -1`` or a fork bomb reaches only itself), an empty tmpfs root
holding a read-only ``/usr`` (and the interpreter's prefix), its own size-capped ``/tmp``
and ``/dev/shm``, ``/proc`` of its own PID namespace, no host file, socket or device
beyond ``/dev/null`` and friends, and an empty environment. When the program's first
process exits, the kernel kills everything else in its PID namespace, so a daemon or a
``setsid`` grandchild cannot outlive the run or hold its pipes. Memory and the number of
processes are capped per program by a cgroup where one is writable, else per process by
rlimits (the user id keeps the process cap per program); CPU time and file size by
rlimits.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator

from archon.sandbox._base import MAX_LINE
from archon.sandbox._base import BaseSandbox
from archon.sandbox._base import Running
from archon.sandbox._subprocess import Cgroup
from archon.sandbox._subprocess import SubprocessSandbox
from archon.sandbox._subprocess import base_python
from archon.sandbox._subprocess import fresh_uid
from archon.sandbox._subprocess import set_limits

_TMP_BYTES = 64 << 20


def _mounts(python: str) -> list[str]:
    args = ["--ro-bind", "/usr", "/usr"]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    real = os.path.realpath(python)
    if not real.startswith("/usr/"):  # an interpreter elsewhere (/opt, pyenv): its prefix, read-only
        prefix = os.path.dirname(os.path.dirname(real))
        args += ["--ro-bind", prefix, prefix]
    return args


@functools.cache
def bwrap_problem() -> str | None:
    """Why bubblewrap cannot be used here, or None when it works (probed once)."""
    exe = shutil.which("bwrap")
    if exe is None:
        return "bwrap is not installed (Debian/Ubuntu: apt-get install bubblewrap)"
    python = base_python()
    root = os.geteuid() == 0
    uid = fresh_uid() if root else None
    cmd = [exe, "--unshare-all", "--die-with-parent", "--new-session", *_mounts(python), "--proc", "/proc"]
    cmd += ["--dev", "/dev", "--tmpfs", "/tmp", "--clearenv", "--", python, "-I", "-c", "pass"]

    def drop() -> None:
        if uid is not None:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)

    try:
        r = subprocess.run(
            cmd, capture_output=True, text=True, timeout=30, preexec_fn=drop, env={"PATH": "/usr/bin:/bin"}
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bwrap cannot start: {exc}"
    if r.returncode != 0:
        return f"bwrap cannot create its namespaces here: {r.stderr.strip()[:200]}"
    return None


class BubblewrapSandbox(BaseSandbox):
    """Each program in its own bubblewrap sandbox; at most ``max_parallel`` at once.

    Raises:
        RuntimeError: bubblewrap cannot be used here (see :func:`bwrap_problem`).
    """

    def __init__(self, max_parallel: int | None = None) -> None:
        problem = bwrap_problem()
        if problem is not None:
            raise RuntimeError(problem)
        self.max_parallel = max_parallel or (os.cpu_count() or 2)
        self.exe = shutil.which("bwrap") or "bwrap"
        self.python = base_python()
        self.root = os.geteuid() == 0
        probe = Cgroup.make(64, 8) if self.root else None
        self.cgroups = probe is not None
        if probe is not None:
            probe.remove()
        caps = "a cgroup caps memory and processes per program" if self.cgroups else "rlimits cap memory per process"
        self.isolation = (
            "bubblewrap: private user/PID/network/mount/IPC namespaces, a user id of its own, "
            f"read-only /usr and a private /tmp on an empty root; {caps}"
        )

    @contextlib.asynccontextmanager
    async def start(
        self, code: str, *, timeout_s: float = 10.0, memory_mb: int = 512, stderr: bool = True, hold: bool = True
    ) -> AsyncIterator[Running]:
        async with self.slot() if hold else contextlib.nullcontext():
            host = tempfile.mkdtemp(prefix="archon-sandbox-")
            uid = fresh_uid() if self.root else None
            cgroup = Cgroup.make(memory_mb, 64) if self.cgroups else None
            proc = None
            try:
                path = os.path.join(host, "main.py")
                with open(path, "w", encoding="utf-8") as f:
                    f.write(code)
                os.chmod(host, 0o755)
                os.chmod(path, 0o644)
                inner = str(uid or os.getuid())
                cmd = [self.exe, "--unshare-all", "--die-with-parent", "--new-session"]
                cmd += ["--uid", inner, "--gid", inner, *_mounts(self.python)]
                cmd += ["--proc", "/proc", "--dev", "/dev"]
                cmd += ["--size", str(_TMP_BYTES), "--tmpfs", "/tmp"]
                cmd += ["--size", str(_TMP_BYTES), "--tmpfs", "/dev/shm"]
                cmd += ["--ro-bind", path, "/tmp/main.py", "--chdir", "/tmp", "--clearenv"]
                for k, v in (("PATH", "/usr/bin:/bin"), ("HOME", "/tmp"), ("TMPDIR", "/tmp"), ("LANG", "C.UTF-8")):
                    cmd += ["--setenv", k, v]
                cmd += ["--setenv", "PYTHONHASHSEED", "0", "--setenv", "PYTHONDONTWRITEBYTECODE", "1"]
                cmd += ["--", self.python, "-I", "/tmp/main.py"]
                proc = await asyncio.create_subprocess_exec(
                    *cmd,
                    env={"PATH": "/usr/bin:/bin"},  # bwrap is PID 1 inside: its environ is readable there
                    stdin=asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.PIPE if stderr else asyncio.subprocess.DEVNULL,
                    limit=MAX_LINE,
                    start_new_session=True,
                    preexec_fn=lambda: set_limits(timeout_s, memory_mb, uid, cgroup),
                )
                p = proc

                def kill() -> None:  # bwrap's death takes its PID namespace with it
                    with contextlib.suppress(ProcessLookupError):
                        p.kill()
                    if cgroup is not None:
                        cgroup.kill_all()

                yield Running(proc, kill)
            finally:
                if proc is not None:
                    kill()
                    await proc.wait()
                if cgroup is not None:
                    cgroup.remove()
                shutil.rmtree(host, ignore_errors=True)


def default_sandbox() -> BaseSandbox:
    """bubblewrap where it works, else the weaker subprocess fallback (with a warning
    naming why); ``isolation`` on the result says which."""
    problem = bwrap_problem()
    if problem is None:
        return BubblewrapSandbox()
    import logging

    logging.getLogger("archon.sandbox").warning("sandbox: %s; using the weaker subprocess fallback", problem)
    return SubprocessSandbox()
