"""Hostile programs: each is contained, scored as failed, and the host is unchanged."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from archon.evaluate import Example
from archon.evaluate import get_metric
from archon.sandbox import SubprocessSandbox
from tests.conftest import children_of

TESTS = "assert solve() == 1"


def _own_processes() -> set[int]:
    """Processes in this test's process tree (children of pytest), by pid."""
    return children_of(os.getpid())


async def _score(code: str, timeout_s: float = 3.0) -> float:
    ex = Example(0, {"input": "x", "entry_point": "solve", "timeout_s": timeout_s}, TESTS)
    return await get_metric("tests").score(code, ex, SubprocessSandbox())


HOSTILE = {
    "fork bomb": "import os\ndef solve():\n    return 1\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n",
    "memory bomb": "def solve():\n    return 1\nx = []\nwhile True:\n    x.append(bytearray(50 * 1024 * 1024))\n",
    "infinite loop": "def solve():\n    while True:\n        pass\n",
    "socket": "import socket\ndef solve():\n    socket.create_connection(('127.0.0.1', 22), timeout=1)\n    return 1\n",
    "raw socket module": "import _socket\ndef solve():\n    s = _socket.socket()\n    s.connect(('1.1.1.1', 80))\n    return 1\n",
    "read api key": "import os\ndef solve():\n    return 1 if os.environ['OPENAI_API_KEY'] else 0\n",
    "kill parent": "import os, signal\ndef solve():\n    os.kill(os.getppid(), signal.SIGKILL)\n    return 1\n",
    "exit early": "import sys\ndef solve():\n    return 1\nsys.exit(0)\n",
}


@pytest.mark.parametrize("name", HOSTILE)
async def test_hostile_program_is_contained(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret")
    before = _own_processes()
    t0 = time.monotonic()
    score = await _score(HOSTILE[name])
    assert time.monotonic() - t0 < 20
    assert score == 0.0, name  # exiting 0 before the tests ran is no pass either
    time.sleep(0.2)
    assert _own_processes() <= before, "a sandboxed process outlived its run"


async def test_writing_outside_the_temp_dir_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "outside.txt"
    os.chmod(tmp_path, 0o755)
    code = f"def solve():\n    open({str(target)!r}, 'w').write('pwned')\n    return 1\n"
    score = await _score(code)
    if os.geteuid() != 0:
        pytest.skip("the privilege drop to 'nobody' needs root; as a user the program runs as that user (documented)")
    assert score == 0.0 and not target.exists()


async def test_a_correct_program_passes() -> None:
    assert await _score("def solve():\n    return 1\n") == 1.0
