"""Is a gap between two one-call prompts their demonstrations, their format, or their
instruction — and could the dev split have seen it?

Given a task-first search's ``space.yaml`` and two one-call pipelines for it — archon's
``best.yaml`` and, say, the pipeline ``archon tune`` wrote for DSPy's MIPROv2 — this scores
on the space's dev and test splits: each as it is; A's demonstrations in B's format (B's
instruction dropped); B's demonstrations in A's format; B's demonstrations in B's format
with no instruction. Demonstrations are read back from each template with its format
(``--a-format``, default the space's ``demos.format``; ``--b-format``, default the format
``archon tune`` renders a DSPy predictor's demos in).

Run: .venv/bin/python benchmarks/prompt_swap.py SPACE.yaml A.yaml B.yaml
"""

from __future__ import annotations

import argparse
import asyncio
import re
from pathlib import Path
from typing import Any

import yaml

from archon._pipeline import Pipeline
from archon.evaluate import Example
from archon.evaluate import aevaluate
from archon.evaluate import get_metric
from archon.search import parse_space_file
from archon.search._demos import DemoBlock
from archon.search._demos import DemoPool
from archon.search._demos import render_block
from archon.spec import parse_pipeline

DSPY_FORMAT = "Input: {{ input }}\n\nAnswer: {{ answer }}\n\n"


def _pattern(fmt: str) -> re.Pattern[str]:
    """A demonstration format as a regex with the input and answer captured."""
    parts = re.split(r"(\{\{ input \}\}|\{\{ answer \}\})", fmt)
    groups = {"{{ input }}": r"(?P<input>[^\n]*)", "{{ answer }}": r"(?P<answer>[^\n]*)"}
    return re.compile("".join(groups.get(p, re.escape(p)) for p in parts))


def demos(template: str, fmt: str) -> list[tuple[str, str]]:
    return [(m["input"], m["answer"]) for m in _pattern(fmt).finditer(template) if "{{" not in m["input"]]


def render(pairs: list[tuple[str, str]], fmt: str) -> str:
    """The demonstrations as archon renders a ``first`` pick in ``fmt`` (escaped the same
    way), then the query: ``fmt`` up to its answer."""
    pool = DemoPool(tuple(Example(i, {"input": q}, a) for i, (q, a) in enumerate(pairs)))
    shots = render_block(DemoBlock("demos", fmt), pool, len(pairs), "first", 0)
    return shots + fmt.split("{{ answer }}")[0].rstrip(" ")


def _generate_node(doc: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    gens = [(k, n) for k, n in doc["nodes"].items() if n.get("op") == "generate"]
    if len(gens) != 1:
        raise SystemExit(f"{doc.get('name', 'pipeline')}: expected one generate node, found {len(gens)}")
    return gens[0]


def with_template(doc: dict[str, Any], template: str) -> Pipeline:
    name, node = _generate_node(doc)
    new = {**doc, "nodes": {**doc["nodes"], name: {**node, "template": template}}}
    return Pipeline(parse_pipeline(yaml.safe_dump(new), "swap"))


async def main_async(args: argparse.Namespace) -> None:
    space = parse_space_file(args.space)
    _, dev, test = space.splits()
    metric = get_metric(space.metric)
    a_doc = yaml.safe_load(Path(args.a).read_text(encoding="utf-8"))
    b_doc = yaml.safe_load(Path(args.b).read_text(encoding="utf-8"))
    a_fmt = args.a_format or space.demos[0].format
    b_fmt = args.b_format
    a_t = _generate_node(a_doc)[1]["template"]
    b_t = _generate_node(b_doc)[1]["template"]
    a_demos, b_demos = demos(a_t, a_fmt), demos(b_t, b_fmt)
    print(f"A: {len(a_demos)} demonstrations; B: {len(b_demos)}; dev {len(dev)} items, test {len(test)}")
    variants = [
        ("A as it is", a_doc, a_t),
        ("B as it is", b_doc, b_t),
        ("B's demonstrations in A's format", a_doc, render(b_demos, a_fmt)),
        ("A's demonstrations in B's format, no instruction", a_doc, render(a_demos, b_fmt)),
        ("B's demonstrations in B's format, no instruction", a_doc, render(b_demos, b_fmt)),
    ]
    for label, doc, template in variants:
        pipe = with_template(doc, template)
        d = await aevaluate(pipe, dev, metric)
        t = await aevaluate(pipe, test, metric)
        print(
            f"{label:<52} dev {d.score:.3f} [{d.ci95[0]:.2f}–{d.ci95[1]:.2f}]  "
            f"test {t.score:.3f} [{t.ci95[0]:.2f}–{t.ci95[1]:.2f}]"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("space", help="the search's space.yaml (its splits and metric)")
    ap.add_argument("a", help="a one-call pipeline (archon's best.yaml)")
    ap.add_argument("b", help="another one-call pipeline (e.g. archon tune's output for DSPy)")
    ap.add_argument("--a-format", help="A's demonstration format (default: the space's demos.format)")
    ap.add_argument("--b-format", default=DSPY_FORMAT, help="B's demonstration format")
    asyncio.run(main_async(ap.parse_args()))


if __name__ == "__main__":
    main()
