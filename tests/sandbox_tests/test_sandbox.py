from __future__ import annotations

import os

import pytest

from archon.sandbox import SubprocessSandbox


async def test_runs_code_and_captures_output() -> None:
    r = await SubprocessSandbox().run("print(sum(range(10)))")
    assert r.ok and r.stdout.strip() == "45"


async def test_time_limit_kills_the_process_group() -> None:
    r = await SubprocessSandbox().run(
        "import subprocess, time\nsubprocess.Popen(['sleep', '30'])\nwhile True: pass", timeout_s=1.0
    )
    assert r.timed_out and not r.ok
    assert r.duration_s < 5


async def test_memory_limit() -> None:
    r = await SubprocessSandbox().run("x = bytearray(400 * 1024 * 1024)\nprint('allocated')", memory_mb=200)
    assert not r.ok and "allocated" not in r.stdout
    assert "MemoryError" in r.stderr


@pytest.mark.parametrize("kind", ["bubblewrap", "subprocess"])
async def test_no_network(kind: str) -> None:
    import socket

    from archon.sandbox import BubblewrapSandbox
    from archon.sandbox import bwrap_problem

    if kind == "bubblewrap" and bwrap_problem():
        pytest.fail(f"bubblewrap unusable: {bwrap_problem()} (make setup installs it)")
    listener = socket.socket()  # a port that IS open on the host: a connection would succeed
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    port = listener.getsockname()[1]
    code = (
        "import _socket\n"
        "s = _socket.socket()\n"
        "s.settimeout(2)\n"
        "try:\n"
        f"    s.connect(('127.0.0.1', {port}))\n"
        "    print('connected')\n"
        "except OSError as e:\n"
        "    print('blocked', e)\n"
    )
    sandbox = BubblewrapSandbox() if kind == "bubblewrap" else SubprocessSandbox()
    try:
        r = await sandbox.run(code)
    finally:
        listener.close()
    assert "blocked" in r.stdout and "connected" not in r.stdout, r


async def test_private_temp_dir_and_clean_environment(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("OPENAI_API_KEY", "sk-must-not-leak")
    code = "import os, tempfile\nprint(os.getcwd())\nprint(tempfile.gettempdir())\nprint(sorted(os.environ))"
    r = await SubprocessSandbox().run(code)
    cwd, tmp, env = r.stdout.splitlines()
    assert cwd == tmp and "archon-sandbox-" in cwd
    assert "OPENAI_API_KEY" not in env
    assert not os.path.exists(cwd)  # removed afterwards


async def test_crashing_code_is_a_result_not_an_exception() -> None:
    r = await SubprocessSandbox().run("raise SystemExit(3)")
    assert r.returncode == 3 and not r.ok
    r = await SubprocessSandbox().run("def broken(:\n")
    assert not r.ok and "SyntaxError" in r.stderr
