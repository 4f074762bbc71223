"""The litellm path and the HTTP client against a real OpenAI-compatible server
(llama.cpp's server on the gemma GGUF), started and stopped by the test."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import archon
from archon.testing import free_port
from archon.testing import running_server
from tests.conftest import GEMMA_FEW_SHOT


@pytest.fixture(scope="module")
def llama_server(gemma_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(gemma_path), "--host", "127.0.0.1"]
    cmd += ["--port", str(port), "--n_ctx", "1024", "--model_alias", "gemma"]
    with running_server(cmd, f"http://127.0.0.1:{port}/v1", tmp_path_factory.mktemp("llama-server")) as base:
        yield base


def pipeline(base: str, client: str) -> str:
    template = GEMMA_FEW_SHOT.replace("\n", "\\n")
    return f"""
models:
  gemma: {{model: text-completion-openai/gemma, api_base: "{base}", client: {client}, temperature: 0.8, max_tokens: 6, stop: ["\\n"]}}
nodes:
  s: {{op: generate, model: gemma, samples: 3, template: "{template}"}}
  v: {{op: vote, inputs: [s]}}
output: v
"""


@pytest.mark.parametrize("client", ["litellm", "http"])
def test_openai_compatible_server(llama_server: str, client: str, db_url: str) -> None:
    with archon.load(pipeline(llama_server, client), db=db_url) as p:
        first = p.execute(["big", "fast"])
        again = p.execute(["big", "fast"])
    assert not first.failed, first.failed
    assert first.usage.paid_calls == 6
    assert first.usage.completion_tokens > 0
    assert all(o and o.strip() for o in first.outputs)
    assert again.usage.paid_calls == 0 and again.outputs == first.outputs


def test_both_clients_share_the_cache(llama_server: str, db_url: str) -> None:
    with archon.load(pipeline(llama_server, "litellm"), db=db_url) as p:
        a = p.execute(["hot"])
    with archon.load(pipeline(llama_server, "http"), db=db_url) as p:
        b = p.execute(["hot"])
    assert a.usage.paid_calls == 3 and b.usage.paid_calls == 0 and a.outputs == b.outputs


def test_missing_api_key_is_reported_before_any_call(
    monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    text = "models:\n  gpt: {model: openai/gpt-4o-mini}\nnodes:\n  g: {op: generate, model: gpt}\noutput: g\n"
    with archon.load(text, db=db_url) as p, pytest.raises(archon.ConfigurationError, match="OPENAI_API_KEY"):
        p.execute(["hi"])
    f = tmp_path / "p.yaml"
    f.write_text(text)
    r = subprocess.run(
        [sys.executable, "-m", "archon", "run", str(f), "--input", "hi", "--db", db_url], capture_output=True, text=True
    )
    assert r.returncode == 2
    assert "OPENAI_API_KEY" in r.stderr and "Traceback" not in r.stderr
    # nothing was run: no call recorded
    from archon.store import Store

    store = Store(db_url)
    assert store.count_calls() == 0
    store.close()


def test_api_key_env_is_used_and_never_stored(llama_server: str, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_SECRET_KEY", "sk-very-secret-123")
    text = pipeline(llama_server, "http").replace("client: http", "client: http, api_key_env: MY_SECRET_KEY")
    with archon.load(text, db=db_url) as p:
        assert not p.execute(["tall"]).failed
    path = Path(db_url.removeprefix("sqlite:///"))
    for f in path.parent.glob(path.name + "*"):  # the database and its WAL
        assert b"sk-very-secret-123" not in f.read_bytes()
