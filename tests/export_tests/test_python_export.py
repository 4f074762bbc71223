"""archon export --format python: generated modules are clean, readable code that gives
the same answers as `archon run` on the source, call for call (the real embedded model)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

import archon
from archon.export import export_python
from archon.operators import node_types
from archon.operators import operator_types
from archon.spec import parse_pipeline_file
from archon.store import Store
from tests.conftest import ROOT

PIPELINES = sorted((ROOT / "pipelines").glob("*.yaml"))
LOCAL = [p for p in PIPELINES if p.name.startswith("local-")]
INPUTS = ["hot", "big"]


def _export(path: Path, out_dir: Path) -> Path:
    spec = parse_pipeline_file(str(path), node_types(operator_types()))
    out = out_dir / (path.stem.replace("-", "_") + ".py")
    out.write_text(export_python(spec, source_text=path.read_text()), encoding="utf-8")
    return out


def _module(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_every_pipeline_exports_to_ruff_and_mypy_clean_code(tmp_path: Path) -> None:
    files = [_export(p, tmp_path) for p in PIPELINES]
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
