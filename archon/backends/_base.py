"""The one async interface every model provider implements."""

from __future__ import annotations

import os
from abc import ABC
from abc import abstractmethod
from dataclasses import dataclass
from typing import Any
from typing import ClassVar
from typing import Literal

from archon._typing import Sampling
from archon.errors import BackendError
from archon.errors import ConfigurationError
from archon.errors import RateLimitError
from archon.errors import RequestError
from archon.errors import ServerError
from archon.spec import ModelSpec

Message = tuple[str, str]  # (role, content)
TEXT_ROUTES = ("text-completion-openai/", "text-completion-codestral/")


def route_mode(model: str) -> Literal["chat", "text"]:
    """``text`` for the plain-completion routes (``text-completion-openai/...``), else ``chat``."""
    return "text" if model.startswith(TEXT_ROUTES) else "chat"


@dataclass(frozen=True, slots=True)
class Request:
    """One LLM request. ``sample`` is its index within its (node config, input) context."""

    model: str
    messages: tuple[Message, ...]
    sampling: Sampling
    sample: int = 0

    def as_text(self) -> str:
        """The messages as one plain-text prompt, for models without a chat template."""
        parts = [content for _, content in self.messages]
        return "\n\n".join(p for p in parts if p)


@dataclass(frozen=True, slots=True)
class Completion:
    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    finish_reason: str | None = None


class BaseBackend(ABC):
    """A model provider. One instance serves one model string (+ api_base).

    Subclasses implement :meth:`complete`; the hooks below have safe defaults.
    ``prefix`` is the model-string prefix it serves (``local`` for ``local/...``).
    """

    prefix: ClassVar[str] = ""
    default_concurrency: ClassVar[int] = 16
    default_mode: ClassVar[Literal["chat", "text"]] = "chat"

    def __init__(self, spec: ModelSpec, shared: dict[str, Any] | None = None) -> None:
        """``shared`` is the client's store for heavy resources its backends share (a
        loaded model used by several aliases); it lives as long as the client."""
        self.spec = spec
        self.shared = shared if shared is not None else {}

    @abstractmethod
    async def complete(self, request: Request, seed: int) -> Completion:
        """Runs one request. Raises a :class:`archon.errors.BackendError` subclass on failure."""

    @property
    def endpoint(self) -> str:
        """What identifies the server in the cache key (never the API key)."""
        return f"{self.prefix or 'litellm'}:{self.spec.api_base or ''}"

    def check(self) -> None:  # noqa: B027 - an optional hook
        """Raises ConfigurationError before any call when the backend cannot work (a missing key)."""

    def max_prompt_tokens(self, request: Request) -> int:
        """An upper bound of the request's prompt tokens, used to reserve token budget.

        The default counts UTF-8 bytes plus 16 per message: no tokenizer makes more
        tokens than bytes, and chat templates add a few per message.
        """
        return sum(len(c.encode()) + 16 for _, c in request.messages)

    def price_per_1k(self) -> tuple[float, float] | None:
        """(prompt, completion) dollars per 1k tokens, or None when unknown."""
        p = self.spec.price_per_1k
        if p is None:
            return None
        if isinstance(p, (int, float)):
            return float(p), float(p)
        return p.prompt, p.completion

    def completion(
        self, text: str | None, prompt_tokens: int, completion_tokens: int, finish_reason: str | None
    ) -> Completion:
        """A :class:`Completion` priced with :meth:`price_per_1k` (0 when unknown).

        Raises:
            ServerError: the answer holds no text at all (``"content": null``): retried,
                never stored as a successful empty answer.
        """
        if text is None:
            raise ServerError(
                f"{self.spec.model}: the server answered with no text (content: null, finish_reason: {finish_reason})"
            )
        price = self.price_per_1k()
        cost = (prompt_tokens * price[0] + completion_tokens * price[1]) / 1000 if price else 0.0
        return Completion(text, prompt_tokens, completion_tokens, cost, finish_reason)

    def check_key_env(self) -> None:
        """Raises ConfigurationError when ``api_key_env`` names an unset variable."""
        var = self.spec.api_key_env
        if var and not os.environ.get(var):
            raise ConfigurationError(f"{self.spec.model}: the API key variable {var} is not set — export {var}=...")

    @property
    def mode(self) -> Literal["chat", "text"]:
        return self.default_mode if self.spec.mode == "auto" else self.spec.mode

    async def aclose(self) -> None:  # noqa: B027 - an optional hook
        """Releases connections and memory."""


def error_for_status(status: int, message: str, retry_after: float | None = None) -> BackendError:
    """The archon error for an HTTP status: 429 and 5xx/408 are retryable."""
    if status == 429:
        err = RateLimitError(message)
        err.retry_after = retry_after
        return err
    if status >= 500 or status == 408:
        server = ServerError(message)
        server.retry_after = retry_after
        return server
    if status in (401, 403):
        return ConfigurationError(message + " — check the API key")
    return RequestError(message)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header: a number of seconds or an HTTP date.

    Example:
        >>> parse_retry_after("7"), parse_retry_after(None), parse_retry_after("soon")
        (7.0, None, None)
    """
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    import datetime as dt

    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())
