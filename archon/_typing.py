"""The values that flow on the edges of a pipeline graph (see docs/operators.md)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any
from typing import Literal

Verdict = Literal["correct", "incorrect", "unknown"]


@dataclass(frozen=True, slots=True)
class Query:
    """One input item: its fields (``input`` is the main text) and optional chat messages."""

    fields: Mapping[str, Any]

    @classmethod
    def of(cls, item: str | Mapping[str, Any]) -> Query:
        """Makes a query from a string (``{"input": text}``) or a mapping of fields.

        Example:
            >>> Query.of("hot").text
            'hot'
        """
        if isinstance(item, str):
            return cls(MappingProxyType({"input": item}))
        if not isinstance(item, Mapping):
            raise ValueError(f"an input must be a string or a mapping, got {type(item).__name__}")
        return cls(MappingProxyType(dict(item)))

    @property
    def text(self) -> str:
        value = self.fields.get("input")
        if value is None and "messages" in self.fields:
            msgs = self.fields["messages"]
            return str(msgs[-1].get("content", "")) if msgs else ""
        return "" if value is None else str(value)


@dataclass(frozen=True, slots=True)
class Candidate:
    """One answer, with what later nodes attached to it."""

    text: str
    node: str
    model: str | None = None
    sample: int = 0
    critique: str | None = None
    verdict: Verdict | None = None
    tests_passed: int | None = None
    tests_total: int | None = None
    score: float | None = None


@dataclass(frozen=True, slots=True)
class Tests:
    """Unit tests for a query: ``code`` asserts or natural-language ``text`` checks."""

    kind: Literal["code", "text"]
    items: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Sampling:
    """Sampling parameters of one request."""

    temperature: float = 0.7
    top_p: float = 1.0
    max_tokens: int = 512
    stop: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "temperature": self.temperature,
            "top_p": self.top_p,
            "max_tokens": self.max_tokens,
            "stop": list(self.stop),
        }


@dataclass(slots=True)
class Usage:
    """Counts of one run, item or call (mutable accumulator)."""

    paid_calls: int = 0
    cached_calls: int = 0
    failed_calls: int = 0
    cancelled_calls: int = 0  # sent, then abandoned (first-finish): never cached; a hosted API may bill them
    cancelled_tokens: int = 0  # the worst case of what the cancelled calls may be billed for
    cancelled_usd: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    cached_cost_usd: float = 0.0  # what the cached calls cost when they were paid

    def add(self, other: Usage) -> None:
        self.paid_calls += other.paid_calls
        self.cached_calls += other.cached_calls
        self.failed_calls += other.failed_calls
        self.cancelled_calls += other.cancelled_calls
        self.cancelled_tokens += other.cancelled_tokens
        self.cancelled_usd += other.cancelled_usd
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.cost_usd += other.cost_usd
        self.cached_cost_usd += other.cached_cost_usd

    def as_dict(self) -> dict[str, Any]:
        calls: dict[str, int] = {"paid": self.paid_calls, "cached": self.cached_calls, "failed": self.failed_calls}
        if self.cancelled_calls:  # only where first-finish abandoned calls
            calls["cancelled"] = self.cancelled_calls
        out: dict[str, Any] = {
            "calls": calls,
            "tokens": {"prompt": self.prompt_tokens, "completion": self.completion_tokens},
            "cost_usd": round(self.cost_usd, 8),
        }
        if self.cancelled_calls:
            out["cancelled_worst_case"] = {"tokens": self.cancelled_tokens, "usd": round(self.cancelled_usd, 8)}
        return out


NodeValue = tuple[Candidate, ...] | Tests
__all__ = ["Candidate", "NodeValue", "Query", "Sampling", "Tests", "Usage", "Verdict"]
