"""The library facade: ``archon.load(path).run(x)``."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from collections.abc import Mapping
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from typing import TypeVar

from archon._typing import Query
from archon.backends import Limits
from archon.backends import ModelClient
from archon.execute import RunResult
from archon.execute import execute
from archon.graph import Graph
from archon.graph import build_graph
from archon.operators import BaseOperator
from archon.operators import node_types
from archon.operators import operator_types
from archon.plan import Plan
from archon.plan import make_plan
from archon.sandbox import BaseSandbox
from archon.spec import PipelineSpec
from archon.spec import parse_pipeline
from archon.store import Store

Item = str | Mapping[str, Any]
T = TypeVar("T")


class Pipeline:
    """A compiled pipeline bound to a database. Models load on first use and stay loaded.

    Use :func:`archon.load` to make one. ``run``/``batch`` are sync wrappers of
    ``arun``/``abatch``; ``execute``/``aexecute`` return the full :class:`RunResult`
    (per-item candidates, errors, usage). Close it (or use ``with``) to free models.

    Example::

        with archon.load("pipelines/local-best-of-5-vote.yaml") as p:
            p.run("hot")            # 'cold'
            p.batch(["big", "up"])  # ['small', 'down']
    """

    def __init__(
        self,
        spec: PipelineSpec,
        *,
        text: str = "",
        db: str | None = None,
        cache: bool = True,
        limits: Limits | None = None,
        ops: dict[str, type[BaseOperator]] | None = None,
        sandbox: BaseSandbox | None = None,
        progress: bool = False,
        client: ModelClient | None = None,
    ) -> None:
        self.spec = spec
        self.text = text
        self.ops = ops or operator_types()
        self.graph: Graph = build_graph(spec)
        self.plan: Plan = make_plan(self.graph)
        own = spec.budget.per_query if spec.budget and spec.budget.per_query else None
        base = Limits.of(own)
        self.limits = base.merged(limits or Limits())
        self.db = db
        self.cache = cache
        self.sandbox = sandbox
        self.progress = progress
        self._store: Store | None = None
        self._client: ModelClient | None = client  # a shared client stays open on close()
        self._owns_client = client is None
        self._runner: asyncio.Runner | None = None

    @property
    def client(self) -> ModelClient:
        if self._client is None:
            self._store = Store(self.db)
            self._client = ModelClient(self._store, cache=self.cache)
        return self._client

    async def aexecute(self, items: Sequence[Item], **kwargs: Any) -> RunResult:
        queries = [Query.of(x) for x in items]
        return await execute(
            self.plan,
            queries,
            self.client,
            self.ops,
            limits=self.limits,
            sandbox=self.sandbox,
            progress=self.progress,
            pipeline_text=self.text,
            **kwargs,
        )

    def execute(self, items: Sequence[Item], **kwargs: Any) -> RunResult:
        return self._sync(self.aexecute(items, **kwargs))

    async def arun(self, item: Item) -> str | None:
        """The answer for one item (None when it failed; see :meth:`aexecute` for why)."""
        return (await self.aexecute([item])).outputs[0]

    def run(self, item: Item) -> str | None:
        return self._sync(self.arun(item))

    async def abatch(self, items: Sequence[Item]) -> list[str | None]:
        return (await self.aexecute(items)).outputs

    def batch(self, items: Sequence[Item]) -> list[str | None]:
        return self._sync(self.abatch(items))

    def _sync(self, coro: Coroutine[Any, Any, T]) -> T:
        # One event loop for the pipeline's life: clients bound to a loop stay usable.
        if self._runner is None:
            self._runner = asyncio.Runner()
        return self._runner.run(coro)

    async def aclose(self) -> None:
        if not self._owns_client:
            self._client = None
            return
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        if self._store is not None:
            self._store.close()
            self._store = None

    def close(self) -> None:
        if self._runner is not None:
            self._runner.run(self.aclose())
            self._runner.close()
            self._runner = None
        elif self._client is not None or self._store is not None:
            asyncio.run(self.aclose())

    def __enter__(self) -> Pipeline:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def load(
    source: str | Path,
    *,
    db: str | None = None,
    cache: bool = True,
    limits: Limits | None = None,
    extra_ops: tuple[type[BaseOperator], ...] = (),
    **kwargs: Any,
) -> Pipeline:
    """Loads a pipeline from a YAML file path (or YAML text containing a newline).

    Args:
        source: a path to a pipeline file, or its YAML text.
        db: a SQLAlchemy URL; default: a SQLite file in the user cache dir.
        cache: reuse cached calls (default True).
        limits: per-query budget (calls, tokens, usd); tighter than the file's own wins.
        extra_ops: operator classes to register in addition to built-ins and entry points.

    Raises:
        SpecError: the file is invalid (every problem, located).
    """
    ops = operator_types(extra_ops)
    if isinstance(source, Path) or "\n" not in str(source):
        path = Path(source)
        from archon.spec import parse_pipeline_file
        from archon.spec import read_source

        spec = parse_pipeline_file(path, node_types(ops))
        text = read_source(path)
    else:
        text = str(source)
        spec = parse_pipeline(text, "<string>", node_types(ops))
    return Pipeline(spec, text=text, db=db, cache=cache, limits=limits, ops=ops, **kwargs)
