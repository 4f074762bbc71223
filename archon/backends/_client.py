"""The model client: routing, the call cache, budgets, retries and concurrency limits."""

from __future__ import annotations

import asyncio
import difflib
import logging
import time
from collections.abc import Mapping
from importlib.metadata import entry_points
from typing import Any

from tenacity import AsyncRetrying
from tenacity import retry_if_exception
from tenacity import stop_after_attempt
from tenacity import wait_exponential_jitter

from archon._cachekey import call_key
from archon._typing import Usage
from archon.backends._base import BaseBackend
from archon.backends._base import Completion
from archon.backends._base import Message
from archon.backends._base import Request
from archon.backends._budget import QueryBudget
from archon.errors import BackendError
from archon.errors import BudgetExceededError
from archon.errors import ConfigurationError
from archon.plan import BoundModel
from archon.spec import ModelSpec
from archon.store import Store
from archon.store import call_tag


def backend_class(model: str, spec: ModelSpec | None = None) -> type[BaseBackend]:
    """The backend for a model string, by its prefix; custom ones come by entry point
    (group ``archon.backends``, name = the prefix). An OpenAI-compatible server
    (``api_base`` with an ``openai/``, ``text-completion-openai/`` or ``hosted_vllm/``
    route) gets the lean HTTP client unless ``client: litellm`` is set."""
    prefix = model.split("/", 1)[0] if "/" in model else ""
    if spec is not None and spec.api_base and spec.client != "litellm":
        from archon.backends._openai_http import HTTP_ROUTES
        from archon.backends._openai_http import OpenAIHTTPBackend

        if prefix in HTTP_ROUTES or spec.client == "http":
            return OpenAIHTTPBackend
    if prefix == "local":
        from archon.backends._local import LocalBackend

        return LocalBackend
    if prefix == "synthetic":
        from archon.backends._synthetic import SyntheticBackend

        return SyntheticBackend
    for ep in entry_points(group="archon.backends"):
        if ep.name == prefix:
            cls = ep.load()
            return cls  # type: ignore[no-any-return]
    if prefix == "vllm":
        from archon.backends._vllm import VLLMBackend

        return VLLMBackend
    from archon.backends._litellm import LiteLLMBackend

    return LiteLLMBackend


def model_problem(spec: ModelSpec) -> str | None:
    """What is wrong with a model string before any backend is built, or None: blanks in
    it, or a provider no backend serves (archon's own prefixes, the ``archon.backends``
    entry points, litellm's providers; a bare name must be one litellm knows)."""
    model = spec.model
    if not model.strip() or any(c.isspace() for c in model):
        return f"model string {model!r} is empty or holds blanks"
    prefix, _, rest = model.partition("/")
    if prefix in ("local", "synthetic", "vllm") or any(
        ep.name == prefix for ep in entry_points(group="archon.backends")
    ):
        return None if rest else f"model string {model!r} names no model after '{prefix}/'"
    litellm = _litellm_module()
    if litellm is None:
        return None  # litellm missing: run-time says so
    providers = {getattr(p, "value", str(p)) for p in litellm.provider_list}
    if rest:
        if prefix in providers:
            return None
        close = difflib.get_close_matches(prefix, [*providers, "local", "synthetic", "vllm"], n=1)
        return f"unknown provider '{prefix}' in model string {model!r}" + (
            f" (did you mean '{close[0]}'?)" if close else ""
        )
    if model in litellm.model_cost or spec.api_base:
        return None
    return f"model string {model!r} names no provider"


def _litellm_module() -> Any:
    from archon.backends._litellm import _litellm

    try:
        return _litellm()
    except ImportError:
        return None


#: The longest ``Retry-After`` archon honours; a longer one fails the call at once.
MAX_RETRY_AFTER_S = 120.0
_backoff = wait_exponential_jitter(initial=0.5, max=20.0)


def _after(exc: BaseException | None, base: float) -> float:
    """The wait before the next attempt: the backoff, or longer if the server said so."""
    asked = getattr(exc, "retry_after", None)
    return max(base, min(float(asked), MAX_RETRY_AFTER_S)) if asked is not None else base


def _wait(state: Any) -> float:
    exc = state.outcome.exception() if state.outcome is not None else None
    return _after(exc, _backoff(state))


def cache_key(endpoint: str, request: Request, mode: str) -> str:
    """The call's key (:func:`archon._cachekey.call_key`; never an API key)."""
    return call_key(endpoint, request.model, mode, request.messages, request.sampling.as_dict(), request.sample)


class ModelClient:
    """Holds one backend per (model, api_base) and sends requests through the cache.

    A client lives as long as a :class:`archon.Pipeline` (models stay loaded);
    per-run state (semaphores, in-flight table) is made fresh by :meth:`session`.
    """

    def __init__(self, store: Store, *, cache: bool = True) -> None:
        self.store = store
        self.cache = cache
        self._backends: dict[str, BaseBackend] = {}
        self._shared: dict[str, Any] = {}  # heavy resources the backends share (loaded models)

    def backend(self, spec: ModelSpec) -> BaseBackend:
        key = f"{spec.model}@{spec.api_base or ''}@{spec.mode}@{spec.context}@{spec.client}"
        if key not in self._backends:
            self._backends[key] = backend_class(spec.model, spec)(spec, shared=self._shared)
        return self._backends[key]

    def check(self, models: Mapping[str, BoundModel]) -> None:
        """Pre-flight: raises ConfigurationError (missing keys, models) before any call."""
        problems = []
        for m in models.values():
            why = model_problem(m.spec)
            if why is not None:
                problems.append(f"{why} — write provider/model, e.g. openai/gpt-4o-mini or local/gemma-3-270m")
                continue
            try:
                self.backend(m.spec).check()
            except ConfigurationError as exc:
                problems.append(str(exc))
        if problems:
            raise ConfigurationError("\n".join(dict.fromkeys(problems)))

    def session(self, concurrency: Mapping[str, int] | None = None) -> ClientSession:
        return ClientSession(self, dict(concurrency or {}))

    async def aclose(self) -> None:
        for b in self._backends.values():
            await b.aclose()
        self._shared.clear()
        self._backends.clear()


class ClientSession:
    """Per-run state of a client: semaphores and identical requests in flight."""

    def __init__(self, client: ModelClient, concurrency: dict[str, int]) -> None:
        self.client = client
        self._concurrency = concurrency
        self._sems: dict[str, asyncio.Semaphore] = {}
        self._inflight: dict[str, asyncio.Future[Completion]] = {}
        self.log = logging.getLogger("archon.backends")

    def _sem(self, backend: BaseBackend) -> asyncio.Semaphore:
        name = backend.spec.model + "@" + (backend.spec.api_base or "")
        if name not in self._sems:
            n = self._concurrency.get(backend.spec.model) or backend.spec.concurrency or backend.default_concurrency
            self._sems[name] = asyncio.Semaphore(n)
        return self._sems[name]

    async def complete(
        self, model: BoundModel, messages: tuple[Message, ...], sample: int, budget: QueryBudget, usage: Usage
    ) -> Completion:
        """One request through cache → budget → concurrency limit → retries → store."""
        backend = self.client.backend(model.spec)
        request = Request(model=model.model, messages=messages, sampling=model.sampling, sample=sample)
        key = cache_key(backend.endpoint, request, backend.mode)
        if self.client.cache:
            hit = await self.client.store.get_call(key)
            if hit is not None:
                usage.cached_calls += 1
                usage.cached_cost_usd += hit.cost_usd
                return Completion(hit.text, hit.prompt_tokens, hit.completion_tokens, 0.0, hit.finish_reason)
            if key in self._inflight:  # the same request is being paid for right now
                done = await asyncio.shield(self._inflight[key])
                usage.cached_calls += 1
                usage.cached_cost_usd += done.cost_usd
                return Completion(done.text, done.prompt_tokens, done.completion_tokens, 0.0, done.finish_reason)
        fut: asyncio.Future[Completion] = asyncio.get_running_loop().create_future()
        self._inflight[key] = fut
        try:
            result = await self._paid(backend, request, key, budget, usage)
        except BaseException as exc:
            self._inflight.pop(key, None)
            if not fut.done():
                fut.set_exception(exc)
                fut.exception()  # mark retrieved
            raise
        self._inflight.pop(key, None)
        fut.set_result(result)
        return result

    async def _paid(
        self, backend: BaseBackend, request: Request, key: str, budget: QueryBudget, usage: Usage
    ) -> Completion:
        seed = int(key[:8], 16) & 0x7FFFFFFF
        price = backend.price_per_1k() or (0.0, 0.0)
        tag = call_tag.get()

        async def attempt() -> tuple[Completion, float]:
            prompt_bound = backend.max_prompt_tokens(request) if budget.limits.tokens or budget.limits.usd else 0
            worst_usd = (prompt_bound * price[0] + request.sampling.max_tokens * price[1]) / 1000
            reservation = budget.reserve(prompt_bound + request.sampling.max_tokens, worst_usd)
            sent = False
            try:
                async with self._sem(backend):
                    if tag is not None:  # a search trial's call: on record before it can be billed
                        bound = backend.max_prompt_tokens(request)
                        worst = (bound * price[0] + request.sampling.max_tokens * price[1]) / 1000
                        await self.client.store.put_sent(tag, key, bound + request.sampling.max_tokens, worst)
                    t0 = time.perf_counter()
                    sent = True
                    out = await backend.complete(request, seed)
            except asyncio.CancelledError:
                if not sent:  # it never got a slot: never sent, nothing to pay
                    budget.release(reservation)
                    raise
                # abandoned in flight (first-finish): a hosted API may bill it, so its worst
                # case stays spent — per-query and search budgets hold even then
                bound = prompt_bound or backend.max_prompt_tokens(request)
                worst_tokens = bound + request.sampling.max_tokens
                worst = (bound * price[0] + request.sampling.max_tokens * price[1]) / 1000
                budget.settle(reservation, worst_tokens, worst)
                usage.cancelled_calls += 1
                usage.cancelled_tokens += worst_tokens
                usage.cancelled_usd += worst
                raise
            except BaseException:
                budget.release(reservation)
                usage.failed_calls += 1
                raise
            budget.settle(reservation, out.prompt_tokens + out.completion_tokens, out.cost_usd)
            return out, time.perf_counter() - t0

        try:
            out, latency = await attempt()
        except BackendError as exc:
            if not exc.is_retryable() or backend.spec.max_retries == 0:
                raise
            if exc.retry_after is not None and exc.retry_after > MAX_RETRY_AFTER_S:
                raise type(exc)(f"{exc} (the server asks to wait {exc.retry_after:.0f} s: not retried)") from None
            # Failures are rare: tenacity is only set up once the first attempt failed.
            self.log.info("%s: retrying after %s", request.model, exc)
            last: list[BaseException] = [exc]
            failed = [1]

            async def again() -> tuple[Completion, float]:
                try:
                    return await attempt()
                except BudgetExceededError as refused:  # name what made the retries necessary
                    raise BudgetExceededError(
                        f"{refused} — while retrying after {failed[0]} failed attempt(s); the last: {last[0]}"
                    ) from None
                except BackendError as err:
                    last[0] = err
                    failed[0] += 1
                    raise

            retrying = AsyncRetrying(
                stop=stop_after_attempt(backend.spec.max_retries),
                wait=_wait,
                retry=retry_if_exception(lambda e: isinstance(e, BackendError) and e.is_retryable()),
                before_sleep=lambda rs: self.log.info("%s: retry %d", request.model, rs.attempt_number),
                reraise=True,
            )
            await asyncio.sleep(_after(exc, 0.25))
            out, latency = await retrying(again)
        # Durable before use: a crash after this line never loses the paid call.
        await self.client.store.put_call(
            {
                "key": key,
                "endpoint": backend.endpoint,
                "model": request.model,
                "sample": request.sample,
                "request": {
                    "messages": [list(m) for m in request.messages],
                    "sampling": request.sampling.as_dict(),
                    "mode": backend.mode,
                },
                "text": out.text,
                "prompt_tokens": out.prompt_tokens,
                "completion_tokens": out.completion_tokens,
                "cost_usd": out.cost_usd,
                "latency_s": latency,
                "finish_reason": out.finish_reason,
                "_tag": tag,
            }
        )
        usage.paid_calls += 1
        usage.prompt_tokens += out.prompt_tokens
        usage.completion_tokens += out.completion_tokens
        usage.cost_usd += out.cost_usd
        return out
