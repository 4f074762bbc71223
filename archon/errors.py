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
    └── SandboxError              the sandbox itself could not run

User-facing commands turn ``SpecError`` and ``ConfigurationError`` into exit code 2
with their message; no traceback reaches a user.
"""

from __future__ import annotations

from dataclasses import dataclass


class ArchonError(Exception):
    """Root of every archon exception."""


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


class SandboxError(ArchonError):
    """The sandbox could not run the code at all (not: the code failed)."""
