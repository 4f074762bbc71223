"""Every ready pipeline validates, and each remote recipe has a local variant."""

from __future__ import annotations

from pathlib import Path

import pytest

from archon.graph import build_graph
from archon.plan import make_plan
from archon.spec import parse_pipeline_file
from tests.conftest import ROOT

FILES = sorted((ROOT / "pipelines").glob("*.yaml"))


@pytest.mark.parametrize("path", FILES, ids=[f.name for f in FILES])
def test_pipeline_validates(path: Path) -> None:
    plan = make_plan(build_graph(parse_pipeline_file(path)))
    assert plan.cost.calls >= 1
    assert plan.graph.spec.description


def test_every_recipe_has_a_local_variant() -> None:
    names = {f.stem for f in FILES}
    remote = {n for n in names if not n.startswith("local-")}
    assert len(remote) >= 7
    for n in remote:
        local = "local-best-of-5-vote" if n == "best-of-n-vote" else f"local-{n.removeprefix('archon-')}"
        assert local in names, f"{n} has no local variant"
    for f in FILES:
        if f.stem.startswith("local-"):
            spec = parse_pipeline_file(f)
            assert all(m.model.startswith("local/") for m in spec.models.values())
