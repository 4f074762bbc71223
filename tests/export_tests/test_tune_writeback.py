"""What archon tune writes back, and archon serve's refusals (no model calls here)."""

from __future__ import annotations

import socket
import subprocess
import sys

from archon._typing import Candidate
from archon.export.dspy import Fuse
from archon.export.dspy import Generate
from archon.export.dspy import Rank
from archon.export.dspy import TemplateAdapter
from archon.export.dspy import plain_template
from archon.operators import Prompter
from archon.operators import node_types
from archon.operators import operator_types
from archon.spec import parse_pipeline
from archon.testing import free_port

LAYERS = """\
name: layered
models:
  gemma: {model: local/gemma-3-270m, max_tokens: 8}
layers:
  - - {op: generate, model: gemma, samples: 2, template: "Word: {{ input }}"}
  - - {op: rank, model: gemma, top_k: 1}
"""

NODES = """\
name: graph
models:
  gemma: {model: local/gemma-3-270m, max_tokens: 8}
nodes:
  # the generator
  gen: {op: generate, model: gemma, template: "Word: {{ input }}"}
  pick: {op: rank, model: gemma, inputs: [gen], system: "Be brief."}
output: pick
"""


def _spec(text: str, file: str = "p.yaml"):  # type: ignore[no-untyped-def]
    return parse_pipeline(text, file, node_types(operator_types()))


def test_plain_instructions_render_the_same_in_archon_and_in_dspy() -> None:
    """A tuned plain-text instruction is written back as the template the adapter sends:
    archon (with its Candidate objects) renders exactly the prompt DSPy sent."""
    cands = [Candidate("cold", "g"), Candidate("warm", "g", critique="close")]
    adapter = TemplateAdapter()
    for sig, inputs, archon_vars in [
        (Rank, {"item": {"input": "hot"}, "query": "hot", "candidates": cands}, {"query": "hot", "candidates": cands}),
        (Fuse, {"item": {"input": "hot"}, "query": "hot", "candidates": cands}, {"query": "hot", "candidates": cands}),
        (Generate, {"item": {"input": "hot"}}, {}),
    ]:
        text = "Think about {{ x }} and answer."  # looks like a template, is not one: shown as written
        template = plain_template(sig, text)
        sent = adapter.render(sig.with_instructions(text), inputs)
        archon = Prompter().render(template, {"input": "hot", **archon_vars}, "node")
        assert archon == sent and "{{ x }}" in sent and "hot" in sent
    assert "[1] cold\n[2] warm" in adapter.render(
        Rank.with_instructions("Order them."), inputs={"item": {"input": "hot"}, "query": "hot", "candidates": cands}
    )


def test_tuned_yaml_edits_a_nodes_file_in_place_and_rewrites_layers() -> None:
    from archon.tune import tuned_yaml

    spec = _spec(NODES)
    out = tuned_yaml(spec, NODES, {"pick": "Order them.\n\nQuery: {{ query }}\n\nRanking:"})
    assert "# the generator" in out  # comments kept
    again = _spec(out)
    assert again.nodes["pick"].prompt.startswith("Order them.")  # type: ignore[attr-defined]
    assert again.nodes["pick"].system is None  # type: ignore[attr-defined]  # folded into the tuned text
    assert again.nodes["gen"].template == "Word: {{ input }}"  # type: ignore[attr-defined]

    spec = _spec(LAYERS)
    gen = next(n for n, node in spec.nodes.items() if node.op == "generate")
    out = tuned_yaml(spec, LAYERS, {gen: "Word: {{ input }}\nOpposite:"})
    assert "layers:" not in out and "nodes:" in out
    again = _spec(out)
    assert set(again.nodes) == set(spec.nodes) and again.output == spec.output
    assert again.nodes[gen].template == "Word: {{ input }}\nOpposite:"  # type: ignore[attr-defined]
    assert again.nodes[gen].samples == 2  # type: ignore[attr-defined]


def test_serve_refuses_a_busy_port_and_remote_models() -> None:
    port = free_port()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", port))
        busy.listen()
        out = subprocess.run(
            [sys.executable, "-m", "archon", "serve", "local/gemma-3-270m", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert out.returncode == 2 and f"cannot listen on 127.0.0.1:{port}" in out.stderr
    remote = subprocess.run([sys.executable, "-m", "archon", "serve", "openai/gpt-4o"], capture_output=True, text=True)
    assert remote.returncode == 2 and "runs local/ models" in remote.stderr


def test_tuned_yaml_keeps_the_dataset_path_valid_where_it_is_written(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from archon.tune import tuned_yaml

    src = tmp_path / "a" / "p.yaml"
    src.parent.mkdir()
    (tmp_path / "data.jsonl").write_text('{"input": "x", "answer": "y"}\n')
    text = NODES + "dataset: {path: ../data.jsonl}\n"
    src.write_text(text)
    spec = _spec(text, str(src))
    out_dir = tmp_path / "b" / "c"
    out_dir.mkdir(parents=True)
    written = _spec(tuned_yaml(spec, text, {"pick": "Order."}, out_dir), str(out_dir / "t.yaml"))
    assert written.dataset is not None and written.dataset.path is not None
    assert (out_dir / written.dataset.path).resolve() == (tmp_path / "data.jsonl").resolve()
