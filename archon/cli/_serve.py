"""``archon serve``: pipelines and studies (archon.serve), or a local model, as an
OpenAI-compatible server.

For ``local/<model>``: llama.cpp's server behind a guard that fixes what it gets wrong
for OpenAI clients (``max_completion_tokens`` is read as ``max_tokens``; ``n`` > 1 is
refused with 400 instead of silently answering once; a client that disconnects stops its
generation at the next token; one log line per request), and with one difference that matters for base models (the embedded
gemma is one): its chat endpoint sends the messages as archon's plain-text prompt (the
contents joined by blank lines, as ``mode: text`` does in process) instead of a chat
template. DSPy programs exported by archon reach ``local/`` models this way.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import threading
import time
from pathlib import Path
from typing import Any

from archon.backends import quiet_llama_logs
from archon.backends import resolve_local_model
from archon.errors import ConfigurationError

CHAT_FORMAT = "archon-plain"
log = logging.getLogger("archon.serve")
# set by the guard for each completion request; llama.cpp's generation loop checks it per token
_GONE: contextvars.ContextVar[threading.Event | None] = contextvars.ContextVar("archon_client_gone", default=None)


def _stop_when_client_gone() -> None:
    """``Llama.create_completion`` (every completion and chat request goes through it)
    gains a stopping criterion: the client of the request being served has disconnected.
    The request's event reaches the worker thread with the context (Starlette's
    threadpool copies it)."""
    from llama_cpp import Llama
    from llama_cpp import StoppingCriteriaList

    if getattr(Llama.create_completion, "_archon_guard", False):
        return
    original = Llama.create_completion

    def create_completion(self: Any, *args: Any, **kwargs: Any) -> Any:
        gone = _GONE.get()
        if gone is not None:
            criteria = list(kwargs.get("stopping_criteria") or [])
            criteria.append(lambda _ids, _logits: gone.is_set())
            kwargs["stopping_criteria"] = StoppingCriteriaList(criteria)
        return original(self, *args, **kwargs)

    create_completion._archon_guard = True  # type: ignore[attr-defined]
    Llama.create_completion = create_completion  # type: ignore[method-assign]


def plain_prompt(messages: list[dict[str, Any]]) -> str:
    """The messages as one plain-text prompt (the backends' ``Request.as_text``)."""
    return "\n\n".join(str(m.get("content") or "") for m in messages if m.get("content"))


LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _bind_check(host: str, port: int) -> None:
    import socket

    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise ConfigurationError(f"cannot listen on {host}:{port} ({exc.strerror}) — pick another --port") from None


def serve(args: Any) -> int:
    """Runs the server until interrupted (SIGINT/SIGTERM: requests in flight finish)."""
    import os

    models: list[str] = list(args.model)
    if any(m.startswith("local/") for m in models):
        if len(models) != 1:
            raise ConfigurationError("archon serve: a local/ model is served alone — one local/MODEL, or pipelines")
        return serve_model(models[0], host=args.host, port=args.port, n_ctx=args.n_ctx, alias=args.alias)
    key = args.api_key or os.environ.get("ARCHON_SERVE_API_KEY") or None
    if key is None and args.host not in LOOPBACK:
        raise ConfigurationError(
            f"--host {args.host}: serving beyond 127.0.0.1 needs an API key — pass --api-key or set ARCHON_SERVE_API_KEY"
        )
    try:
        import uvicorn
    except ImportError:
        raise ConfigurationError("archon serve needs uvicorn: pip install 'archon[serve]'") from None
    from archon.serve import create_app
    from archon.serve import load_served

    for m in models:
        if not Path(m).exists():
            if "/" in m and not m.endswith((".yaml", ".yml")):
                raise ConfigurationError(
                    f"archon serve runs local/ models, pipeline files and study folders, not {m} — "
                    "write a pipeline that uses it and serve that: archon serve my.yaml"
                )
            raise ConfigurationError(f"{m}: no such pipeline file or study folder — e.g. archon serve pipelines/x.yaml")
    _bind_check(args.host, args.port)
    served = load_served(models, db=args.db, slo_ms=args.slo_ms, batch_ms=args.batch_ms)
    app = create_app(
        served, api_key=key, max_queue=args.max_queue, timeout_s=args.timeout, input_field=args.input_field
    )
    import logging

    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    logging.getLogger("archon.serve").addHandler(handler)  # one line per request
    logging.getLogger("archon.serve").setLevel(logging.INFO)
    logging.getLogger("archon.serve").propagate = False
    names = ", ".join(sorted([*served.targets, *served.routers]))
    print(f"serving {names} on http://{args.host}:{args.port}/v1 (Ctrl-C stops)", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", timeout_graceful_shutdown=60)
    return 0


def _guard(app: Any) -> Any:
    """An ASGI wrapper of llama.cpp's app: ``max_completion_tokens`` becomes ``max_tokens``
    (the tighter of the two when both come), ``n`` > 1 gets a 400, a disconnect stops the
    generation (the one reader of the client's messages sets the request's event), and
    each request is logged (path, model, status, tokens, seconds)."""

    async def guarded(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or not scope["path"].endswith("completions"):
            await app(scope, receive, send)
            return None
        chunks = []
        more = True
        while more:
            msg = await receive()
            if msg["type"] == "http.disconnect":
                return None
            chunks.append(msg.get("body", b""))
            more = msg.get("more_body", False)
        body = b"".join(chunks)
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        if isinstance(data, dict):
            n = data.get("n")
            if n not in (None, 1):
                err = {
                    "error": {
                        "message": f"n={n}: the local model server answers one choice per request — send n=1 "
                        "or call it n times",
                        "type": "invalid_request_error",
                        "param": "n",
                        "code": None,
                    }
                }
                raw = json.dumps(err).encode()
                log.info("%s %s: 400 n=%s refused", scope["path"], data.get("model", "?"), n)
                await send(
                    {
                        "type": "http.response.start",
                        "status": 400,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"content-length", str(len(raw)).encode()),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": raw})
                return None
            mct = data.pop("max_completion_tokens", None)
            if isinstance(mct, int):
                mt = data.get("max_tokens")
                data["max_tokens"] = min(mct, mt) if isinstance(mt, int) else mct
            body = json.dumps(data).encode()
            scope = {
                **scope,
                "headers": [(k, v) for k, v in scope["headers"] if k != b"content-length"]
                + [(b"content-length", str(len(body)).encode())],
            }
        await _serve_watched(app, scope, receive, send, body, data if isinstance(data, dict) else {})
        return None

    return guarded


async def _serve_watched(app: Any, scope: dict[str, Any], receive: Any, send: Any, body: bytes, data: Any) -> None:
    """Runs one request with its body replayed; a watcher is the only reader of the
    client's later messages: a disconnect sets the request's event (generation stops at
    the next token) and is passed on to the app."""
    gone = threading.Event()
    passed: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    answered = False  # the whole response was sent: a disconnect after it is the normal end

    async def watch() -> None:
        while True:
            msg = await receive()
            if msg["type"] == "http.disconnect":
                if not answered:
                    gone.set()
                await passed.put(msg)
                return

    sent = False

    async def replay() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await passed.get()

    status = 0
    head = bytearray()

    async def send_seen(msg: dict[str, Any]) -> None:
        nonlocal status, answered
        if msg["type"] == "http.response.start":
            status = int(msg["status"])
        elif msg["type"] == "http.response.body":
            if len(head) < 1 << 16:
                head.extend(msg.get("body", b"")[: (1 << 16) - len(head)])
            answered = answered or not msg.get("more_body", False)
        if not gone.is_set():
            await send(msg)

    t0 = time.perf_counter()
    watcher = asyncio.create_task(watch())
    token = _GONE.set(gone)
    try:
        await app(scope, replay, send_seen)
    finally:
        _GONE.reset(token)
        watcher.cancel()
        usage: dict[str, Any] = {}
        try:
            usage = dict(json.loads(bytes(head)).get("usage") or {})
        except (ValueError, AttributeError, TypeError):
            pass  # a stream or an error body
        tokens = f"{usage.get('prompt_tokens', '?')} + {usage.get('completion_tokens', '?')} tokens"
        if gone.is_set():
            what = f"client disconnected: generation stopped after {usage.get('completion_tokens', '?')} tokens"
        else:
            what = f"{status}, {tokens}"
        log.info("%s %s: %s, %.3f s", scope["path"], data.get("model", "?"), what, time.perf_counter() - t0)


def serve_model(model: str, *, host: str, port: int, n_ctx: int, alias: str | None) -> int:
    """Serves one local/ model with llama.cpp's server until interrupted."""
    name = model.split("/", 1)[1]
    path = resolve_local_model(name)
    try:
        import uvicorn
        from llama_cpp.llama_chat_format import ChatFormatterResponse
        from llama_cpp.llama_chat_format import register_chat_format
        from llama_cpp.server.app import create_app
        from llama_cpp.server.settings import ModelSettings
        from llama_cpp.server.settings import ServerSettings
    except ImportError:
        raise ConfigurationError(
            "archon serve needs llama.cpp's server: pip install 'archon[serve]' (llama-cpp-python[server])"
        ) from None

    _bind_check(host, port)  # before loading the model: a clear error, not uvicorn's
    quiet_llama_logs()

    @register_chat_format(CHAT_FORMAT)  # type: ignore[untyped-decorator]
    def _plain(messages: list[dict[str, Any]], **_: Any) -> Any:
        return ChatFormatterResponse(prompt=plain_prompt(messages))

    served = alias or Path(name).stem  # what archon's DSPy export sends for local/<name>
    settings = ModelSettings(model=str(path), model_alias=served, n_ctx=n_ctx, chat_format=CHAT_FORMAT, verbose=False)
    app = create_app(server_settings=ServerSettings(host=host, port=port), model_settings=[settings])
    _stop_when_client_gone()
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    log.addHandler(handler)  # one line per request
    log.setLevel(logging.INFO)
    log.propagate = False
    print(f"serving {model} as '{served}' on http://{host}:{port}/v1 (Ctrl-C stops)", flush=True)
    uvicorn.run(_guard(app), host=host, port=port, log_level="warning")
    return 0
