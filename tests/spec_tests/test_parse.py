from __future__ import annotations

import json
import subprocess
import sys

from archon.spec import FuseSpec
from archon.spec import GenerateSpec
from archon.spec import RankSpec
from archon.spec import parse_pipeline
from archon.spec import pipeline_json_schema

LAYERS = """
name: g
models:
  gpt: {model: openai/gpt-4o, temperature: 0.7, max_tokens: 2048}
layers:
  - [{op: generate, model: gpt, samples: 10}]
  - [{op: rank, model: gpt, top_k: 5}]
  - [{op: fuse, model: gpt}]
"""


def test_layers_expand_to_a_chain() -> None:
    spec = parse_pipeline(LAYERS)
    ids = list(spec.nodes)
    assert ids == ["layer0_generate", "layer1_rank", "layer2_fuse"]
    assert isinstance(spec.nodes[ids[0]], GenerateSpec) and spec.nodes[ids[0]].samples == 10
    assert isinstance(spec.nodes[ids[1]], RankSpec) and spec.nodes[ids[1]].inputs == [ids[0]]
    assert isinstance(spec.nodes[ids[2]], FuseSpec) and spec.nodes[ids[2]].inputs == [ids[1]]
    assert spec.output == "layer2_fuse"
    assert spec.models["gpt"].max_tokens == 2048


def test_layers_with_several_nodes_feed_all_to_the_next() -> None:
    spec = parse_pipeline(
        "layers:\n  - [{op: generate, model: a/x}, {op: generate, model: b/y, id: second}]\n"
        "  - [{op: fuse, model: a/x}]\n"
    )
    assert spec.nodes["layer1_fuse"].inputs == ["layer0_generate_0", "second"]


def test_model_alias_may_be_a_plain_string() -> None:
    spec = parse_pipeline("models:\n  m: local/gemma-3-270m\nnodes:\n  g: {op: generate, model: m}\noutput: g\n")
    assert spec.models["m"].model == "local/gemma-3-270m"


def test_schema_lists_every_operator() -> None:
    schema = pipeline_json_schema()
    ops = {
        d["properties"]["op"].get("const") or d["properties"]["op"].get("default")
        for name, d in schema["$defs"].items()
        if name.endswith("Spec") and "op" in d.get("properties", {})
    }
    assert {"generate", "critique", "rank", "fuse", "verify", "vote", "unit_test_generate", "unit_test_evaluate"} <= ops
    assert schema["additionalProperties"] is False


def test_cli_schema_is_json() -> None:
    r = subprocess.run([sys.executable, "-m", "archon", "schema"], capture_output=True, text=True, check=True)
    assert json.loads(r.stdout)["title"] == "archon pipeline"


def test_repeat_expands_a_layer() -> None:
    spec = parse_pipeline(
        "layers:\n  - [{op: generate, model: local/x, samples: 4}]\n"
        "  - {repeat: 3, layer: [{op: critique, model: local/x}]}\n"
        "  - {repeat: 0, layer: [{op: rank, model: local/x}]}\n"
        "  - [{op: fuse, model: local/x}]\n"
    )
    assert list(spec.nodes) == [
        "layer0_generate",
        "layer1_critique",
        "layer2_critique",
        "layer3_critique",
        "layer4_fuse",
    ]
    assert spec.nodes["layer3_critique"].inputs == ["layer2_critique"]
    assert spec.output == "layer4_fuse"


def test_bad_repeat_is_located() -> None:
    import pytest

    from archon.errors import SpecError

    with pytest.raises(SpecError, match=r"<string>:2:14: layers\[0\]\.repeat: repeat must be a whole number"):
        parse_pipeline("layers:\n  - {repeat: -1, layer: [{op: fuse, model: local/x}]}\n")
