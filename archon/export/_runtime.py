"""What an exported Python module runs on: its models and nodes, compiled once, and a
``step`` that runs one node for one query with archon's own operators, backends, cache
and per-query budget — so an exported module and ``archon run`` on the source YAML make
the same calls (the same cache keys) and give the same answers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any

from archon._pipeline import Pipeline
from archon._typing import NodeValue
from archon._typing import Query
from archon._typing import Usage
from archon.backends import ClientSession
from archon.backends import Limits
from archon.backends import QueryBudget
from archon.errors import ArchonError
from archon.errors import ConfigurationError
from archon.execute import static_check
from archon.export._runner import Item
from archon.export._runner import Runner
from archon.export._runner import answer_of
from archon.export._runner import print_results
from archon.operators import BaseOperator
from archon.operators import OpContext
from archon.operators import Prompter
from archon.operators import run_node
from archon.operators import split_inputs
from archon.sandbox import default_sandbox
from archon.spec import BudgetSpec
from archon.spec import ModelSpec
from archon.spec import NodeSpec
from archon.spec import PipelineSpec

Value = NodeValue


class QueryRun:
    """One query going through an exported module's steps."""

    def __init__(self, program: Program, query: Query, session: ClientSession) -> None:
        self.program = program
        self.query = query
        self.session = session
        self.budget = QueryBudget(program.pipeline.limits)
        self.usage = Usage()
        self.values: dict[str, Value] = {}  # what each node has yielded (a gated node reads its gate's)

    async def step(self, node: str, *inputs: Value) -> Value:
        """Runs ``node`` over the values of its inputs (in the order the graph lists them)."""
        p = self.program
        ctx = OpContext(
            node=p.pipeline.plan.nodes[node],
            query=self.query,
            session=self.session,
            budget=self.budget,
            usage=self.usage,
            sandbox=p.sandbox,
            prompter=p.prompter,
        )
        value = self.values[node] = await run_node(p.operators[node], split_inputs(inputs), ctx, self.values)
        return value


Flow = Callable[[QueryRun], Awaitable[Value]]


class Program(Runner):
    """An exported pipeline: ``Program(name, models, nodes, output)``; ``run``/``arun``/
    ``batch``/``abatch`` send queries through ``flow`` (the module's steps)."""

    def __init__(
        self,
        name: str,
        models: Mapping[str, ModelSpec],
        nodes: Mapping[str, NodeSpec],
        output: str,
        *,
        budget: BudgetSpec | None = None,
        db: str | None = None,
        limits: Limits | None = None,
    ) -> None:
        spec = PipelineSpec(name=name, description="", models=models, nodes=nodes, output=output, budget=budget)
        self.pipeline = Pipeline(spec, db=db, limits=limits)
        self.operators: dict[str, BaseOperator] = {
            nid: self.pipeline.ops[n.spec.op]() for nid, n in self.pipeline.plan.nodes.items()
        }
        self.sandbox = default_sandbox()
        self.prompter = Prompter()

    async def aexecute(self, flow: Flow, items: Sequence[Item]) -> list[tuple[str | None, str | None, Usage]]:
        """(answer, error, usage) per item; a failed item never stops the others."""
        client = self.pipeline.client
        client.check(self.pipeline.plan.models)
        static_check(self.pipeline.plan, self.pipeline.limits, client)
        session = client.session()

        async def one(item: Item) -> tuple[str | None, str | None, Usage]:
            q = QueryRun(self, Query.of(item), session)
            try:
                value = await flow(q)
            except ConfigurationError:
                raise
            except ArchonError as exc:
                return None, f"{type(exc).__name__}: {exc}", q.usage
            return (*answer_of(value, self.pipeline.plan.graph.output), q.usage)

        return list(await asyncio.gather(*(one(x) for x in items)))

    def _sync(self, coro: Any) -> Any:
        return self.pipeline._sync(coro)

    def close(self) -> None:
        self.pipeline.close()


def main(program: Callable[[str | None], Program], flow: Flow, doc: str, argv: Sequence[str] | None = None) -> int:
    """``python exported.py "input" ...``: one answer per line (or ``--json``)."""
    import argparse
    import sys

    ap = argparse.ArgumentParser(description=doc.strip().splitlines()[0])
    ap.add_argument("inputs", nargs="+", metavar="INPUT")
    ap.add_argument(
        "--db", metavar="URL", help="the archon database (cache); default: $ARCHON_DB or the user cache dir"
    )
    ap.add_argument("--json", action="store_true", help="one JSON object per input: input, output, error, usage")
    args = ap.parse_args(argv)
    prog = program(args.db)
    try:
        results = prog.pipeline._sync(prog.aexecute(flow, args.inputs))
    except ConfigurationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        prog.close()
    return print_results(args.inputs, results, args.json)
