"""``archon export --format python``: a compiled pipeline as a readable Python module.

The module is generated from the compiled graph, not loaded from YAML at run time: the
models and prompts are named constants, every node is a spec constant, and ``flow`` has
one step per node in topological order, the independent nodes of a wave awaited
together. It runs on the archon runtime (:mod:`archon.export._runtime`), so its calls
are archon's calls: same cache keys, same answers as ``archon run`` on the source.
"""

from __future__ import annotations

import json
import keyword
import re
from collections.abc import Mapping
from datetime import UTC
from datetime import datetime
from typing import Any

from archon.graph import build_graph
from archon.plan import Plan
from archon.plan import make_plan
from archon.spec import LLMNodeSpec
from archon.spec import NodeSpec
from archon.spec import PipelineSpec

_PROMPT_FIELDS = ("system", "template", "prompt")


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("archon")
    except Exception:  # noqa: BLE001 - a source checkout without metadata
        return "unknown"


def _ident(name: str, taken: set[str]) -> str:
    out = re.sub(r"\W", "_", name) or "node"
    if out[0].isdigit():
        out = "n_" + out
    if keyword.iskeyword(out) or out in ("q", "asyncio", "flow"):
        out += "_"
    base, i = out, 2
    while out in taken:
        out, i = f"{base}_{i}", i + 1
    taken.add(out)
    return out


def _py(v: Any, indent: int = 0) -> str:
    """A Python literal (double-quoted strings; long multi-line strings as one line each)."""
    pad = " " * indent
    if isinstance(v, str):
        if "\n" in v.rstrip("\n") and len(v) > 40:
            lines = v.splitlines(keepends=True)
            body = "".join(f"{pad}    {json.dumps(line, ensure_ascii=False)}\n" for line in lines)
            return f"(\n{body}{pad})"
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, bool) or v is None or isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_py(x, indent) for x in v) + "]"
    if isinstance(v, Mapping):
        return "{" + ", ".join(f"{json.dumps(str(k))}: {_py(x, indent)}" for k, x in v.items()) + "}"
    raise TypeError(f"cannot write {type(v).__name__} as a literal")


# what an export resolves itself (models and their sampling, prompts): not a node parameter
_RESOLVED = (set(LLMNodeSpec.model_fields) - {"when"}) | {"models"}


def node_params(node: NodeSpec, keep: tuple[str, ...] = ()) -> dict[str, Any]:
    """A node's own parameters as a runtime without archon's spec classes reads them (its
    ``when:`` if it has one), plus the fields in ``keep``."""
    params = {k: v for k, v in node.model_dump().items() if k not in _RESOLVED or k in keep}
    if params.get("when") is None:
        params.pop("when", None)
    return params


def _spec_import(cls: type) -> tuple[str, str]:
    import archon.spec

    if cls.__name__ in archon.spec.__all__:
        return "archon.spec", cls.__name__
    return cls.__module__, cls.__name__


def export_python(spec: PipelineSpec, *, source_text: str = "", provenance: Mapping[str, Any] | None = None) -> str:
    """The Python module for ``spec`` (see the module docstring).

    ``provenance`` adds lines to the module docstring (study, trial, scores, cost).
    """
    graph = build_graph(spec)
    plan = make_plan(graph)
    taken: set[str] = set()
    imports: dict[str, set[str]] = {"archon.export": {"Program", "QueryRun", "Value", "main"}}
    consts: list[str] = []

    # models: the aliases the planned nodes use
    used: list[str] = []
    for nid in plan.nodes:
        for name in graph.model_names[nid]:
            if name in spec.models and name not in used:
                used.append(name)
    model_const: dict[str, str] = {}
    if used:
        consts.append("# Models: settings of each alias the pipeline uses")
        imports.setdefault("archon.spec", set()).add("ModelSpec")
    for alias in used:
        m = spec.models[alias]
        const = _ident(alias.upper() + "_MODEL", taken)
        model_const[alias] = const
        kwargs = m.model_dump(exclude_unset=True)
        parts = []
        for k, v in kwargs.items():
            if k == "price_per_1k" and isinstance(v, dict):
                imports["archon.spec"].add("PriceSpec")
                parts.append(f"{k}=PriceSpec({', '.join(f'{a}={_py(b)}' for a, b in v.items())})")
            else:
                parts.append(f"{k}={_py(v, 4)}")
        consts.append(f"{const} = ModelSpec({', '.join(parts)})")
    # prompts, then nodes
    prompt_lines: list[str] = []
    node_lines: list[str] = []
    node_const: dict[str, str] = {}
    var: dict[str, str] = {}
    var_taken: set[str] = set()
    for nid, planned in plan.nodes.items():
        node: NodeSpec = planned.spec
        const = _ident(nid.upper(), taken)
        node_const[nid] = const
        var[nid] = _ident(nid.lower(), var_taken)
        module, cls = _spec_import(type(node))
        imports.setdefault(module, set()).add(cls)
        data = node.model_dump(exclude_unset=True, exclude={"enabled", "inputs", "op"})
        if planned.inputs:
            data["inputs"] = list(planned.inputs)  # resolved: disabled nodes bypassed
        parts = []
        for k, v in data.items():
            if k in _PROMPT_FIELDS and isinstance(v, str):
                pconst = _ident(f"{const}_{k.upper()}", taken)
                prompt_lines.append(f"{pconst} = {_py(v)}")
                parts.append(f"{k}={pconst}")
            else:
                parts.append(f"{k}={_py(v, 4)}")
        if any(isinstance(v, Mapping) for v in data.values()):  # nested settings: validate them as data
            node_lines.append(f"{const} = {cls}.model_validate({_py({**data, 'op': node.op})})")
        else:
            node_lines.append(f"{const} = {cls}({', '.join(parts)})")
    if prompt_lines:
        consts += ["", "# Prompts (Jinja2 over the input item's fields)", *prompt_lines]
    consts += ["", "# Nodes, in topological order", *node_lines]
    budget = ""
    if spec.budget is not None:
        imports.setdefault("archon.spec", set()).add("BudgetSpec")
        budget = f"BudgetSpec.model_validate({_py(spec.budget.model_dump(exclude_none=True))})"

    flow, need_asyncio = flow_lines(plan, var, "Value")

    doc = docstring(spec, plan, source_text, provenance)
    out = [doc, "", "from __future__ import annotations", ""]
    std = ["import asyncio"] if need_asyncio else []
    std += [
        "import sys",
        "from collections.abc import Mapping, Sequence",
        "from typing import Any",
    ]
    out += std + [""]
    for module in sorted(imports):  # isort's default (black) style
        names = sorted(imports[module], key=lambda n: (not n.isupper(), not n[:1].isupper(), n))
        line = f"from {module} import {', '.join(names)}"
        out += [line] if len(line) <= 88 else [f"from {module} import (", *[f"    {n}," for n in names], ")"]
    out += ["", f"NAME = {_py(spec.name or 'pipeline')}", ""]
    out += consts
    out += [
        "",
        "MODELS = {" + ", ".join(f"{_py(a)}: {model_const[a]}" for a in used) + "}",
        "NODES = {" + ", ".join(f"{_py(n)}: {node_const[n]}" for n in plan.nodes) + "}",
        f"OUTPUT = {_py(plan.graph.output)}",
        "",
        "",
        *flow,
        "",
        "",
        "def program(db: str | None = None) -> Program:",
        '    """The compiled pipeline on a database (default: the user cache dir)."""',
        f"    return Program(NAME, MODELS, NODES, OUTPUT, budget={budget or 'None'}, db=db)",
        "",
        "",
        "_program: Program | None = None",
        "",
        "",
        "def _default() -> Program:",
        "    global _program",
        "    if _program is None:",
        "        _program = program()  # $ARCHON_DB or the user cache dir",
        "    return _program",
        "",
        "",
        *ENTRY_POINTS,
    ]
    return "\n".join(out)


def _sha(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()


def flow_lines(plan: Plan, var: Mapping[str, str], value_type: str) -> tuple[list[str], bool]:
    """``async def flow(q)``: one step per node, a wave at a time (the independent nodes
    of a wave awaited together); and whether it needs ``asyncio``."""
    flow = [f"async def flow(q: QueryRun) -> {value_type}:", '    """One query through the graph, a wave at a time."""']
    need_asyncio = False
    for w, wave in enumerate(plan.waves):
        calls = []
        for nid in wave:
            args = "".join(f", {var[s]}" for s in plan.nodes[nid].inputs)
            calls.append(f'q.step("{nid}"{args})')
        if len(wave) == 1:
            flow.append(f"    {var[wave[0]]} = await {calls[0]}")
        else:
            need_asyncio = True
            flow.append(f"    # wave {w + 1}: {len(wave)} independent nodes, run together")
            flow.append(f"    {', '.join(var[n] for n in wave)} = await asyncio.gather(")
            flow += [f"        {c}," for c in calls]
            flow.append("    )")
    flow.append(f"    return {var[plan.graph.output]}")
    return flow, need_asyncio


# run/arun/batch/abatch of a generated module, over its _default() program
ENTRY_POINTS = (
    "def run(x: str | Mapping[str, Any]) -> str | None:",
    '    """The answer for one input (None if it failed)."""',
    "    return _default().run(flow, x)",
    "",
    "",
    "async def arun(x: str | Mapping[str, Any]) -> str | None:",
    "    return await _default().arun(flow, x)",
    "",
    "",
    "def batch(xs: Sequence[str | Mapping[str, Any]]) -> list[str | None]:",
    "    return _default().batch(flow, xs)",
    "",
    "",
    "async def abatch(xs: Sequence[str | Mapping[str, Any]]) -> list[str | None]:",
    "    return await _default().abatch(flow, xs)",
    "",
    "",
    'if __name__ == "__main__":',
    "    sys.exit(main(program, flow, __doc__ or NAME))",
    "",
)
USE_ARCHON = (
    'Use: run("text"), await arun("text"), batch([...]), await abatch([...]) — or',
    'python this_file.py "text" [--json] [--db URL]. Calls go through the archon cache',
    "($ARCHON_DB or the user cache dir), so the same inputs cost nothing twice.",
)


def docstring(
    spec: PipelineSpec,
    plan: Plan,
    source_text: str,
    provenance: Mapping[str, Any] | None,
    use: tuple[str, ...] = USE_ARCHON,
) -> str:
    """The module docstring: provenance, the graph in one line, the worst case, how to use it."""
    prov = dict(provenance or {})
    chain = " → ".join(
        f"{nid} ({plan.nodes[nid].spec.op}"
        + (
            f" ×{getattr(plan.nodes[nid].spec, 'samples', 1)}"
            if getattr(plan.nodes[nid].spec, "samples", 1) > 1
            else ""
        )
        + ")"
        for wave in plan.waves
        for nid in wave
    )
    doc = [
        f"{spec.name or 'pipeline'}: exported by archon {_version()} on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.",
        "",
        f"Source: {spec.file}" + (f" (sha256 {_sha(source_text)[:16]})" if source_text else ""),
    ]
    doc += [f"{k}: {v}" for k, v in prov.items()]
    doc += [
        f"Graph: {chain}",
        f"Worst case per query: {plan.cost.calls} calls, {plan.cost.completion_tokens} completion tokens.",
        "",
        *use,
    ]
    if spec.description:
        doc.insert(1, "")
        doc.insert(2, spec.description.strip())
    return '"""' + "\n".join(doc).replace('"""', "'''") + '\n"""'
