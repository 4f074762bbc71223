"""The store on SQLite and on a real PostgreSQL server started for the test."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

import archon
from archon.store import Store
from archon.testing import ServerProcess

PIPE = """
models:
  m: {{model: openai/x, api_base: "{base}", max_tokens: 8}}
nodes:
  g: {{op: generate, model: m, samples: 2}}
  f: {{op: fuse, model: m, inputs: [g]}}
output: f
"""


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_runs_items_and_cache(backend: str, db_url: str, request: pytest.FixtureRequest) -> None:
    url = db_url if backend == "sqlite" else request.getfixturevalue("postgres_url")
    with ServerProcess() as srv:
        with archon.load(PIPE.format(base=srv.api_base), db=url) as p:
            first = p.execute(["a", "b"])
        with archon.load(PIPE.format(base=srv.api_base), db=url) as p:
            second = p.execute(["a", "b"])
        served = srv.stats()["ok"]
    assert first.usage.paid_calls == 6 and second.usage.paid_calls == 0
    assert served == 6
    store = Store(url)
    try:
        runs = [r for r in store.runs() if r.id in (first.run_id, second.run_id)]
        assert [r.status for r in runs] == ["finished", "finished"]
        items = store.items(first.run_id or "")
        assert [i.idx for i in items] == [0, 1]
        assert [i.output for i in items] == first.outputs
        assert items[0].usage["calls"]["paid"] == 3
        assert store.count_calls() >= 6
    finally:
        store.close()


def test_paid_calls_survive_a_crash(db_url: str, tmp_path: Path) -> None:
    """Kill the process while the fuse wave is in flight: the 80 generate calls that wave
    used were committed before use, and a re-run pays only for what is missing."""
    import sys
    import time

    script = tmp_path / "run.py"
    with ServerProcess(latency=0.5) as srv:
        script.write_text(f"""
import archon
text = '''{PIPE.format(base=srv.api_base)}'''
with archon.load(text, db="{db_url}") as p:
    p.execute([f"q{{i}}" for i in range(40)])
""")
        proc = subprocess.Popen([sys.executable, str(script)])
        try:
            deadline = time.time() + 60
            while srv.stats()["requests"] <= 80 and time.time() < deadline:  # fuse calls have started
                time.sleep(0.02)
        finally:
            proc.kill()
            proc.wait()
        assert srv.stats()["requests"] > 80
        store = Store(db_url)
        saved = store.count_calls()
        store.close()
        assert 80 <= saved < 120
        with archon.load(PIPE.format(base=srv.api_base), db=db_url) as p:
            resumed = p.execute([f"q{i}" for i in range(40)])
    assert not resumed.failed
    assert resumed.usage.cached_calls == saved
    assert resumed.usage.paid_calls == 120 - saved


def test_bad_database_url_is_a_clear_error() -> None:
    with pytest.raises(archon.ConfigurationError, match="database"):
        Store("notadb://what")


def test_archon_db_is_read_in_one_place_and_may_be_a_plain_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``archon.load(p).run(x)`` honours $ARCHON_DB as ``archon run`` does, and a plain
    file path works there and as --db."""
    from archon.store import resolve_db_url
    from tests.conftest import ROOT
    from tests.conftest import archon_cli

    db = tmp_path / "sub" / "plain.db"
    monkeypatch.setenv("ARCHON_DB", str(db))
    assert resolve_db_url() == f"sqlite:///{db}" and resolve_db_url("sqlite:///x.db") == "sqlite:///x.db"
    with archon.load(ROOT / "pipelines" / "local-single-call.yaml") as p:
        first = p.execute(["hot"])
    assert db.exists() and first.usage.paid_calls == 1
    pipeline = str(ROOT / "pipelines" / "local-single-call.yaml")
    run = archon_cli("run", pipeline, "--input", "hot", "--json", timeout=300)
    assert run.returncode == 0, run.stderr
    assert '"paid": 0, "cached": 1' in run.stdout  # the same database, through $ARCHON_DB
    other = tmp_path / "other.db"
    monkeypatch.delenv("ARCHON_DB")
    run = archon_cli("run", pipeline, "--input", "hot", "--json", "--db", str(other), timeout=300)
    assert run.returncode == 0 and '"paid": 1' in run.stdout and other.exists(), run.stderr


def test_a_bad_database_url_shows_itself_without_its_password() -> None:
    with pytest.raises(archon.ConfigurationError) as exc:
        Store("postgresql+nodriver://user:s3cretpw@host/db")
    assert "s3cretpw" not in str(exc.value) and "host/db" in str(exc.value) and "file path" in str(exc.value)
