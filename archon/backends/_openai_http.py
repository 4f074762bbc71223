"""OpenAI-compatible servers (vLLM serve, llama.cpp server, ...) over plain aiohttp.

litellm costs about 8-10 ms of CPU per call here (its logging, cost and SDK layers),
which caps a single process at ~100 calls/s; this client costs about 0.5 ms. It
speaks ``/v1/completions`` (text) and ``/v1/chat/completions`` (chat) only.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any
from typing import ClassVar
from typing import Literal

from archon.backends._base import BaseBackend
from archon.backends._base import Completion
from archon.backends._base import Request
from archon.backends._base import error_for_status
from archon.backends._base import parse_retry_after
from archon.backends._base import route_mode
from archon.errors import BackendError
from archon.errors import ProviderTimeoutError
from archon.errors import ServerError

HTTP_ROUTES = ("openai", "text-completion-openai", "hosted_vllm")


class OpenAIHTTPBackend(BaseBackend):
    """``api_base`` + an OpenAI-protocol route, sent with one pooled aiohttp session."""

    prefix: ClassVar[str] = "http"
    default_concurrency: ClassVar[int] = 64

    def __init__(self, spec: Any, shared: dict[str, Any] | None = None) -> None:
        super().__init__(spec, shared)
        self.served_name = spec.model.partition("/")[2] or spec.model
        self._sessions: dict[int, Any] = {}

    @property
    def default_mode(self) -> Literal["chat", "text"]:  # type: ignore[override]
        return route_mode(self.spec.model)

    @property
    def endpoint(self) -> str:
        # The same server and model is the same cache entry whichever client sends it.
        return f"litellm:{self.spec.api_base or ''}"

    def check(self) -> None:
        self.check_key_env()

    def _session(self) -> Any:
        import aiohttp

        loop = asyncio.get_running_loop()
        s = self._sessions.get(id(loop))
        if s is None or s.closed:
            headers = {"Content-Type": "application/json"}
            key = os.environ.get(self.spec.api_key_env) if self.spec.api_key_env else None
            if key:
                headers["Authorization"] = f"Bearer {key}"
            s = aiohttp.ClientSession(
                headers=headers,
                connector=aiohttp.TCPConnector(limit=0, ttl_dns_cache=300),
                timeout=aiohttp.ClientTimeout(total=self.spec.timeout_s),
            )
            self._sessions[id(loop)] = s
        return s

    async def complete(self, request: Request, seed: int) -> Completion:
        import aiohttp

        s = request.sampling
        body: dict[str, Any] = {
            "model": self.served_name,
            "max_tokens": s.max_tokens,
            "temperature": s.temperature,
            "top_p": s.top_p,
            "seed": seed,
        }
        if s.stop:
            body["stop"] = list(s.stop)
        base = (self.spec.api_base or "").rstrip("/")
        if self.mode == "text":
            url, body["prompt"] = f"{base}/completions", request.as_text()
        else:
            url = f"{base}/chat/completions"
            body["messages"] = [{"role": r, "content": c} for r, c in request.messages]
        try:
            async with self._session().post(url, json=body) as resp:
                if resp.status >= 400:
                    raise error_for_status(
                        resp.status,
                        f"{self.spec.model}: HTTP {resp.status}: {(await resp.text())[:300]}",
                        parse_retry_after(resp.headers.get("Retry-After")),
                    )
                data = await resp.json(content_type=None)
        except BackendError:
            raise
        except TimeoutError:
            raise ProviderTimeoutError(f"{self.spec.model}: no answer in {self.spec.timeout_s} s") from None
        except aiohttp.ClientError as exc:
            raise ServerError(f"{self.spec.model}: {type(exc).__name__}: {exc}") from None
        except ValueError as exc:
            raise ServerError(f"{self.spec.model}: the server sent invalid JSON ({exc})") from None
        try:
            choice = data["choices"][0]
            text = choice["text"] if self.mode == "text" else choice["message"].get("content")
        except (KeyError, IndexError, TypeError):
            raise ServerError(f"{self.spec.model}: unexpected response shape: {str(data)[:200]}") from None
        usage = data.get("usage") or {}
        return self.completion(
            text,
            int(usage.get("prompt_tokens") or 0),
            int(usage.get("completion_tokens") or 0),
            choice.get("finish_reason"),
        )

    async def aclose(self) -> None:
        for s in self._sessions.values():
            if not s.closed:
                await s.close()
        self._sessions.clear()
