"""The corpus of bad pipeline files: each must fail with its located message, exit 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from archon.errors import SpecError
from archon.graph import build_graph
from archon.spec import parse_pipeline_file

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "spec"
EXPECTED: dict[str, str] = json.loads((FIXTURES / "bad_expected.json").read_text())
FILES = sorted((FIXTURES / "bad").glob("*.yaml"))


def test_corpus_is_complete() -> None:
    assert len(FILES) >= 30
    assert {f.name for f in FILES} == set(EXPECTED)


@pytest.mark.parametrize("path", FILES, ids=[f.name for f in FILES])
def test_bad_file_reports_located_problem(path: Path) -> None:
    with pytest.raises(SpecError) as info:
        build_graph(parse_pipeline_file(path))
    messages = [str(p) for p in info.value.problems]
    want = f"{path}:{EXPECTED[path.name]}"
    assert any(m.startswith(want) for m in messages), f"expected {want!r} in {messages}"
    for p in info.value.problems:
        assert p.line >= 1, p  # every problem is located
        assert " — " in str(p), f"no fix given: {p}"


def test_cli_validate_reports_all_files_and_exits_2() -> None:
    files = [str(f) for f in FILES[:5]]
    r = subprocess.run([sys.executable, "-m", "archon", "validate", *files], capture_output=True, text=True)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    for f in files:
        assert f in r.stderr


def test_several_problems_reported_at_once(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("nodes:\n  a: {op: generat}\n  b: {op: vote, inputs: [a], wat: 1}\noutput: c\n")
    with pytest.raises(SpecError) as info:
        parse_pipeline_file(path)
    text = str(info.value)
    assert "unknown operator 'generat'" in text
    assert "unknown parameter 'wat'" in text
    assert "output names unknown node 'c'" in text
    assert len(info.value.problems) == 3
