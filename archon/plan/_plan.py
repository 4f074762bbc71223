"""Graph → a Plan: topological waves and the static worst-case cost of one query."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import networkx as nx

from archon._typing import Sampling
from archon.graph import Graph
from archon.spec import LLMNodeSpec
from archon.spec import ModelSpec
from archon.spec import NodeSpec
from archon.spec import PriceSpec


@dataclass(frozen=True, slots=True)
class BoundModel:
    """A model as one node calls it: its alias, settings and the node's sampling."""

    name: str
    spec: ModelSpec
    sampling: Sampling

    @property
    def model(self) -> str:
        return self.spec.model

    def price(self) -> PriceSpec | None:
        p = self.spec.price_per_1k
        if p is None:
            return None
        return PriceSpec(prompt=p, completion=p) if isinstance(p, (int, float)) else p


@dataclass(frozen=True, slots=True)
class PlannedNode:
    id: str
    spec: NodeSpec
    inputs: tuple[str, ...]
    models: tuple[BoundModel, ...]
    wave: int
    max_in: int
    max_out: int
    max_calls: int
    max_completion_tokens: int


@dataclass(frozen=True, slots=True)
class StaticCost:
    """Worst-case cost of one query. Prompt tokens depend on the input, so the token
    bound counts completion tokens only; ``usd`` is the completion part, None when a
    priced model is missing a price."""

    calls: int
    completion_tokens: int
    usd: float | None


@dataclass(frozen=True)
class Plan:
    graph: Graph
    waves: tuple[tuple[str, ...], ...]
    nodes: Mapping[str, PlannedNode]
    cost: StaticCost

    @property
    def output(self) -> str:
        return self.graph.output

    @property
    def models(self) -> dict[str, BoundModel]:
        """Every model the plan calls, by model string + api_base (one backend each)."""
        out: dict[str, BoundModel] = {}
        for node in self.nodes.values():
            for m in node.models:
                out.setdefault(f"{m.model}@{m.spec.api_base or ''}", m)
        return out


def make_plan(graph: Graph) -> Plan:
    """Orders the nodes that lead to the output into waves and bounds their cost.

    Example:
        >>> from archon.spec import parse_pipeline
        >>> from archon.graph import build_graph
        >>> text = "nodes:\\n  g: {op: generate, model: local/x, samples: 3}\\n  v: {op: vote, inputs: [g]}\\noutput: v\\n"
        >>> plan = make_plan(build_graph(parse_pipeline(text)))
        >>> plan.waves, plan.cost.calls
        ((('g',), ('v',)), 3)
    """
    needed = nx.ancestors(graph.dag, graph.output) | {graph.output}
    sub = graph.dag.subgraph(needed)
    waves = tuple(tuple(sorted(w, key=list(graph.spec.nodes).index)) for w in nx.topological_generations(sub))
    nodes: dict[str, PlannedNode] = {}
    calls = tokens = 0
    usd: float | None = 0.0
    for w, wave in enumerate(waves):
        for nid in wave:
            spec = graph.spec.nodes[nid]
            bound = tuple(
                BoundModel(name, m, _sampling(m, spec))
                for name, m in zip(graph.model_names[nid], graph.models[nid], strict=True)
            )
            inputs = graph.inputs[nid]
            n_in = sum(nodes[s].max_out for s in inputs if graph.spec.nodes[s].produces == "candidates")
            n_models = max(1, len(bound))
            n_calls = spec.max_calls(n_in, n_models) if bound or spec.needs_model else 0
            per_call = max((m.sampling.max_tokens for m in bound), default=0)
            node = PlannedNode(
                nid, spec, inputs, bound, w, n_in, spec.max_out(n_in, n_models), n_calls, n_calls * per_call
            )
            nodes[nid] = node
            calls += n_calls
            tokens += node.max_completion_tokens
            if n_calls and usd is not None:
                prices = [m.price() for m in bound]
                if any(p is None for p in prices) and not all(
                    m.model.startswith(("local/", "synthetic/", "vllm/")) for m in bound
                ):
                    usd = None
                else:
                    worst = max((p.completion for p in prices if p is not None), default=0.0)
                    usd += node.max_completion_tokens * worst / 1000
    return Plan(graph=graph, waves=waves, nodes=nodes, cost=StaticCost(calls, tokens, usd))


def _sampling(model: ModelSpec, node: NodeSpec) -> Sampling:
    over = node.sampling_overrides() if isinstance(node, LLMNodeSpec) else {}
    stop = over.get("stop", model.stop) or ()
    return Sampling(
        temperature=over.get("temperature", model.temperature),
        top_p=over.get("top_p", model.top_p),
        max_tokens=over.get("max_tokens", model.max_tokens),
        stop=tuple(stop),
    )
