from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

PIPE = str(ROOT / "pipelines" / "local-best-of-5-vote.yaml")


def archon(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "archon", *args], capture_output=True, text=True, timeout=600)


def test_run_json_on_the_embedded_model(db_url: str, tmp_path: Path) -> None:
    out = tmp_path / "results.jsonl"
    r = archon("run", PIPE, "--input", "big", "--input", "fast", "--json", "--db", db_url, "--out", str(out))
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert len(data["outputs"]) == 2 and all(data["outputs"])
    assert data["usage"]["calls"] == {"paid": 10, "cached": 0, "failed": 0}
    assert data["usage"]["tokens"]["prompt"] > 0 and data["usage"]["tokens"]["completion"] > 0
    assert data["usage"]["cost_usd"] == 0 and data["usage"]["wall_s"] > 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [row["output"] for row in sorted(rows, key=lambda x: x["index"])] == data["outputs"]
    again = json.loads(archon("run", PIPE, "--input", "big", "--input", "fast", "--json", "--db", db_url).stdout)
    assert again["usage"]["calls"]["paid"] == 0 and again["outputs"] == data["outputs"]


def test_run_dataset_with_input_field(db_url: str, tmp_path: Path) -> None:
    data = tmp_path / "d.jsonl"
    data.write_text('{"word": "wet"}\n\n{"word": "high"}\n')
    r = archon("run", PIPE, "--dataset", str(data), "--input-field", "word", "--json", "--db", db_url)
    assert r.returncode == 0, r.stderr
    assert len(json.loads(r.stdout)["outputs"]) == 2


def test_bad_dataset_names_file_and_line(tmp_path: Path, db_url: str) -> None:
    data = tmp_path / "d.jsonl"
    data.write_text('{"input": "a"}\n{"input": "b",}\n{"text": "c"}\n')
    r = archon("run", PIPE, "--dataset", str(data), "--db", db_url)
    assert r.returncode == 2
    assert f"{data}:2:" in r.stderr and "invalid JSON" in r.stderr
    assert f"{data}:3:1: input: no field 'input'" in r.stderr and "--input-field" in r.stderr
    assert "Traceback" not in r.stderr


def test_bad_arguments_exit_2() -> None:
    for args in (
        ["run", PIPE],
        ["run", PIPE, "--input", "x", "--max-calls", "0"],
        ["run", PIPE, "--input", "x", "--max-usd", "free"],
        ["frobnicate"],
        ["run", "missing.yaml", "--input", "x"],
    ):
        r = archon(*args)
        assert r.returncode == 2, (args, r.stderr)
        assert "Traceback" not in r.stderr


def test_over_budget_pipeline_exits_2(db_url: str) -> None:
    r = archon("run", PIPE, "--input", "x", "--max-calls", "3", "--db", db_url)
    assert r.returncode == 2
    assert "up to 5 calls per query" in r.stderr


def test_bad_db_url_exits_2() -> None:
    r = archon("run", PIPE, "--input", "x", "--db", "nope://")
    assert r.returncode == 2 and "database" in r.stderr and "Traceback" not in r.stderr


def test_chat_dataset_needs_no_input_field(tmp_path: Path) -> None:
    from archon.evaluate import load_file

    data = tmp_path / "chat.jsonl"
    data.write_text('{"messages": [{"role": "user", "content": "Hi"}]}\n"plain"\n')
    items = [e.fields for e in load_file(data, answer_field=None).examples]
    assert items[0]["messages"][0]["content"] == "Hi" and items[1]["input"] == "plain"


def test_run_reads_csv(tmp_path: Path, db_url: str) -> None:
    data = tmp_path / "words.csv"
    data.write_text('word,note\nwet,a\n"high",b\n')
    r = archon("run", PIPE, "--dataset", str(data), "--input-field", "word", "--json", "--db", db_url)
    assert r.returncode == 0, r.stderr
    assert len(json.loads(r.stdout)["outputs"]) == 2


def test_validate_warns_about_nodes_that_never_run(tmp_path: Path) -> None:
    f = tmp_path / "p.yaml"
    f.write_text("nodes:\n  a: {op: generate, model: local/x}\n  b: {op: generate, model: local/x}\noutput: a\n")
    r = archon("validate", str(f))
    assert r.returncode == 0
    assert "node 'b' does not lead to the output 'a'" in r.stderr


def test_no_cache_pays_again_and_saves(db_url: str) -> None:
    first = json.loads(archon("run", PIPE, "--input", "dry", "--json", "--db", db_url).stdout)
    again = json.loads(archon("run", PIPE, "--input", "dry", "--json", "--db", db_url, "--no-cache").stdout)
    assert first["usage"]["calls"]["paid"] == 5 and again["usage"]["calls"]["paid"] == 5
    assert again["usage"]["calls"]["cached"] == 0
