"""End to end on the embedded model: a best-of-5 + vote pipeline scored on antonyms."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import archon
from archon.evaluate import aevaluate
from archon.evaluate import get_metric
from archon.evaluate import load_file
from archon.store import Store
from tests.conftest import ROOT
from tests.conftest import vote_pipeline


async def test_vote_beats_a_single_sample_and_resumes_for_free(db_url: str) -> None:
    ds = load_file(ROOT / "data" / "antonyms.jsonl").head(20)
    p = archon.load(vote_pipeline(samples=5), db=db_url)
    try:
        first = await aevaluate(p, ds, get_metric("normalized"), pass_at=[1, 5])
        again = await aevaluate(p, ds, get_metric("normalized"), pass_at=[1])
    finally:
        await p.aclose()
    assert first.usage.paid_calls == 100
    print(f"vote {first.score:.2f} vs single {first.pass_at[1]:.2f}, coverage@5 {first.pass_at[5]:.2f}")
    assert first.score > first.pass_at[1]  # majority@5 beats the mean single sample
    assert first.pass_at[5] >= first.score  # coverage bounds the vote
    assert first.ci95[0] <= first.score <= first.ci95[1]
    assert again.usage.paid_calls == 0 and again.score == first.score
    store = Store(db_url)
    try:
        rows = store.scores(first.run_id or "")
        assert [r.score for r in rows] == [i.score for i in first.items]
        assert rows[0].gold == ds.examples[0].gold
    finally:
        store.close()


def test_cli_eval_json_and_out(db_url: str, tmp_path: Path) -> None:
    out = tmp_path / "items.jsonl"
    cmd = [
        sys.executable,
        "-m",
        "archon",
        "eval",
        str(ROOT / "pipelines" / "local-capitals-best-of-5-vote.yaml"),
        "--dataset",
        str(ROOT / "data" / "capitals.jsonl"),
        "--metric",
        "normalized",
        "--split",
        "dev",
        "--limit",
        "6",
        "--json",
        "--out",
        str(out),
        "--db",
        db_url,
    ]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    s = json.loads(r.stdout)
    assert s["n"] == 6 and 0 <= s["score"] <= 1 and s["usage"]["calls"]["paid"] == 30
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(rows) == 6 and all({"input", "output", "gold", "score"} <= set(row) for row in rows)
    assert abs(sum(row["score"] for row in rows) / 6 - s["score"]) < 1e-5


def test_cli_eval_errors_exit_2(tmp_path: Path, db_url: str) -> None:
    pipe = str(ROOT / "pipelines" / "local-best-of-5-vote.yaml")
    for extra, want in (
        (["--dataset", str(ROOT / "data" / "antonyms.jsonl"), "--metric", "f1"], "unknown metric"),
        ([], "no dataset"),
        (["--dataset", str(tmp_path / "missing.jsonl")], "not found"),
    ):
        r = subprocess.run(
            [sys.executable, "-m", "archon", "eval", pipe, "--db", db_url, *extra], capture_output=True, text=True
        )
        assert r.returncode == 2, r.stderr
        assert want in r.stderr and "Traceback" not in r.stderr
