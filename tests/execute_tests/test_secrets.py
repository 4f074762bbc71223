"""A canary API key never reaches what archon writes: the database, --out files, results,
exports, stdout or stderr — even when the server echoes the request's headers back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from archon.testing import ServerProcess

CANARY = "sk-canary-7f3a9c1e5b2d4f60a8e1"


def _scan(paths: list[Path], texts: list[str]) -> list[str]:
    hits = [t[:80] for t in texts if CANARY in t]
    for root in paths:
        for p in [root] if root.is_file() else root.rglob("*"):
            if p.is_file() and CANARY.encode() in p.read_bytes():
                hits.append(str(p))
    return hits


@pytest.mark.timeout(300)
def test_a_canary_key_reaches_nothing_archon_writes(tmp_path: Path) -> None:
    env = {**os.environ, "ARCHON_CANARY_KEY": CANARY}
    db = tmp_path / "a.db"
    with ServerProcess(faults="echo", fault_every=2) as srv:  # every 2nd answer echoes the headers
        pipe = tmp_path / "p.yaml"
        pipe.write_text(
            f'models:\n  m: {{model: openai/echo, api_base: "{srv.api_base}", api_key_env: ARCHON_CANARY_KEY,'
            " max_retries: 0, max_tokens: 8}\nnodes:\n  g: {op: generate, model: m, samples: 2}\noutput: g\n"
        )
        data = tmp_path / "d.jsonl"
        data.write_text("".join(json.dumps({"input": f"q{i}", "answer": "x"}) + "\n" for i in range(6)))
        runs = [
            ["run", str(pipe), "--dataset", str(data), "--out", str(tmp_path / "run.jsonl")],
            ["eval", str(pipe), "--dataset", str(data), "--split", "all", "--out", str(tmp_path / "eval.jsonl")],
            ["run", str(pipe), "--input", "hello", "--json"],
        ]
        outs = []
        for args in runs:
            r = subprocess.run(
                [sys.executable, "-m", "archon", *args, "--db", f"sqlite:///{db}"],
                capture_output=True,
                text=True,
                env=env,
                timeout=120,
                cwd=tmp_path,
            )
            outs += [r.stdout, r.stderr]
        echoed = srv.stats()["faults"].get("echo", 0)
    assert echoed >= 3  # the server did echo the key back
    assert any("bad gateway" in o for o in outs)  # and archon reported those errors
    export = subprocess.run(
        [sys.executable, "-m", "archon", "export", str(pipe), "-o", str(tmp_path / "x.py")],
        capture_output=True,
        text=True,
        env=env,
    )
    outs += [export.stdout, export.stderr]
    assert _scan([tmp_path], outs) == []
