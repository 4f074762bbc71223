"""Per-query budgets: reserve a call's worst case before it is sent, settle after."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from archon.errors import BudgetExceededError


@dataclass(frozen=True, slots=True)
class Limits:
    """Caps for one query; None means no cap."""

    calls: int | None = None
    tokens: int | None = None
    usd: float | None = None

    def merged(self, other: Limits) -> Limits:
        """The tighter of each cap."""

        def tight(a: float | None, b: float | None) -> float | None:
            return b if a is None else a if b is None else min(a, b)

        return Limits(tight(self.calls, other.calls), tight(self.tokens, other.tokens), tight(self.usd, other.usd))  # type: ignore[arg-type]

    @classmethod
    def of(cls, caps: Any) -> Limits:
        """The caps of anything with ``calls``, ``tokens`` and ``usd`` (a YAML
        ``per_query:`` block, a search budget); None: no cap."""
        if caps is None:
            return cls()
        return cls(caps.calls, caps.tokens, caps.usd)

    @property
    def any(self) -> bool:
        return any(x is not None for x in (self.calls, self.tokens, self.usd))


@dataclass(slots=True)
class Reservation:
    tokens: int
    usd: float


class QueryBudget:
    """What one query may still spend. Every sent request (retries too) is one call."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.calls = 0
        self.tokens = 0
        self.usd = 0.0

    def reserve(self, max_tokens: int, max_usd: float) -> Reservation:
        lim = self.limits
        if lim.calls is not None and self.calls + 1 > lim.calls:
            raise BudgetExceededError(f"call budget reached ({self.calls} of {lim.calls} calls used)")
        if lim.tokens is not None and self.tokens + max_tokens > lim.tokens:
            raise BudgetExceededError(
                f"token budget: this call may use up to {max_tokens} tokens, {lim.tokens - self.tokens} of {lim.tokens} left"
            )
        if lim.usd is not None and self.usd + max_usd > lim.usd + 1e-12:
            raise BudgetExceededError(
                f"dollar budget: this call may cost up to ${max_usd:.6f}, ${lim.usd - self.usd:.6f} of ${lim.usd} left"
            )
        self.calls += 1
        self.tokens += max_tokens
        self.usd += max_usd
        return Reservation(max_tokens, max_usd)

    def settle(self, r: Reservation, tokens: int, usd: float) -> None:
        """Replaces a reservation by what the call really used."""
        self.tokens += tokens - r.tokens
        self.usd += usd - r.usd

    def release(self, r: Reservation) -> None:
        """A failed attempt: its tokens and dollars are returned, the call stays counted."""
        self.settle(r, 0, 0.0)
