"""``local/<name-or-gguf>``: llama.cpp in-process (the embedded default, no GPU, no keys)."""

from __future__ import annotations

import asyncio
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from typing import ClassVar
from typing import Literal

from archon.backends._base import BaseBackend
from archon.backends._base import Completion
from archon.backends._base import Request
from archon.backends._local_model import _INSTALL_HINT
from archon.backends._local_model import resolve_local_model
from archon.errors import ConfigurationError
from archon.errors import RequestError
from archon.spec import ModelSpec


def quiet_llama_logs() -> None:
    """Routes llama.cpp's C logging to the ``archon.backends.local`` logger at debug level
    (its failures surface as Python exceptions; its chatter is not for users)."""
    import ctypes
    import logging

    import llama_cpp

    log = logging.getLogger("archon.backends.local")

    @llama_cpp.llama_log_callback  # type: ignore[untyped-decorator]
    def callback(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
        if log.isEnabledFor(logging.DEBUG):
            log.debug("llama.cpp: %s", text.decode("utf-8", "replace").rstrip())

    _Engine.log_callback = callback  # keep a reference: C holds only a pointer
    llama_cpp.llama_log_set(callback, ctypes.c_void_p(0))


class _Engine:
    """One loaded llama.cpp model, shared by every alias that names the same file.

    Every call runs on the engine's own single thread: llama.cpp's OpenMP thread team
    belongs to the calling thread, and hopping between pool threads leaves idle teams
    spinning on the cores the next call needs.
    """

    log_callback: Any = None

    def __init__(self, path: Path, n_ctx: int) -> None:
        try:
            from llama_cpp import Llama
        except ImportError:
            raise ConfigurationError(f"local/ models need llama-cpp-python — {_INSTALL_HINT}") from None
        quiet_llama_logs()
        self.llm = Llama(model_path=str(path), n_ctx=n_ctx, n_threads=os.cpu_count() or 1, verbose=False, seed=0)
        self.lock = threading.Lock()
        self.thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="archon-llama")

    async def run(self, fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.thread, fn, *args)

    def complete(self, prompt: str, params: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            return self.llm.create_completion(prompt, **params)  # type: ignore[return-value]

    def chat(self, messages: list[dict[str, str]], params: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            return self.llm.create_chat_completion(messages, **params)  # type: ignore[return-value,arg-type]

    def count(self, prompt: str) -> int:
        with self.lock:
            return len(self.llm.tokenize(prompt.encode(), add_bos=True, special=True))


class LocalBackend(BaseBackend):
    """llama.cpp in this process. Calls run one at a time on a worker thread.

    Models without a chat template (the packaged gemma is a base model) get the
    messages as one plain-text prompt; the node's template should be few-shot.
    """

    prefix: ClassVar[str] = "local"
    default_concurrency: ClassVar[int] = 1
    default_mode: ClassVar[Literal["chat", "text"]] = "text"

    def __init__(self, spec: ModelSpec, shared: dict[str, Any] | None = None) -> None:
        super().__init__(spec, shared)
        self.name = spec.model.split("/", 1)[1]
        self._path: Path | None = None

    @property
    def endpoint(self) -> str:
        return f"local:{self.name}"

    def check(self) -> None:
        self._path = resolve_local_model(self.name)

    def _engine(self) -> _Engine:
        if self._path is None:
            self._path = resolve_local_model(self.name)
        key = f"llama.cpp:{self._path}:{self.spec.context}"
        if key not in self.shared:
            self.shared[key] = _Engine(self._path, self.spec.context)
        engine: _Engine = self.shared[key]
        return engine

    async def complete(self, request: Request, seed: int) -> Completion:
        engine = self._engine()
        s = request.sampling
        params = {
            "max_tokens": s.max_tokens,
            "temperature": s.temperature,
            "top_p": s.top_p,
            "stop": list(s.stop) or None,
            "seed": seed,
        }
        try:
            if self.mode == "chat":
                messages = [{"role": r, "content": c} for r, c in request.messages]
                out = await engine.run(engine.chat, messages, params)
            else:
                out = await engine.run(engine.complete, request.as_text(), params)
        except ValueError as exc:  # e.g. prompt longer than the context window
            raise RequestError(f"{self.spec.model}: {exc}") from None
        choice = out["choices"][0]
        text = choice["message"].get("content") if "message" in choice else choice.get("text")
        usage = out.get("usage") or {}
        return Completion(
            text=text or "",
            prompt_tokens=int(usage.get("prompt_tokens", 0)),
            completion_tokens=int(usage.get("completion_tokens", 0)),
            cost_usd=0.0,
            finish_reason=choice.get("finish_reason"),
        )

    def max_prompt_tokens(self, request: Request) -> int:
        return self._engine().count(request.as_text())

    def price_per_1k(self) -> tuple[float, float] | None:
        return (0.0, 0.0)
