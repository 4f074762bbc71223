"""Starting an OpenAI-compatible server process and waiting until it answers (archon
serve, llama.cpp's server, the scripted server): for tests and benchmarks."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path


def wait_until_serving(proc: subprocess.Popen[bytes], base: str, log_path: Path, timeout_s: float) -> None:
    """Waits until the OpenAI-compatible server ``proc`` answers ``GET base/models`` (a 401
    from a server that wants a key is an answer); fails with the end of its log if it
    exits first."""
    import time
    import urllib.error
    import urllib.request

    deadline = time.time() + timeout_s
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited: {log_path.read_text()[-3000:]}")
        try:
            urllib.request.urlopen(f"{base}/models", timeout=2).read()
            return
        except urllib.error.HTTPError as exc:
            if exc.code == 401:
                return
            raise
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.5)


@contextlib.contextmanager
def running_server(cmd: list[str], base: str, log_dir: Path, timeout_s: float = 120) -> Iterator[str]:
    """Starts an OpenAI-compatible server process (its output to a log file: a pipe would
    fill up and block it), waits until ``base`` answers, yields it, stops the server."""
    log_path = log_dir / "server.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_until_serving(proc, base, log_path, timeout_s)
            yield base
        finally:
            proc.terminate()
            proc.wait(20)
