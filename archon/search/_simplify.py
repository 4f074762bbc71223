"""Dropping nodes that do nothing from a trial's pipeline, and the parameters that then
do nothing from what is printed.

A disabled node, a node that does not lead to the output, and a rank or vote over at
most one candidate (no call, the candidate passes through) are removed; whoever read
them reads their inputs instead. The result runs exactly as the original did.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

from archon.errors import SpecError
from archon.graph import build_graph
from archon.plan import make_plan
from archon.spec import NodeSpec
from archon.spec import parse_pipeline

_PASS_THROUGH_WHEN_ONE = ("rank", "vote")


def simplify(data: Mapping[str, Any], node_types: Mapping[str, type[NodeSpec]] | None = None) -> dict[str, Any]:
    """The pipeline data without no-op nodes (a ``layers:`` file, or one that does not
    parse, is returned unchanged).

    Example:
        >>> data = {"models": {"m": {"model": "local/x"}}, "nodes": {
        ...     "g": {"op": "generate", "model": "m"},
        ...     "r": {"op": "rank", "model": "m", "inputs": ["g"]},
        ...     "v": {"op": "vote", "inputs": ["r"]}}, "output": "v"}
        >>> out = simplify(data); list(out["nodes"]), out["output"]
        (['g'], 'g')
    """
    out = copy.deepcopy(dict(data))
    nodes = out.get("nodes")
    if not isinstance(nodes, dict):
        return out
    from archon.search._space import _dump

    try:
        plan = make_plan(build_graph(parse_pipeline(_dump(out), "<simplify>", node_types)))
    except SpecError:
        return out
    drop: list[str] = [n for n in nodes if n not in plan.nodes]
    for nid, pn in plan.nodes.items():
        raw = nodes[nid]
        disabled = isinstance(raw, dict) and raw.get("enabled") is False
        noop = pn.spec.op in _PASS_THROUGH_WHEN_ONE and pn.max_in <= 1 and pn.spec.produces == "candidates"
        if disabled or noop:
            drop.append(nid)
    for nid in drop:
        raw = nodes.get(nid)
        if raw is None:
            continue
        inputs = list(raw.get("inputs") or []) if isinstance(raw, dict) else []
        if out.get("output") == nid:
            if len(inputs) != 1:
                continue  # the output must stay one node
            out["output"] = inputs[0]
        del nodes[nid]
        for other in nodes.values():
            if isinstance(other, dict) and nid in (other.get("inputs") or []):
                new: list[str] = []
                for i in other["inputs"]:
                    for j in inputs if i == nid else [i]:
                        if j not in new:
                            new.append(j)
                other["inputs"] = new
    used: set[str] = set()
    for raw in nodes.values():
        if isinstance(raw, dict):
            used.update(str(m) for m in [raw.get("model"), *(raw.get("models") or [])] if m)
    if isinstance(out.get("models"), dict):
        out["models"] = {k: v for k, v in out["models"].items() if k in used or not used}
    return out


def effective_params(space: Any, values: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters whose value matters for this architecture: changing any other one
    leaves the simplified pipeline the same (e.g. ``k`` of a rank over one candidate)."""
    active = space.active(values)

    def key(v: Mapping[str, Any]) -> str:
        try:
            return json.dumps(simplify(space.pipeline_data(v), space.node_types), sort_keys=True, default=str)
        except (SpecError, KeyError, ValueError, TypeError):
            return "?"

    here = key(active)
    out = {}
    for p in space.params:
        if not p.is_active(active):
            continue
        others = p.grid() if p.kind != "float" else [p.low, p.high]
        alts = [v for v in others if v != active[p.name]][:4]
        if not alts or any(key({**active, p.name: v}) != here for v in alts):
            out[p.name] = active[p.name]
    return out
