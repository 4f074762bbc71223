"""The hostile-program suite (archon.testing.hostile): every program, run beside an honest
sibling, scores 0 through the public routes; the sibling still passes; the host is unchanged."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import archon
from archon.evaluate import Example
from archon.evaluate import get_metric
from archon.sandbox import default_sandbox
from archon.testing import ServerProcess
from archon.testing.hostile import HONEST
from archon.testing.hostile import TESTS
from archon.testing.hostile import programs

KEY = "ARCHON_HOSTILE_FAKE_KEY"
NAMES = list(programs())


def _sandbox_uids() -> set[int]:
    """Processes whose user id is one archon hands sandboxed programs."""
    out = set()
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                uid = d.stat().st_uid
            except OSError:
                continue
            if 2_000_000 <= uid <= 2_000_000_000:
                out.add(int(d.name))
    return out


@pytest.fixture(scope="module")
def host() -> Iterator[dict[str, Any]]:
    folder = tempfile.mkdtemp(prefix="hostile-")
    os.chmod(folder, 0o777)
    canary = Path(folder) / "canary.txt"
    canary.write_text("canary")
    os.chmod(canary, 0o644)
    tcp = socket.socket()
    tcp.bind(("127.0.0.1", 0))
    tcp.listen(64)
    unix_path = str(Path(folder) / "sock")
    unix = socket.socket(socket.AF_UNIX)
    unix.bind(unix_path)
    unix.listen(64)
    os.chmod(unix_path, 0o777)
    os.environ[KEY] = "sk-canary-0123456789"
    where = {"canary": str(canary), "canary_dir": folder, "port": tcp.getsockname()[1], "sock": unix_path, "key": KEY}
    try:
        yield {"where": where, "folder": Path(folder), "canary": canary, "programs": programs(**where)}
    finally:
        tcp.close()
        unix.close()
        os.environ.pop(KEY, None)


def _example(i: int) -> Example:
    return Example(i, {"input": "x", "entry_point": "solve", "timeout_s": 3.0}, "\n".join(TESTS))


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", NAMES)
async def test_hostile_program_scores_zero_beside_an_honest_one(name: str, host: dict[str, Any]) -> None:
    kind, code = host["programs"][name]
    metric = get_metric("tests")
    sandbox = default_sandbox()
    shm_before = set(os.listdir("/dev/shm")) if os.path.isdir("/dev/shm") else set()
    t0 = time.monotonic()
    bad, good = await asyncio.gather(
        metric.score(code, _example(0), sandbox), metric.score(HONEST, _example(1), sandbox)
    )
    took = time.monotonic() - t0
    assert bad == 0.0, f"{name}: the hostile program passed"
    assert good == 1.0, f"{name}: it broke its honest sibling"
    assert took < 30, took
    if kind == "fork" and "later" in name:
        time.sleep(4)  # long enough for the daemon to have written, had it survived
    for _ in range(50):
        if not _sandbox_uids():
            break
        time.sleep(0.1)
    assert not _sandbox_uids(), f"{name}: a sandboxed process outlived its run"
    assert host["canary"].read_text() == "canary"
    assert sorted(p.name for p in host["folder"].iterdir()) == ["canary.txt", "sock"], f"{name} wrote outside"
    if os.path.isdir("/dev/shm"):
        assert set(os.listdir("/dev/shm")) <= shm_before, f"{name} wrote the host's /dev/shm"


def test_the_corpus_is_large_and_varied() -> None:
    kinds = [k for k, _ in programs().values()]
    assert len(kinds) >= 40
    assert {"fake", "escape", "flood", "fork", "sibling", "hang"} <= set(kinds)


def test_the_strong_sandbox_is_used_where_installed() -> None:
    import shutil

    if shutil.which("bwrap") is None:  # make setup installs it; without it the fallback says so
        assert "weaker" in default_sandbox().isolation
    else:
        assert default_sandbox().isolation.startswith("bubblewrap")


@pytest.mark.timeout(600)
def test_hostile_corpus_through_archon_eval(host: dict[str, Any], tmp_path: Path, db_url: str) -> None:
    progs = host["programs"]
    names = list(progs)
    data = tmp_path / "hostile.jsonl"
    rows = [
        {"input": f"P{i}", "answer": "\n".join(TESTS), "entry_point": "solve", "timeout_s": 3}
        for i in range(len(names))
    ]
    rows.append({"input": "HONEST", "answer": "\n".join(TESTS), "entry_point": "solve", "timeout_s": 3})
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    script = [(f"P{i}$", progs[n][1]) for i, n in enumerate(names)] + [("HONEST$", HONEST)]
    with ServerProcess(script=script) as srv:
        pipe = tmp_path / "p.yaml"
        pipe.write_text(
            f'models:\n  m: {{model: openai/scripted, api_base: "{srv.api_base}", max_tokens: 2000}}\n'
            "nodes:\n  g: {op: generate, model: m, temperature: 0}\noutput: g\n"
        )
        out = tmp_path / "items.jsonl"
        r = subprocess.run(
            [sys.executable, "-m", "archon", "eval", str(pipe), "--dataset", str(data), "--metric", "tests"]
            + ["--db", db_url, "--out", str(out), "--split", "all", "--no-progress"],
            capture_output=True,
            text=True,
            timeout=500,
        )
    assert "sandbox: " in r.stderr, r.stderr
    items = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(items) == len(rows)
    scores = {it["input"]["input"]: it["score"] for it in items}
    assert scores["HONEST"] == 1.0
    passed = [names[i] for i in range(len(names)) if scores[f"P{i}"] != 0.0]
    assert not passed, f"hostile programs that passed: {passed}"


@pytest.mark.timeout(300)
def test_hostile_corpus_through_unit_test_evaluate(host: dict[str, Any], db_url: str) -> None:
    progs = host["programs"]
    names = [n for n, (k, _) in progs.items() if k in ("fake", "escape")]
    script = [(f"P{i}$", progs[n][1]) for i, n in enumerate(names)]
    with ServerProcess(script=script) as srv:
        text = (
            f'models:\n  m: {{model: openai/scripted, api_base: "{srv.api_base}", max_tokens: 2000}}\n'
            "nodes:\n  g: {op: generate, model: m, temperature: 0}\n"
            "  t: {op: unit_test_evaluate, inputs: [g], tests_field: tests, timeout_s: 3}\noutput: t\n"
        )
        with archon.load(text, db=db_url) as p:
            result = p.execute([{"input": f"P{i}", "tests": list(TESTS)} for i in range(len(names))])
    assert not result.failed, result.failed
    for i, item in enumerate(result.items):
        (cand,) = item.candidates
        assert cand.tests_total == len(TESTS)
        assert cand.tests_passed == 0, f"{names[i]} passed {cand.tests_passed} tests"
