"""A scripted OpenAI-compatible HTTP server for tests and benchmarks — not a model.

It speaks ``/v1/completions`` and ``/v1/chat/completions`` on 127.0.0.1 and answers
with scripted text: the reply of the first ``--script`` rule whose regex matches the
prompt (a list of replies: the k-th request with that prompt gets the k-th, cycling), else
``reply-<n>``. It can add a latency (fixed, or log-normally spread per request with ``--latency-spread``; with ``--capacity N``, at most N
requests are in service at once and the rest queue: latency grows with load, as a real
server's does) and inject faults (HTTP 429 with
or without Retry-After, 500, a hang past the client's timeout, a 200 whose content is
null, a 502 that echoes the request headers) on a deterministic schedule, and counts
what it received (``GET /stats``). Run: ``python -m archon.testing._openai_server``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import re
import socket
import subprocess
import sys
import time
import urllib.request
from typing import Any


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerProcess:
    """Starts the server in its own process; use as a context manager."""

    def __init__(
        self,
        *,
        latency: float = 0.0,
        faults: str = "",
        fault_every: int = 0,
        hang_s: float = 30.0,
        script: list[tuple[str, str | list[str]]] | None = None,
        fault_first: int = 0,
        retry_after: float = 0.0,
        capacity: int = 0,
        latency_spread: float = 0.0,
    ) -> None:
        self.port = free_port()
        self.args = [
            sys.executable,
            "-m",
            "archon.testing._openai_server",
            "--port",
            str(self.port),
            "--latency",
            str(latency),
            "--faults",
            faults,
            "--fault-every",
            str(fault_every),
            "--fault-first",
            str(fault_first),
            "--hang-s",
            str(hang_s),
            "--retry-after",
            str(retry_after),
            "--script",
            json.dumps(script or []),
            "--capacity",
            str(capacity),
            "--latency-spread",
            str(latency_spread),
        ]
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> ServerProcess:
        self.proc = subprocess.Popen(self.args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"test server exited with code {self.proc.returncode}")
            try:
                self.stats()
                return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("test server did not start in 30 s")

    def stats(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/stats", timeout=5) as r:
            return json.loads(r.read())  # type: ignore[no-any-return]

    def __exit__(self, *exc: Any) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def _serve(args: argparse.Namespace) -> None:
    from aiohttp import web

    script = [(re.compile(p, re.S), r) for p, r in json.loads(args.script)]
    faults = [f for f in args.faults.split(",") if f]
    stats: dict[str, Any] = {"requests": 0, "ok": 0, "faults": {}, "max_inflight": 0, "prompts": {}}
    inflight = 0
    gate = asyncio.Semaphore(args.capacity) if args.capacity > 0 else None

    seen: dict[tuple[int, str], int] = {}

    def reply_for(prompt: str, n: int) -> str:
        for i, (rx, reply) in enumerate(script):
            if rx.search(prompt):
                if isinstance(reply, list):  # the k-th request with this prompt gets reply k (cycling)
                    k = seen[(i, prompt)] = seen.get((i, prompt), -1) + 1
                    return str(reply[k % len(reply)])
                return str(reply)
        return f"reply-{n}"

    async def handle(request: web.Request) -> web.Response:
        nonlocal inflight
        body = await request.json()
        stats["requests"] += 1
        n = stats["requests"]
        chat = "messages" in body
        prompt = "\n".join(m.get("content", "") for m in body["messages"]) if chat else str(body.get("prompt", ""))
        if args.fault_first and n <= args.fault_first and faults:
            kind = faults[(n - 1) % len(faults)]
        elif args.fault_every and faults and n % args.fault_every == 0:
            kind = faults[(n // args.fault_every - 1) % len(faults)]
        else:
            kind = ""
        if kind:
            stats["faults"][kind] = stats["faults"].get(kind, 0) + 1
            if kind == "429":
                headers = {"Retry-After": f"{args.retry_after:g}"} if args.retry_after else None
                return web.json_response(
                    {"error": {"message": "rate limited", "type": "rate_limit"}}, status=429, headers=headers
                )
            if kind == "echo":  # a gateway that echoes the request's headers in its error body
                seen = {k: v for k, v in request.headers.items()}
                return web.json_response({"error": {"message": "bad gateway", "request_headers": seen}}, status=502)
            if kind == "null":  # a 200 with "content": null
                stats["ok"] += 1
                message = {"role": "assistant", "content": None}
                return web.json_response(
                    {
                        "id": f"x-{n}",
                        "object": "chat.completion",
                        "created": int(time.time()),
                        "model": "m",
                        "choices": [{"index": 0, "message": message, "text": None, "finish_reason": "content_filter"}],
                    }
                )
            if kind == "500":
                return web.json_response({"error": {"message": "internal error", "type": "server_error"}}, status=500)
            if kind == "timeout":
                await asyncio.sleep(args.hang_s)
        inflight += 1
        stats["max_inflight"] = max(stats["max_inflight"], inflight)
        latency = args.latency
        if args.latency_spread:
            latency *= math.exp(args.latency_spread * random.Random(n).gauss(0.0, 1.0))
        try:
            if gate is not None:
                async with gate:
                    await asyncio.sleep(latency)
            elif latency:
                await asyncio.sleep(latency)
        finally:
            inflight -= 1
        text = reply_for(prompt, n)
        stats["ok"] += 1
        stats["prompts"][prompt[-200:]] = stats["prompts"].get(prompt[-200:], 0) + 1
        usage = {"prompt_tokens": max(1, len(prompt) // 4), "completion_tokens": max(1, len(text) // 4)}
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        if chat:
            choice: dict[str, Any] = {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
            }
            obj = "chat.completion"
        else:
            choice = {"index": 0, "text": text, "finish_reason": "stop", "logprobs": None}
            obj = "text_completion"
        return web.json_response(
            {
                "id": f"x-{n}",
                "object": obj,
                "created": int(time.time()),
                "model": body.get("model", "scripted"),
                "choices": [choice],
                "usage": usage,
            }
        )

    async def get_stats(request: web.Request) -> web.Response:
        return web.json_response(stats)

    app = web.Application()
    app.router.add_post("/v1/completions", handle)
    app.router.add_post("/v1/chat/completions", handle)
    app.router.add_get("/stats", get_stats)
    web.run_app(app, host="127.0.0.1", port=args.port, print=None, access_log=None, backlog=4096)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--latency", type=float, default=0.0)
    p.add_argument("--capacity", type=int, default=0, help="requests in service at once (0: no limit)")
    p.add_argument(
        "--latency-spread",
        type=float,
        default=0.0,
        help="each request's latency is --latency x exp(S x z), z standard normal, seeded by its arrival number",
    )
    p.add_argument("--faults", default="", help="comma list of 429,500,timeout,null,echo")
    p.add_argument("--fault-every", type=int, default=0, help="every k-th request fails")
    p.add_argument("--fault-first", type=int, default=0, help="the first k requests fail")
    p.add_argument("--hang-s", type=float, default=30.0)
    p.add_argument("--retry-after", type=float, default=0.0, help="the Retry-After seconds a 429 sends (0: none)")
    p.add_argument("--script", default="[]", help="JSON list of [regex, reply]")
    _serve(p.parse_args())


if __name__ == "__main__":
    main()
