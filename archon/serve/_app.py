"""The OpenAI-compatible HTTP face of ``archon serve PIPELINE.yaml | STUDY``.

Routes: ``POST /v1/chat/completions``, ``POST /v1/completions``, ``GET /v1/models``,
``GET /health``, ``GET /metrics`` (Prometheus text). How a request becomes the pipeline's
input: the last user message (chat) or the prompt (completions) fills ``input_field``
(default ``input``); more template fields come from the body's ``archon.inputs`` (the
openai client's ``extra_body={"archon": {"inputs": {...}}}``). A per-request budget comes
from ``archon.budget`` (``{calls, tokens, usd}``) or the ``X-Archon-Budget-Calls`` /
``-Tokens`` / ``-Usd`` headers; a budget below the pipeline's worst case is refused with
400 before any call.

Sampling fields: a pipeline fixes its own sampling per node, so ``n`` > 1,
``temperature``, ``top_p`` and ``seed`` are refused with 400 (never silently dropped);
``max_tokens`` / ``max_completion_tokens`` are accepted when they are at least every
model's own ``max_tokens`` (the pipeline already stays within them) and refused below;
``stop`` is honoured on the final answer (cut at the first stop string,
``finish_reason: "stop"``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel
from pydantic import ConfigDict
from pydantic import Field
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.responses import PlainTextResponse
from starlette.responses import Response
from starlette.responses import StreamingResponse
from starlette.routing import Route

from archon._typing import Query
from archon.backends import Limits
from archon.errors import ArchonError
from archon.errors import redact
from archon.execute import ItemResult
from archon.serve._targets import Served
from archon.serve._targets import Target

log = logging.getLogger("archon.serve")

MAX_BODY = 1 << 20  # 1 MiB: a request body past this is refused with 413


class _Budget(BaseModel):
    model_config = ConfigDict(extra="forbid")
    calls: int | None = Field(default=None, ge=1)
    tokens: int | None = Field(default=None, ge=1)
    usd: float | None = Field(default=None, gt=0)


class _Archon(BaseModel):
    model_config = ConfigDict(extra="forbid")
    inputs: dict[str, Any] = Field(default_factory=dict)
    budget: _Budget | None = None


class _Message(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: str
    content: str | list[dict[str, Any]] | None = None


class _Common(BaseModel):
    model_config = ConfigDict(extra="allow")  # clients send fields archon has no use for (user, metadata)
    model: str = Field(min_length=1)
    n: int | None = None
    stream: bool = False
    max_tokens: int | None = None
    max_completion_tokens: int | None = None
    stop: str | list[str] | None = None
    temperature: float | None = None
    top_p: float | None = None
    seed: int | None = None
    archon: _Archon | None = None


class ChatRequest(_Common):
    messages: list[_Message] = Field(min_length=1)


class CompletionRequest(_Common):
    prompt: str | list[str]


class HTTPError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str = "invalid_request_error",
        param: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.code, self.param = status, message, code, param
        self.headers = dict(headers or {})

    def response(self) -> JSONResponse:
        body = {"error": {"message": redact(self.message), "type": self.code, "param": self.param, "code": self.code}}
        return JSONResponse(body, status_code=self.status, headers=self.headers)


class Metrics:
    """Prometheus counters of one server (its own registry)."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry
        from prometheus_client import Counter
        from prometheus_client import Gauge
        from prometheus_client import Histogram

        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("archon_requests", "requests by model and status", ["model", "status"], registry=r)
        self.latency = Histogram(
            "archon_request_seconds",
            "request latency",
            ["model"],
            registry=r,
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
        )
        self.calls = Counter("archon_calls", "model calls by kind (paid or cached)", ["model", "kind"], registry=r)
        self.cost = Counter("archon_cost_usd", "dollars paid", ["model"], registry=r)
        self.queue = Gauge("archon_queue_depth", "requests admitted and not finished", registry=r)

    def text(self) -> bytes:
        from prometheus_client import generate_latest

        return generate_latest(self.registry)


def _text_of(content: str | list[dict[str, Any]] | None) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    parts = []
    for p in content:
        if p.get("type") not in ("text", "input_text"):
            raise HTTPError(
                400, f"message content of type '{p.get('type')}' is not supported: send text", param="messages"
            )
        parts.append(str(p.get("text") or ""))
    return "".join(parts)


def _limits(req: _Common, headers: Mapping[str, str]) -> Limits:
    """The request's own budget: ``archon.budget`` and the ``X-Archon-Budget-*`` headers,
    the tighter of each."""
    b = req.archon.budget if req.archon and req.archon.budget else _Budget()
    head: dict[str, Any] = {}
    for key, cast in (("calls", int), ("tokens", int), ("usd", float)):
        h = headers.get(f"x-archon-budget-{key}")
        if h is None:
            continue
        try:
            head[key] = cast(h)
        except ValueError:
            raise HTTPError(
                400, f"header X-Archon-Budget-{key.title()}: '{h[:40]}' is not a number", param=key
            ) from None
        if head[key] <= 0:
            raise HTTPError(400, f"header X-Archon-Budget-{key.title()}: must be > 0", param=key)
    return Limits.of(b).merged(Limits(**head))


def _check_sampling(req: _Common, target: Target) -> list[str]:
    """Refuses what a pipeline cannot honour; returns the stop strings to apply."""
    if req.n not in (None, 1):
        raise HTTPError(
            400,
            f"n={req.n}: a pipeline returns one answer (its sampling is in the YAML) — send n=1, or call it n times",
            param="n",
        )
    for name in ("temperature", "top_p", "seed"):
        if getattr(req, name) is not None:
            raise HTTPError(
                400,
                f"{name}: pipeline '{target.name}' sets {name} per node in its YAML — leave {name} out "
                "(or serve a different pipeline)",
                param=name,
            )
    cap = max((m.spec.max_tokens for m in target.pipeline.plan.models.values()), default=0)
    for name in ("max_tokens", "max_completion_tokens"):
        v = getattr(req, name)
        if v is not None and v < cap:
            raise HTTPError(
                400,
                f"{name}={v}: pipeline '{target.name}' makes calls of up to {cap} tokens — send "
                f"{name} >= {cap} or leave it out",
                param=name,
            )
    stop = [req.stop] if isinstance(req.stop, str) else list(req.stop or [])
    if len(stop) > 4 or any(not s for s in stop):
        raise HTTPError(400, "stop: up to 4 non-empty strings", param="stop")
    return stop


def _cut(text: str, stop: list[str]) -> str:
    """``text`` up to its first stop string (a pipeline's answer is always complete:
    ``finish_reason`` is "stop" either way)."""
    hits = [text.find(s) for s in stop if s in text]
    return text[: min(hits)] if hits else text


def create_app(
    served: Served,
    *,
    api_key: str | None = None,
    max_queue: int = 64,
    timeout_s: float = 300.0,
    input_field: str = "input",
) -> Starlette:
    """The ASGI app (run it with uvicorn: ``archon serve`` does)."""
    metrics = Metrics()
    state = {"active": 0}

    def auth(request: Request) -> None:
        if api_key is None:
            return
        got = request.headers.get("authorization", "")
        token = got[7:] if got.lower().startswith("bearer ") else request.headers.get("x-api-key", "")
        if not hmac.compare_digest(token.encode(), api_key.encode()):
            raise HTTPError(401, "invalid or missing API key: send Authorization: Bearer <key>", code="invalid_api_key")

    async def body_of(request: Request) -> dict[str, Any]:
        size = request.headers.get("content-length")
        if size is not None and size.isdigit() and int(size) > MAX_BODY:
            raise HTTPError(413, f"request body over {MAX_BODY} bytes")
        raw = bytearray()
        async for chunk in request.stream():
            raw += chunk
            if len(raw) > MAX_BODY:
                raise HTTPError(413, f"request body over {MAX_BODY} bytes")
        try:
            data = json.loads(bytes(raw))
        except (ValueError, RecursionError) as exc:
            raise HTTPError(400, f"the body is not JSON ({str(exc)[:120]})") from None
        if not isinstance(data, dict):
            raise HTTPError(400, "the body must be a JSON object")
        return data

    def pick(model: str) -> Target:
        if model in served.routers:
            router = served.routers[model]
            return router.pick(state["active"])
        if model not in served.targets:
            known = ", ".join(sorted([*served.targets, *served.routers]))
            raise HTTPError(
                404,
                f"model '{model[:100]}' is not served here (served: {known})",
                code="model_not_found",
                param="model",
            )
        return served.targets[model]

    async def run_one(request: Request, target: Target, fields: dict[str, Any], limits: Limits) -> ItemResult:
        try:
            target.check_budget(limits)
        except ArchonError as exc:
            raise HTTPError(400, f"over budget: {exc}", code="over_budget", param="archon.budget") from None
        job = await target.submit(Query.of(fields), limits)

        async def watch() -> None:  # waits for the client's next message (no polling): a disconnect
            while not job.future.done():
                message = await request.receive()
                if message["type"] == "http.disconnect":
                    job.gone = "the client disconnected"
                    return

        watcher = asyncio.create_task(watch())
        try:
            return await asyncio.wait_for(asyncio.shield(job.future), timeout=timeout_s)
        except TimeoutError:
            job.gone = f"request timeout ({timeout_s:g} s)"
            raise HTTPError(504, f"the pipeline did not answer within {timeout_s:g} s", code="timeout") from None
        finally:
            watcher.cancel()

    async def complete(request: Request, chat: bool) -> Response:
        t0 = time.perf_counter()
        model = "?"
        status = 200
        try:
            auth(request)
            data = await body_of(request)
            try:
                req: _Common = (ChatRequest if chat else CompletionRequest).model_validate(data)
            except ValidationError as exc:
                e = exc.errors()[0]
                where = ".".join(str(x) for x in e["loc"]) or "body"
                raise HTTPError(400, f"{where}: {e['msg']}", param=where) from None
            target = pick(req.model)
            model = req.model  # a served name: a metrics label of bounded cardinality
            stop = _check_sampling(req, target)
            extra = dict(req.archon.inputs) if req.archon else {}
            if chat:
                assert isinstance(req, ChatRequest)
                users = [m for m in req.messages if m.role == "user"]
                if not users:
                    raise HTTPError(400, "messages: no user message to answer", param="messages")
                text = _text_of(users[-1].content)
            else:
                assert isinstance(req, CompletionRequest)
                if isinstance(req.prompt, list):
                    if len(req.prompt) != 1:
                        raise HTTPError(400, "prompt: send one prompt per request", param="prompt")
                    text = req.prompt[0]
                else:
                    text = req.prompt
            fields = {**extra, input_field: text}
            limits = _limits(req, request.headers)
            if state["active"] >= max_queue:
                raise HTTPError(
                    429,
                    f"the server is busy ({max_queue} requests in flight) — retry shortly",
                    code="rate_limit",
                    headers={"Retry-After": "1"},
                )
            state["active"] += 1
            metrics.queue.set(state["active"])
            try:
                item = await run_one(request, target, fields, limits)
            finally:
                state["active"] -= 1
                metrics.queue.set(state["active"])
                elapsed = time.perf_counter() - t0
                for router in served.routers.values():
                    if target in router.points:
                        router.observe(elapsed)
            u = item.usage
            metrics.calls.labels(model, "paid").inc(u.paid_calls)
            metrics.calls.labels(model, "cached").inc(u.cached_calls)
            metrics.cost.labels(model).inc(u.cost_usd)
            if item.error is not None and item.error.startswith("cancelled"):
                raise HTTPError(499 if "disconnected" in item.error else 504, item.error, code="cancelled")
            if item.error is not None or item.output is None:
                raise HTTPError(502, f"the pipeline failed: {item.error or 'no answer'}", code="pipeline_error")
            answer = _cut(item.output, stop)
            log.info(
                "%s %s: %d paid + %d cached calls, %.3f s",
                model,
                target.name,
                u.paid_calls,
                u.cached_calls,
                time.perf_counter() - t0,
            )
            return _answer(req, chat, target, answer, item)
        except HTTPError as err:
            status = err.status
            log.info("%s %s: %d %s", request.url.path, model, status, redact(err.message)[:200])
            return err.response()
        except ClientDisconnect:
            status = 499
            return Response(status_code=499)
        except ArchonError as exc:
            status = 400
            return HTTPError(400, str(exc)).response()
        finally:
            metrics.requests.labels(model, str(status)).inc()
            metrics.latency.labels(model).observe(time.perf_counter() - t0)

    def _answer(req: _Common, chat: bool, target: Target, answer: str, item: ItemResult) -> Response:
        finish = "stop"
        u = item.usage
        rid = ("chatcmpl-" if chat else "cmpl-") + uuid.uuid4().hex[:24]
        created = int(time.time())
        usage = {
            "prompt_tokens": u.prompt_tokens,
            "completion_tokens": u.completion_tokens,
            "total_tokens": u.prompt_tokens + u.completion_tokens,
        }
        ext = {
            "pipeline": target.name,
            "point": target.name,
            "calls": u.paid_calls + u.cached_calls,
            "paid_calls": u.paid_calls,
            "cached_calls": u.cached_calls,
            "failed_calls": u.failed_calls,
            "cost_usd": u.cost_usd,
        }
        kind = "chat.completion" if chat else "text_completion"
        if req.stream:

            async def events() -> AsyncIterator[bytes]:
                def chunk(delta: dict[str, Any], fin: str | None, **more: Any) -> bytes:
                    choice = (
                        {"index": 0, "delta": delta, "finish_reason": fin}
                        if chat
                        else {"index": 0, "text": delta.get("content", ""), "finish_reason": fin}
                    )
                    body = {
                        "id": rid,
                        "object": kind + ".chunk" if chat else kind,
                        "created": created,
                        "model": req.model,
                        "choices": [choice],
                        **more,
                    }
                    return f"data: {json.dumps(body)}\n\n".encode()

                if chat:
                    yield chunk({"role": "assistant", "content": ""}, None)
                yield chunk({"content": answer}, None)
                yield chunk({}, finish, usage=usage, archon=ext)
                yield b"data: [DONE]\n\n"

            return StreamingResponse(events(), media_type="text/event-stream")
        if chat:
            choice: dict[str, Any] = {
                "index": 0,
                "message": {"role": "assistant", "content": answer},
                "finish_reason": finish,
                "logprobs": None,
            }
        else:
            choice = {"index": 0, "text": answer, "finish_reason": finish, "logprobs": None}
        return JSONResponse(
            {
                "id": rid,
                "object": kind,
                "created": created,
                "model": req.model,
                "choices": [choice],
                "usage": usage,
                "archon": ext,
            }
        )

    async def chat_route(request: Request) -> Response:
        return await complete(request, chat=True)

    async def completions_route(request: Request) -> Response:
        return await complete(request, chat=False)

    async def models_route(request: Request) -> Response:
        try:
            auth(request)
        except HTTPError as err:
            return err.response()
        names = sorted([*served.targets, *served.routers])
        return JSONResponse(
            {
                "object": "list",
                "data": [{"id": n, "object": "model", "created": 0, "owned_by": "archon"} for n in names],
            }
        )

    async def health_route(request: Request) -> Response:
        return JSONResponse({"status": "ok", "models": len(served.targets), "in_flight": state["active"]})

    async def metrics_route(request: Request) -> Response:
        return PlainTextResponse(metrics.text(), media_type="text/plain; version=0.0.4")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await served.aclose()  # batches in flight finish; their calls are in the cache

    return Starlette(
        routes=[
            Route("/v1/chat/completions", chat_route, methods=["POST"]),
            Route("/v1/completions", completions_route, methods=["POST"]),
            Route("/v1/models", models_route, methods=["GET"]),
            Route("/health", health_route, methods=["GET"]),
            Route("/metrics", metrics_route, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
