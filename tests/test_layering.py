"""Stages import only earlier stages (DESIGN.md data flow), checked on the source."""

from __future__ import annotations

import ast

from tests.conftest import ROOT

ORDER = [
    "errors",
    "_typing",
    "spec",
    "graph",
    "plan",
    "store",
    "sandbox",
    "backends",
    "operators",
    "execute",
    "_pipeline",
    "evaluate",
    "search",
    "export",
    "tune",
    "serve",
    "cli",
    "testing",
]


def stage_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "archon" or len(parts) < 2:
        return None
    return parts[1]


def test_no_stage_imports_a_later_one() -> None:
    bad = []
    for path in (ROOT / "archon").rglob("*.py"):
        rel = path.relative_to(ROOT).with_suffix("")
        here = rel.parts[1] if len(rel.parts) > 1 else None
        if here not in ORDER:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            for name in names:
                there = stage_of(name)
                if there in ORDER and ORDER.index(there) > ORDER.index(here):
                    bad.append(f"{rel}: imports {name}")
    assert not bad, "\n".join(bad)


def test_no_module_imports_another_packages_private_parts() -> None:
    """A package's ``_modules`` and ``_names`` are its own: other packages import what its
    ``__init__`` exports (tests may reach inside; archon may not)."""
    bad = []
    for path in (ROOT / "archon").rglob("*.py"):
        rel = path.relative_to(ROOT).with_suffix("")
        here = rel.parts[1] if len(rel.parts) > 2 else None
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("archon.")):
                continue
            parts = node.module.split(".")
            if parts[1] == here or parts[1].startswith("_"):
                continue
            private = [p for p in parts[2:] if p.startswith("_")]
            names = [a.name for a in node.names if a.name.startswith("_")]
            if private or names:
                bad.append(f"{rel}: from {node.module} import {', '.join(a.name for a in node.names)}")
    assert not bad, "\n".join(bad)
