"""An operator registered by entry point, in a package of its own, exports like a built-in:
to Python, to a standalone module (its source inlined, no archon import) and to a DSPy
program, and all three give `archon run`'s answers (the real embedded model)."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

import archon
from archon.export import export_dspy
from archon.export import export_python
from archon.export import export_standalone
from archon.operators import node_types
from archon.operators import operator_types
from archon.spec import parse_pipeline
from archon.testing import free_port
from archon.testing import running_server

# a plugin as a user would write it: its parameters, its prompt, one call per candidate
PLUGIN = '''
from __future__ import annotations

from typing import Literal

from archon import Candidate
from archon.operators import BaseOperator, Context, NodeInputs, all_of
from archon.spec import LLMNodeSpec


class RestateSpec(LLMNodeSpec):
    op: Literal["restate"] = "restate"
    suffix: str = "!"

    def max_calls(self, n_in: int, n_models: int = 1) -> int:
        return n_in


class Restate(BaseOperator):
    """Asks the model to say each candidate again, in capitals with ``suffix`` added."""

    spec_type = RestateSpec
    PROMPTS = {"default": "Word: big\\nAgain: big\\nWord: {{ candidate.text }}\\nAgain:"}

    async def run(self, inputs: NodeInputs, ctx: Context) -> tuple[Candidate, ...]:
        prompt = self.default_prompt(ctx.spec) or ""
        replies = await all_of(ctx.complete(ctx.instructions(prompt, candidate=c)) for c in inputs.candidates)
        return tuple(
            Candidate(text=r.upper() + ctx.spec.suffix, node=ctx.node_id, model=ctx.model_names[0])
            for r in replies
        )
'''
PIPELINE = """
name: restated
models:
  gemma: {model: local/gemma-3-270m, temperature: 0, max_tokens: 8, stop: ["\\n"]}
nodes:
  g:
    op: generate
    model: gemma
    template: "Word: tall\\nOpposite: short\\nWord: light\\nOpposite: dark\\nWord: {{ input }}\\nOpposite:"
  r: {op: restate, model: gemma, inputs: [g], suffix: "?!"}
output: r
"""
WORDS = ["hot", "big", "fast"]


@pytest.fixture
def plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    pkg = tmp_path / "plugin"
    pkg.mkdir()
    (pkg / "restate_plugin.py").write_text(PLUGIN)
    dist = pkg / "restate_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: restate-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[archon.operators]\nrestate = restate_plugin:Restate\n")
    monkeypatch.syspath_prepend(str(pkg))
    yield
    sys.modules.pop("restate_plugin", None)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    cmd = [sys.executable, "-m", "archon", "serve", "local/gemma-3-270m", "--port", str(port)]
    with running_server(cmd, f"http://127.0.0.1:{port}/v1", tmp_path_factory.mktemp("serve")) as base:
        yield base


def _module(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def test_an_entry_point_operator_exports_to_python_standalone_and_dspy(
    plugin: None, served: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DSPY_CACHEDIR", str(tmp_path / "dspy-cache"))
    db = f"sqlite:///{tmp_path / 'a.db'}"
    with archon.load(PIPELINE, db=db) as p:
        expected = p.execute(WORDS)
    assert all(o is not None and o.endswith("?!") and o == o.upper() for o in expected.outputs)
    assert expected.usage.paid_calls == 2 * len(WORDS)  # the plugin's own call ran, once per candidate
    spec = parse_pipeline(PIPELINE, "restated.yaml", node_types(operator_types()))

    # Python (archon's runtime): the same calls, all from the cache
    py = tmp_path / "restated.py"
    py.write_text(export_python(spec, source_text=PIPELINE), encoding="utf-8")
    mod = _module(py)
    prog = mod.program(db)
    try:
        results = prog.pipeline._sync(prog.aexecute(mod.flow, WORDS))
    finally:
        prog.close()
    assert [r[0] for r in results] == expected.outputs
    assert sum(u.paid_calls for _, _, u in results) == 0

    # standalone: the plugin's module is in the file (no archon, no plugin import), same calls
    alone = tmp_path / "restated_standalone.py"
    alone.write_text(export_standalone(spec, source_text=PIPELINE), encoding="utf-8")
    text = alone.read_text()
    assert not re.search(r"^\s*(import|from) (archon|restate_plugin)", text, re.M)
    assert "class Restate(BaseOperator)" in text and "class RestateSpec" not in text
    smod = _module(alone)
    sprog = smod.program(str(tmp_path / "a.db"))
    try:
        sresults = asyncio.run(sprog.aexecute(smod.flow, WORDS))
    finally:
        sprog.close()
    assert [r[0] for r in sresults] == expected.outputs
    assert sum(u.paid_calls for _, _, u in sresults) == 0
    assert sum(u.cached_calls for _, _, u in sresults) == expected.usage.paid_calls
    mypy = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(alone), str(py)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "MYPYPATH": str(tmp_path / "plugin")},  # the Python export imports the plugin
    )
    assert mypy.returncode == 0, mypy.stdout

    # DSPy: the plugin runs on the program's context, its call through a predictor
    out = tmp_path / "restated_dspy.py"
    out.write_text(export_dspy(spec, source_text=PIPELINE), encoding="utf-8")
    dmod = _module(out)
    lm = dmod.ops.lm("openai/gemma-3-270m", api_base=served, temperature=0.0, max_tokens=8, stop=["\n"])
    dprog = dmod.program(lms={"gemma": lm}, state=None)
    assert [name for name, _ in dprog.named_predictors()] == ["g", "r"]
    assert [dprog(input=w).answer for w in WORDS] == expected.outputs


def test_a_plugin_that_needs_archon_at_run_time_does_not_export_standalone(
    plugin: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = PLUGIN.replace(
        "from archon.spec import LLMNodeSpec", "from archon.spec import LLMNodeSpec\nfrom archon.store import Store"
    )
    (Path(sys.path[0]) / "restate_plugin.py").write_text(bad)
    sys.modules.pop("restate_plugin", None)
    spec = parse_pipeline(PIPELINE, "restated.yaml", node_types(operator_types()))
    with pytest.raises(
        archon.ConfigurationError, match=r"restate_plugin uses Store from archon.store.*without --standalone"
    ):
        export_standalone(spec)
