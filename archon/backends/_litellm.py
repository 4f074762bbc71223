"""Any litellm route (``openai/...``, ``anthropic/...``, ``hosted_vllm/...``), plus ``api_base``."""

from __future__ import annotations

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
from archon.errors import ConfigurationError
from archon.errors import ProviderTimeoutError
from archon.errors import RateLimitError
from archon.errors import RequestError
from archon.errors import ServerError


def _litellm() -> Any:
    # litellm fetches a price map over the network at import unless told not to.
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    litellm.suppress_debug_info = True
    # its aiohttp transport opens a session per call and never closes it (warnings at exit)
    litellm.disable_aiohttp_transport = True
    return litellm


class LiteLLMBackend(BaseBackend):
    """Remote APIs and OpenAI-compatible servers through litellm.

    litellm's own retries are off (``num_retries=0``): archon retries, so every attempt
    is counted against the budget. Vendor exceptions are mapped to archon's.
    """

    prefix: ClassVar[str] = ""
    default_concurrency: ClassVar[int] = 32

    @property
    def default_mode(self) -> Literal["chat", "text"]:  # type: ignore[override]
        return route_mode(self.spec.model)

    @property
    def endpoint(self) -> str:
        return f"litellm:{self.spec.api_base or ''}"

    def _api_key(self) -> str | None:
        if self.spec.api_key_env:
            return os.environ.get(self.spec.api_key_env)
        return None

    def check(self) -> None:
        self.check_key_env()
        if self.spec.api_base or self.spec.api_key_env:
            return
        litellm = _litellm()
        try:
            env = litellm.validate_environment(model=self.spec.model)
        except Exception as exc:  # litellm raises assorted errors for unknown routes
            raise ConfigurationError(f"{self.spec.model}: not a model litellm knows ({exc})") from None
        missing = env.get("missing_keys") or []
        if missing:
            raise ConfigurationError(
                f"{self.spec.model}: missing API key — set {', '.join(missing)} in the environment "
                "(or api_base: for an OpenAI-compatible server)"
            )

    def price_per_1k(self) -> tuple[float, float] | None:
        own = super().price_per_1k()
        if own is not None:
            return own
        litellm = _litellm()
        name = self.spec.model
        info = litellm.model_cost.get(name) or litellm.model_cost.get(name.split("/", 1)[-1])
        if not info or info.get("input_cost_per_token") is None:
            return None
        return (float(info["input_cost_per_token"]) * 1000, float(info.get("output_cost_per_token") or 0) * 1000)

    async def complete(self, request: Request, seed: int) -> Completion:
        litellm = _litellm()
        s = request.sampling
        kwargs: dict[str, Any] = {
            "model": request.model,
            "temperature": s.temperature,
            "top_p": s.top_p,
            "max_tokens": s.max_tokens,
            "seed": seed,
            "timeout": self.spec.timeout_s,
            "num_retries": 0,
            "drop_params": True,
        }
        if s.stop:
            kwargs["stop"] = list(s.stop)
        if self.spec.api_base:
            kwargs["api_base"] = self.spec.api_base
            kwargs["api_key"] = self._api_key() or "none"
        elif self._api_key():
            kwargs["api_key"] = self._api_key()
        try:
            if self.mode == "text":
                resp = await litellm.atext_completion(prompt=request.as_text(), **kwargs)
                text = resp.choices[0].text
            else:
                messages = [{"role": r, "content": c} for r, c in request.messages]
                resp = await litellm.acompletion(messages=messages, **kwargs)
                text = resp.choices[0].message.content
        except Exception as exc:
            raise _map_error(exc, request.model) from None
        usage = getattr(resp, "usage", None)
        return self.completion(
            text,
            int(getattr(usage, "prompt_tokens", 0) or 0),
            int(getattr(usage, "completion_tokens", 0) or 0),
            getattr(resp.choices[0], "finish_reason", None),
        )

    async def aclose(self) -> None:
        try:
            await _litellm().close_litellm_async_clients()
        except Exception:  # closing is best effort
            pass


def _map_error(exc: Exception, model: str) -> BackendError:
    litellm = _litellm()
    msg = f"{model}: {type(exc).__name__}: {str(exc)[:300]}"
    if isinstance(exc, BackendError):
        return exc
    if isinstance(exc, litellm.RateLimitError):
        err = RateLimitError(msg)
        headers = getattr(getattr(exc, "response", None), "headers", None) or {}
        err.retry_after = parse_retry_after(headers.get("retry-after") if hasattr(headers, "get") else None)
        return err
    if isinstance(exc, litellm.Timeout):
        return ProviderTimeoutError(msg)
    if isinstance(exc, (litellm.AuthenticationError, litellm.PermissionDeniedError)):
        return ConfigurationError(msg + " — check the API key")
    if isinstance(
        exc,
        (
            litellm.InternalServerError,
            litellm.ServiceUnavailableError,
            litellm.BadGatewayError,
            litellm.APIConnectionError,
        ),
    ):
        return ServerError(msg)
    status = getattr(exc, "status_code", None)
    if isinstance(status, int):
        return error_for_status(status, msg)
    if isinstance(exc, (TimeoutError, ConnectionError)):
        return ServerError(msg)
    return RequestError(msg)
