"""PipelineSpec → a validated networkx graph (edges, kinds, models, cycles)."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass

import networkx as nx

from archon.errors import Problem
from archon.errors import SpecError
from archon.spec import LLMNodeSpec
from archon.spec import ModelSpec
from archon.spec import NodeSpec
from archon.spec import PipelineSpec


@dataclass(frozen=True)
class Graph:
    """The pipeline as a DAG of enabled nodes.

    Attributes:
        spec: the parsed pipeline.
        dag: node id → attributes ``spec`` (NodeSpec) and ``models`` (aliases, resolved);
            an edge u → v means v reads u's output.
        inputs: node id → its input ids after disabled nodes were bypassed, in order.
        models: node id → the ModelSpec(s) it calls, in order (empty for no-call nodes).
        model_names: node id → the alias (or model string) of each of those models.
    """

    spec: PipelineSpec
    dag: nx.DiGraph
    inputs: Mapping[str, tuple[str, ...]]
    models: Mapping[str, tuple[ModelSpec, ...]]
    model_names: Mapping[str, tuple[str, ...]]

    @property
    def output(self) -> str:
        return self.spec.output


def build_graph(spec: PipelineSpec) -> Graph:
    """Checks the graph of a parsed pipeline and returns it.

    Raises:
        SpecError: dangling inputs, cycles, wrong kinds of input, unknown model aliases, ...
            all reported together.
    """
    problems: list[Problem] = []
    nodes = spec.nodes

    # Edges as written; dangling references are reported here.
    for nid, node in nodes.items():
        for i, src in enumerate(node.inputs):
            if src == nid:
                problems.append(
                    spec.problem(
                        ("nodes", nid, "inputs", i),
                        f"node '{nid}' reads its own output",
                        "remove it from its own inputs",
                    )
                )
            elif src not in nodes:
                close = difflib.get_close_matches(src, list(nodes), n=1)
                problems.append(
                    spec.problem(
                        ("nodes", nid, "inputs", i),
                        f"input '{src}' is not a node",
                        (f"did you mean '{close[0]}'? " if close else "") + f"nodes: {', '.join(nodes)}",
                    )
                )
        if len(set(node.inputs)) != len(node.inputs):
            problems.append(spec.problem(("nodes", nid, "inputs"), "an input is listed twice", "list each input once"))
        if node.when is not None:
            problems += _check_when(spec, nid, node.when.node)
    raw = nx.DiGraph()
    raw.add_nodes_from(nodes)
    raw.add_edges_from((src, nid) for nid, node in nodes.items() for src in node.inputs if src in nodes and src != nid)
    raw.add_edges_from(_gates(nodes))
    try:
        cycle = nx.find_cycle(raw)
    except nx.NetworkXNoCycle:
        cycle = None
    if cycle:
        names = " → ".join([u for u, _ in cycle] + [cycle[0][0]])
        first = cycle[0][1]
        problems.append(
            spec.problem(
                ("nodes", first, "inputs"), f"cycle: {names}", "a pipeline is acyclic: remove one of these inputs"
            )
        )
        raise SpecError(problems)

    # Bypass disabled nodes: their consumers read the disabled node's own inputs.
    inputs: dict[str, tuple[str, ...]] = {}
    for nid in nx.topological_sort(raw):
        resolved: list[str] = []
        for src in nodes[nid].inputs:
            if src not in nodes or src == nid:
                continue
            for s in inputs[src] if not nodes[src].enabled else (src,):
                if s not in resolved:
                    resolved.append(s)
        inputs[nid] = tuple(resolved)
    if spec.output in nodes and not nodes[spec.output].enabled:
        problems.append(
            spec.problem(
                ("nodes", spec.output, "enabled"),
                "the output node is disabled",
                "enable it or point output: at another node",
            )
        )

    dag = nx.DiGraph()
    models: dict[str, tuple[ModelSpec, ...]] = {}
    model_names: dict[str, tuple[str, ...]] = {}
    for nid, node in nodes.items():
        if not node.enabled:
            continue
        dag.add_node(nid, spec=node)
        for edge_src in inputs[nid]:
            dag.add_edge(edge_src, nid)
        if node.when is not None and node.when.node in dag:  # the gate is read before the node runs
            dag.add_edge(node.when.node, nid)
        if all(src in nodes for src in node.inputs):  # dangling inputs are reported already
            problems += _check_kinds(spec, nid, node, inputs[nid])
        alias_names, specs, mproblems = _resolve_models(spec, nid, node)
        problems += mproblems
        models[nid], model_names[nid] = specs, alias_names

    out = nodes.get(spec.output)
    if out is not None and out.produces != "candidates":
        problems.append(
            spec.problem(
                ("output",),
                f"output node '{spec.output}' produces {out.produces}, not an answer",
                "point output: at a node that yields candidates",
            )
        )
    if problems:
        raise SpecError(problems)
    return Graph(spec=spec, dag=dag, inputs=inputs, models=models, model_names=model_names)


def _gates(nodes: Mapping[str, NodeSpec]) -> list[tuple[str, str]]:
    """(gate, node) for every ``when:`` that names another node."""
    return [
        (n.when.node, nid)
        for nid, n in nodes.items()
        if n.when is not None and n.when.node in nodes and n.when.node != nid
    ]


def _check_when(spec: PipelineSpec, nid: str, gate: str) -> list[Problem]:
    where = ("nodes", nid, "when", "node")
    nodes = spec.nodes
    if gate == nid:
        return [spec.problem(where, f"node '{nid}' is gated on itself", "name an earlier node")]
    if gate not in nodes:
        close = difflib.get_close_matches(gate, list(nodes), n=1)
        hint = (f"did you mean '{close[0]}'? " if close else "") + f"nodes: {', '.join(nodes)}"
        return [spec.problem(where, f"when: node '{gate}' is not a node", hint)]
    if not nodes[gate].enabled:
        return [spec.problem(where, f"when: node '{gate}' is disabled", "enable it or gate on another node")]
    if nodes[gate].produces != "candidates":
        return [spec.problem(where, f"when: node '{gate}' yields tests, not candidates", "gate on a node with answers")]
    return []


def _check_kinds(spec: PipelineSpec, nid: str, node: NodeSpec, srcs: tuple[str, ...]) -> list[Problem]:
    problems: list[Problem] = []
    kinds = {s: spec.nodes[s].produces for s in srcs}
    if "query" in node.consumes:
        if node.inputs:
            problems.append(
                spec.problem(
                    ("nodes", nid, "inputs"),
                    f"{node.op} reads the input item and takes no inputs",
                    "remove inputs: from this node",
                )
            )
        return problems
    n_cand = sum(1 for k in kinds.values() if k == "candidates")
    n_tests = sum(1 for k in kinds.values() if k == "tests")
    if "candidates" in node.consumes and n_cand == 0:
        problems.append(
            spec.problem(
                ("nodes", nid, "inputs") if node.inputs else ("nodes", nid),
                f"{node.op} needs candidates but none of its inputs yields any",
                "add inputs: [<a generate/fuse/... node>]",
            )
        )
    if "tests" in node.consumes:
        tests_field = getattr(node, "tests_field", None)
        if n_tests == 0 and not tests_field:
            problems.append(
                spec.problem(
                    ("nodes", nid, "inputs") if node.inputs else ("nodes", nid),
                    f"{node.op} needs tests but none of its inputs yields tests",
                    "add a unit_test_generate node to inputs:, or set tests_field: <field of the input item>",
                )
            )
        if getattr(node, "model", None) is None:
            text_tests = [s for s in srcs if spec.nodes[s].yields_tests() == "text"]
            if text_tests or (tests_field and getattr(node, "tests_kind", None) == "text"):
                problems.append(
                    spec.problem(
                        ("nodes", nid),
                        "natural-language tests are judged by a model, but this node has none",
                        "add model: <alias>, or generate code tests (kind: code)",
                    )
                )
    elif n_tests:
        bad = next(s for s, k in kinds.items() if k == "tests")
        i = node.inputs.index(bad) if bad in node.inputs else 0
        problems.append(
            spec.problem(
                ("nodes", nid, "inputs", i),
                f"{node.op} does not take tests (from '{bad}')",
                "feed tests to a unit_test_evaluate node",
            )
        )
    return problems


def _resolve_models(
    spec: PipelineSpec, nid: str, node: NodeSpec
) -> tuple[tuple[str, ...], tuple[ModelSpec, ...], list[Problem]]:
    if not isinstance(node, LLMNodeSpec) and getattr(node, "model", None) is None:
        return (), (), []
    wanted: list[tuple[tuple[str | int, ...], str]] = []
    many = getattr(node, "models", None)
    if many:
        if getattr(node, "model", None):
            return (
                (),
                (),
                [spec.problem(("nodes", nid, "models"), "both model: and models: are given", "use one of them")],
            )
        wanted = [(("nodes", nid, "models", i), m) for i, m in enumerate(many)]
    elif getattr(node, "model", None):
        wanted = [(("nodes", nid, "model"), node.model)]  # type: ignore[attr-defined]
    elif node.needs_model:
        if len(spec.models) == 1:
            wanted = [(("nodes", nid), next(iter(spec.models)))]
        else:
            fix = (
                f"add model: <one of {', '.join(spec.models)}>"
                if spec.models
                else "declare a model under models: and add model: <alias>"
            )
            return (), (), [spec.problem(("nodes", nid), f"{node.op} node '{nid}' has no model", fix)]
    else:
        return (), (), []
    names: list[str] = []
    specs: list[ModelSpec] = []
    problems: list[Problem] = []
    for path, name in wanted:
        if name in spec.models:
            names.append(name)
            specs.append(spec.models[name])
        elif "/" in name:
            names.append(name)
            specs.append(ModelSpec(model=name))
        else:
            close = difflib.get_close_matches(name, list(spec.models), n=1)
            problems.append(
                spec.problem(
                    path,
                    f"unknown model alias '{name}'",
                    (f"did you mean '{close[0]}'? " if close else "")
                    + (f"declared: {', '.join(spec.models)}; " if spec.models else "")
                    + "declare it under models: or write a full model string like local/gemma-3-270m",
                )
            )
    return tuple(names), tuple(specs), problems
