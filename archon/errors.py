"""Exceptions raised by archon.

Every exception derives from :class:`ArchonError`::

    ArchonError
    ├── SpecError                 bad user input, located (file:line:col, field, fix)
    │   └── DatasetError          a bad dataset file
    ├── BudgetExceededError       a call would pass the per-query or search budget
    ├── BackendError              a model provider failed (vendor errors are mapped here)
    │   ├── ConfigurationError    missing API key, unknown model route, missing extra
    │   ├── RateLimitError        retryable
    │   ├── ProviderTimeoutError  retryable
    │   ├── ServerError           retryable (5xx, connection reset)
    │   └── RequestError          not retryable (4xx other than 429)
    ├── TemplateError             a node's template could not be rendered for an item
    └── SandboxError              the sandbox itself could not run

User-facing commands turn ``SpecError`` and ``ConfigurationError`` into exit code 2
with their message; no traceback reaches a user.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

_SECRET_NAME = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD)", re.I)
_SECRET_SHAPES = re.compile(
    r"(?i)(bearer\s+|api[-_]?key[\"']?\s*[:=]\s*[\"']?|authorization[\"']?\s*[:=]\s*[\"']?(?:bearer\s+)?)"
    r"[A-Za-z0-9._\-~+/=]{8,}"
    r"|\bsk-[A-Za-z0-9_\-]{8,}"
)


def redact(text: str, extra: tuple[str, ...] = ()) -> str:
    """``text`` with API keys replaced by ``***``: the values of environment variables
    named like secrets (``*_KEY``, ``*_TOKEN``, ...), ``extra``, and anything shaped like
    a bearer token or an ``sk-`` key. Every error archon stores or prints passes here.

    Example:
        >>> redact('{"authorization": "Bearer sk-abcdefgh12345"}')
        '{"authorization": "Bearer ***"}'
    """
    secrets = [v for k, v in os.environ.items() if _SECRET_NAME.search(k) and len(v) >= 8]
    for value in sorted({*secrets, *(e for e in extra if len(e) >= 8)}, key=len, reverse=True):
        text = text.replace(value, "***")
    return _SECRET_SHAPES.sub(lambda m: (m.group(1) or "") + "***", text)


class ArchonError(Exception):
    """Root of every archon exception; its message is redacted (:func:`redact`)."""

    def __init__(self, *args: object) -> None:
        super().__init__(*(redact(a) if isinstance(a, str) else a for a in args))


@dataclass(frozen=True, slots=True)
class Problem:
    """One located problem in a user's input.

    Attributes:
        file: the file it is in ("<string>" when parsed from text).
        line: 1-based line, or 0 when unknown.
        col: 1-based column, or 0 when unknown.
        field: the dotted path of the field (``nodes.rank.top_k``), or "" for the file.
        message: what is wrong.
        fix: how to fix it.
    """

    file: str
    line: int
    col: int
    field: str
    message: str
    fix: str = ""

    def __str__(self) -> str:
        where = self.file
        if self.line:
            where += f":{self.line}"
            if self.col:
                where += f":{self.col}"
        text = f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        if self.fix:
            text += f" — {self.fix}"
        return text


class SpecError(ArchonError, ValueError):
    """Bad user input: one or more located :class:`Problem` s, reported together."""

    def __init__(self, problems: list[Problem] | Problem) -> None:
        self.problems: list[Problem] = [problems] if isinstance(problems, Problem) else problems
        super().__init__("\n".join(str(p) for p in self.problems))


class DatasetError(SpecError):
    """A dataset file that cannot be read (bad JSON, missing field, ...)."""


class BudgetExceededError(ArchonError):
    """A call was refused because it would pass a budget."""


class BackendError(ArchonError):
    """A model provider failed."""

    retryable: bool = False
    #: seconds the server asked to wait (its Retry-After header), when it said
    retry_after: float | None = None

    def is_retryable(self) -> bool:
        return self.retryable


class ConfigurationError(BackendError):
    """A backend cannot be used as configured (missing key, missing extra, bad route)."""


class RateLimitError(BackendError):
    retryable = True


class ProviderTimeoutError(BackendError):
    retryable = True


class ServerError(BackendError):
    retryable = True


class RequestError(BackendError):
    """The provider rejected the request; retrying will not help."""


class TemplateError(ArchonError):
    """A node's template could not be rendered for an item (e.g. a missing field)."""


class SandboxError(ArchonError):
    """The sandbox could not run the code at all (not: the code failed)."""
