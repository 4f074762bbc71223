from __future__ import annotations

import importlib

import pytest

PACKAGES = [
    "archon",
    "archon.spec",
    "archon.graph",
    "archon.plan",
    "archon.operators",
    "archon.backends",
    "archon.store",
    "archon.execute",
    "archon.evaluate",
    "archon.search",
    "archon.export",
    "archon.tune",
    "archon.sandbox",
    "archon.cli",
    "archon.testing",
]


@pytest.mark.parametrize("name", PACKAGES)
def test_all_is_sorted_and_complete(name: str) -> None:
    mod = importlib.import_module(name)
    assert mod.__all__ == sorted(mod.__all__)
    public = {n for n in vars(mod) if not n.startswith("_") and not isinstance(vars(mod)[n], type(importlib))}
    public -= {"annotations"}
    assert set(mod.__all__) >= public - {"__version__"}
    for n in mod.__all__:
        assert hasattr(mod, n)
