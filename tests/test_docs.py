"""The docs say what the code does: the generated reference is current, links resolve,
and CI runs the README's test command."""

from __future__ import annotations

import re

from archon.operators import node_types
from archon.operators import operator_types
from archon.spec import markdown_reference
from tests.conftest import ROOT


def test_pipeline_reference_is_up_to_date() -> None:
    current = (ROOT / "docs" / "pipeline-yaml.md").read_text()
    assert current == markdown_reference(node_types(operator_types())), (
        "docs/pipeline-yaml.md is stale: run archon schema --format markdown -o docs/pipeline-yaml.md"
    )


def test_every_operator_has_a_page() -> None:
    for key in operator_types():
        assert (ROOT / "docs" / "operators" / f"{key}.md").exists(), key


def test_relative_links_resolve() -> None:
    for md in [ROOT / "README.md", *(ROOT / "docs").rglob("*.md")]:
        for target in re.findall(r"\]\(([^)#:]+)\)", md.read_text()):
            assert (md.parent / target).exists(), f"{md}: broken link {target}"


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in readme.split("## What it looks like")[0]
    assert re.search(r"^make test$", ci, re.M)
