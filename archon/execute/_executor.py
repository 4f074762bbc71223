"""The wave executor: runs a plan over a batch of items.

Within a wave, every node of every live item runs at once, so all their requests
reach the backends together (a batching engine sees the whole wave; remote APIs see
full concurrency, bounded per model by the client's semaphores).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import sys
import time
from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from archon._typing import Candidate
from archon._typing import NodeValue
from archon._typing import Query
from archon._typing import Tests
from archon._typing import Usage
from archon.backends import ClientSession
from archon.backends import Limits
from archon.backends import ModelClient
from archon.backends import QueryBudget
from archon.errors import ArchonError
from archon.errors import BackendError
from archon.errors import BudgetExceededError
from archon.errors import ConfigurationError
from archon.errors import TemplateError
from archon.errors import redact
from archon.operators import BaseOperator
from archon.operators import NodeInputs
from archon.operators import OpContext
from archon.operators import Prompter
from archon.operators import run_node
from archon.plan import Plan
from archon.sandbox import BaseSandbox
from archon.sandbox import default_sandbox

log = logging.getLogger("archon.execute")


@dataclass(frozen=True)
class ItemResult:
    """One item's outcome: its answer (first candidate of the output node) or its error."""

    index: int
    query: Query
    output: str | None
    candidates: tuple[Candidate, ...]
    error: str | None
    usage: Usage
    records: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # node → what its operator recorded

    def as_dict(self) -> dict[str, Any]:
        """The ``--out`` row: index, input, output, error, candidates, usage."""
        return {
            "index": self.index,
            "input": dict(self.query.fields),
            "output": self.output,
            "error": self.error,
            "candidates": [c.text for c in self.candidates],
            "usage": self.usage.as_dict(),
        }


@dataclass(frozen=True)
class RunResult:
    run_id: str | None
    items: tuple[ItemResult, ...]
    usage: Usage
    wall_s: float

    @property
    def outputs(self) -> list[str | None]:
        return [i.output for i in self.items]

    @property
    def failed(self) -> list[ItemResult]:
        return [i for i in self.items if i.error is not None]

    def summary(self) -> dict[str, Any]:
        """The ``--json`` form: outputs plus usage (calls, tokens, cost, wall time)."""
        usage = self.usage.as_dict()
        usage["wall_s"] = round(self.wall_s, 3)
        return {
            "outputs": self.outputs,
            "usage": usage,
            "errors": [{"index": i.index, "error": i.error} for i in self.failed],
        }


@dataclass
class _ItemState:
    index: int
    query: Query
    budget: QueryBudget
    usage: Usage = field(default_factory=Usage)
    values: dict[str, NodeValue] = field(default_factory=dict)
    error: str | None = None
    records: dict[str, dict[str, Any]] = field(default_factory=dict)


def static_check(plan: Plan, limits: Limits, client: ModelClient) -> None:
    """Refuses a plan whose worst case per query is over the budget, before any call."""
    problems = []
    cost = plan.cost
    if limits.calls is not None and cost.calls > limits.calls:
        problems.append(
            f"the pipeline makes up to {cost.calls} calls per query but the budget is {limits.calls} "
            f"— raise --max-calls to {cost.calls} or shrink the pipeline (samples, top_k)"
        )
    if limits.tokens is not None and cost.completion_tokens > limits.tokens:
        problems.append(
            f"the pipeline may write up to {cost.completion_tokens} completion tokens per query but the "
            f"budget is {limits.tokens} tokens — raise --max-tokens or lower max_tokens"
        )
    if limits.usd is not None:
        worst = 0.0
        for node in plan.nodes.values():
            if not node.max_calls:
                continue
            prices = [client.backend(m.spec).price_per_1k() for m in node.models]
            unknown = [m.model for m, p in zip(node.models, prices, strict=True) if p is None]
            for name in unknown:
                problems.append(
                    f"model {name} has no known price, so a dollar budget cannot be enforced "
                    f"— add price_per_1k: {{prompt: ..., completion: ...}} to its alias"
                )
            if not unknown:
                worst += node.max_completion_tokens * max(p[1] for p in prices if p is not None) / 1000
        if worst > limits.usd:
            problems.append(
                f"the pipeline may cost up to ${worst:.4f} per query in completion tokens alone but the "
                f"budget is ${limits.usd} — raise --max-usd or lower max_tokens"
            )
    if problems:
        raise ConfigurationError("\n".join(dict.fromkeys(problems)))


async def execute(
    plan: Plan,
    items: Sequence[Query],
    client: ModelClient,
    ops: dict[str, type[BaseOperator]],
    *,
    limits: Limits | None = None,
    sandbox: BaseSandbox | None = None,
    concurrency: dict[str, int] | None = None,
    progress: bool = False,
    record: bool = True,
    pipeline_text: str = "",
    on_item: Callable[[ItemResult], None] | None = None,
    item_limits: Sequence[Limits] | None = None,
    cancelled: Callable[[int], str | None] | None = None,
) -> RunResult:
    """Runs ``plan`` over ``items``; a failed item never stops the others.

    ``item_limits``: a tighter per-query budget for each item (a served request's own),
    merged with ``limits``. ``cancelled(index)``: asked before each wave; a reason stops
    that item there (a served request whose client went away) — calls already made stay
    cached.

    Raises:
        ConfigurationError: missing keys or models, or a plan over budget (before any call).
    """
    limits = limits or Limits()
    client.check(plan.models)
    static_check(plan, limits, client)
    t0 = time.perf_counter()
    session = client.session(concurrency)
    sandbox = sandbox or default_sandbox()
    prompter = Prompter()
    operators = {nid: ops[node.spec.op]() for nid, node in plan.nodes.items()}
    own = list(item_limits) if item_limits is not None else [Limits()] * len(items)
    states = [_ItemState(i, q, QueryBudget(limits.merged(own[i]))) for i, q in enumerate(items)]
    store = client.store
    run_id = None
    if record:
        sha = hashlib.sha256(pipeline_text.encode()).hexdigest()
        run_id = await store.start_run(plan.graph.spec.name or "", sha, plan.graph.spec.file, len(states))
    bar = _Progress(progress, total=len(states) * len(plan.nodes))
    results: list[ItemResult | None] = [None] * len(states)
    try:
        with bar:
            for w, wave in enumerate(plan.waves):
                if cancelled is not None:
                    for s in states:
                        if s.error is None and (why := cancelled(s.index)):
                            s.error = f"cancelled: {why}"
                live = [s for s in states if s.error is None]
                tw = time.perf_counter()
                await asyncio.gather(
                    *(
                        _run_node(nid, s, plan, operators[nid], session, sandbox, prompter, bar)
                        for s in live
                        for nid in wave
                    )
                )
                log.info("wave %d %s: %d items in %.3f s", w, list(wave), len(live), time.perf_counter() - tw)
                done = [s for s in states if results[s.index] is None and (s.error or wave is plan.waves[-1])]
                await _finish(done, plan, results, store if record else None, run_id, on_item)
    except BaseException:
        if run_id is not None:
            await store.finish_run(run_id, "interrupted", {})
        raise
    total = Usage()
    for s in states:
        total.add(s.usage)
    wall = time.perf_counter() - t0
    if run_id is not None:
        summary = total.as_dict()
        summary["wall_s"] = wall
        await store.finish_run(run_id, "finished", summary)
    return RunResult(run_id, tuple(r for r in results if r is not None), total, wall)


async def _finish(
    done: list[_ItemState],
    plan: Plan,
    results: list[ItemResult | None],
    store: Any,
    run_id: str | None,
    on_item: Callable[[ItemResult], None] | None,
) -> None:
    rows = []
    for s in done:
        cands = s.values.get(plan.output, ()) if s.error is None else ()
        assert not isinstance(cands, Tests)
        out = cands[0].text if cands else None
        err = s.error if s.error is not None else (None if cands else f"{plan.output}: no candidates")
        r = ItemResult(s.index, s.query, out, cands, err, s.usage, s.records)
        results[s.index] = r
        rows.append(
            {"idx": s.index, "input": dict(s.query.fields), "output": out, "error": err, "usage": s.usage.as_dict()}
        )
        if on_item:
            on_item(r)
    if store is not None and rows:
        await store.put_items(run_id, rows)


async def _run_node(
    nid: str,
    state: _ItemState,
    plan: Plan,
    op: BaseOperator,
    session: ClientSession,
    sandbox: BaseSandbox,
    prompter: Prompter,
    bar: _Progress,
) -> None:
    node = plan.nodes[nid]
    cands: list[Candidate] = []
    tests: list[Tests] = []
    for src in node.inputs:
        v = state.values[src]
        if isinstance(v, Tests):
            tests.append(v)
        else:
            cands.extend(v)
    ctx = OpContext(
        node=node,
        query=state.query,
        session=session,
        budget=state.budget,
        usage=state.usage,
        sandbox=sandbox,
        prompter=prompter,
    )
    try:
        state.values[nid] = await run_node(op, NodeInputs(tuple(cands), tuple(tests)), ctx, state.values)
        if ctx.recorded:
            state.records[nid] = dict(ctx.recorded)
    except ConfigurationError:
        raise  # the set-up is wrong (a rejected key): every item would fail the same way
    except (BudgetExceededError, BackendError, TemplateError) as exc:
        if state.error is None:
            state.error = redact(f"{nid}: {type(exc).__name__}: {exc}")
        log.info("item %d failed at node %s: %s", state.index, nid, exc)
    except ArchonError as exc:
        if state.error is None:
            state.error = redact(f"{nid}: {exc}")
    finally:
        bar.advance()


class _Progress:
    """A rich progress bar on stderr, shown only on a terminal."""

    def __init__(self, enabled: bool, total: int) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self.total = total
        self._progress: Any = None
        self._task: Any = None

    def __enter__(self) -> _Progress:
        if self.enabled:
            from rich.console import Console
            from rich.progress import BarColumn
            from rich.progress import MofNCompleteColumn
            from rich.progress import Progress
            from rich.progress import TextColumn
            from rich.progress import TimeElapsedColumn

            self._progress = Progress(
                TextColumn("archon"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self._progress.__enter__()
            self._task = self._progress.add_task("run", total=self.total)
        return self

    def advance(self) -> None:
        if self._progress is not None:
            self._progress.advance(self._task)

    def __exit__(self, *exc: Any) -> None:
        if self._progress is not None:
            self._progress.__exit__(*exc)
