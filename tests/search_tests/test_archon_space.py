"""The built-in archon: space and the power ranking, on SIMULATED synthetic/ models."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from archon.errors import SpecError
from archon.search import aoptimize
from archon.search import parse_space
from archon.search import parse_space_file
from archon.search import rank_models
from tests.conftest import ROOT

SPACE = ROOT / "optimizers" / "synthetic-archon.yaml"


def _space(search: str = "{calls: 60000, trials: 8}") -> str:
    text = SPACE.read_text().replace("search: {calls: 60000, trials: 30}", f"search: {search}")
    return text.replace("../data/", str(ROOT / "data") + "/")


def test_the_space_is_archons() -> None:
    space = parse_space_file(SPACE)
    names = [p.name for p in space.params]
    assert names == ["n_generators", "samples", "fusion_layers", "width", "critic_ranker", "filter"]
    data = space.pipeline_data(
        {"n_generators": 2, "samples": 3, "fusion_layers": 2, "width": 2, "critic_ranker": True, "filter": "verifier"}
    )
    nodes = data["nodes"]
    assert nodes["generate"]["models"] == ["m0", "m1"] and nodes["generate"]["samples"] == 3  # listed order, unranked
    assert nodes["verify"]["inputs"] == ["generate"] and nodes["critique1"]["inputs"] == ["verify"]
    assert nodes["fuse2_1"]["inputs"] == ["rank2"] and nodes["answer"]["inputs"] == ["fuse2_1", "fuse2_2"]
    plain = space.instantiate({"n_generators": 1, "samples": 4, "fusion_layers": 0})
    assert plain.nodes["answer"].op == "vote" and plain.nodes["generate"].samples == 4
    # width and critic_ranker only matter with a fusion layer
    assert space.active({"fusion_layers": 0, "width": 3})["width"] == 1


def test_archon_with_a_template_is_an_error() -> None:
    text = _space() + "pipeline: {nodes: {g: {op: generate, model: synthetic/small}}}\n"
    with pytest.raises(SpecError) as err:
        parse_space(text, "s.yaml")
    assert "archon: generates the pipeline" in str(err.value)
    with pytest.raises(SpecError) as err:
        parse_space(_space().replace("samples: [1, 6]", "samples: [6, 1]"), "s.yaml")
    assert "s.yaml:" in str(err.value) and "archon.samples" in str(err.value)


async def test_ranking_is_stored_reused_and_orders_the_generators(db_url: str, tmp_path: Path) -> None:
    space = parse_space(_space(), str(SPACE))
    ranking, paid, stored = await rank_models(space, db_url)
    assert not stored and paid.calls == 5 * 20 + 5 * 20  # generators, then fusers (their samples are cached)
    assert ranking.generators[0] == "synthetic/d-0.70"  # the most skilled simulated model
    again, paid2, stored2 = await rank_models(space, db_url)
    assert stored2 and paid2.calls == 0 and again.generators == ranking.generators
    result = await aoptimize(space, db=db_url, results_dir=tmp_path)
    assert result.extra["spent"]["calls"] == result.paid_calls
    best = (tmp_path / "synthetic-archon" / "best.yaml").read_text()
    assert result.best is not None and "synthetic/d-0.70" in best  # the top-ranked generator is always in
    for t in result.trials:
        if t.state == "complete":
            data = replace(space, ranking=ranking).pipeline_data(t.params)
            assert data["nodes"]["generate"]["models"][0] == "m3"  # synthetic/d-0.70 leads


def test_cli_rank_models(tmp_path: Path) -> None:
    path = tmp_path / "space.yaml"
    path.write_text(_space(), encoding="utf-8")
    cmd = [sys.executable, "-m", "archon", "rank-models", str(path), "--db", f"sqlite:///{tmp_path / 'a.db'}"]
    first = subprocess.run(cmd + ["--json"], capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    out = json.loads(first.stdout)
    assert out["stored"] is False and out["paid_calls"] == 200 and len(out["generators"]) == 5
    table = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert "stored ranking reused" in table.stdout and "synthetic/d-0.70" in table.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "archon", "rank-models", str(ROOT / "optimizers" / "synthetic-demo.yaml")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2 and "archon: space" in bad.stderr
