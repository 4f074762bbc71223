"""Every ready local-* pipeline runs end to end on the embedded model."""

from __future__ import annotations

from pathlib import Path

import pytest

import archon
from tests.conftest import ROOT

FILES = sorted((ROOT / "pipelines").glob("local-*.yaml"))
INPUTS = {"capitals": "Germany", "moa": "Germany", "verify": "Germany", "unit-test": "Return the product of a and b."}


@pytest.mark.parametrize("path", FILES, ids=[f.stem for f in FILES])
def test_local_pipeline_runs(path: Path, db_url: str) -> None:
    item = next((v for k, v in INPUTS.items() if k in path.stem), "big")
    with archon.load(path, db=db_url) as p:
        result = p.execute([item])
        again = p.execute([item])
    r = result.items[0]
    assert r.error is None, r.error
    assert r.output is not None and r.candidates
    assert result.usage.paid_calls >= 1
    assert again.usage.paid_calls == 0 and again.outputs == result.outputs
