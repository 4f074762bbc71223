"""LLM judges: a single 1-10 rating (MT-Bench style, with a reference answer where the
benchmark has one) and pairwise comparison against a baseline's answer in both orders
(position bias cancels; a tie counts half). The prompts are archon's own. The judge is a
model like any other: its calls are cached and counted."""

from __future__ import annotations

import re
from dataclasses import dataclass
from dataclasses import field

from archon._typing import Usage
from archon.backends import ClientSession
from archon.backends import Limits
from archon.backends import QueryBudget
from archon.plan import BoundModel

SINGLE = """\
You are grading an AI assistant's answer. Judge how helpful, correct, relevant, deep and clear it is.{reference_note}

[Conversation]
{question}
{reference}
[The assistant's answer]
{answer}
[End of answer]

Explain your judgement in a few sentences, then give the rating on the last line exactly as "Rating: [[N]]", N an integer from 1 (useless) to 10 (perfect)."""

PAIRWISE = """\
Compare two AI assistants' answers to the same conversation. Judge which answer is more helpful, correct, relevant and clear. Do not let the order, the length or the names influence you.

[Conversation]
{question}

[Answer A]
{a}
[End of answer A]

[Answer B]
{b}
[End of answer B]

Explain briefly, then give the verdict on the last line exactly as "[[A]]" if A is better, "[[B]]" if B is better, or "[[C]]" for a tie."""

_RATING = re.compile(r"\[\[\s*(\d+(?:\.\d+)?)\s*\]\]|rating\s*[:=]\s*(\d+(?:\.\d+)?)", re.I)
_VERDICT = re.compile(r"\[\[\s*([ABC])\s*\]\]")


def parse_rating(text: str) -> float | None:
    """The last 1-10 rating in a judge's reply, else None.

    Example:
        >>> parse_rating("Good. Rating: [[8]]"), parse_rating("rating: 11"), parse_rating("fine")
        (8.0, None, None)
    """
    found = _RATING.findall(text)
    if not found:
        return None
    a, b = found[-1]
    value = float(a or b)
    return value if 1 <= value <= 10 else None


def parse_verdict(text: str) -> str | None:
    """``A``, ``B`` or ``C`` (tie) from the last ``[[X]]`` in the reply."""
    found = _VERDICT.findall(text)
    return found[-1] if found else None


@dataclass
class Judge:
    """A judge model bound to a run's client session; usage is kept apart from the pipeline's."""

    model: BoundModel
    session: ClientSession
    usage: Usage = field(default_factory=Usage)

    async def _ask(self, prompt: str) -> str:
        out = await self.session.complete(self.model, (("user", prompt),), 0, QueryBudget(Limits()), self.usage)
        return out.text

    async def rate(self, question: str, answer: str, reference: str | None = None) -> float | None:
        """A 1-10 rating scaled to [0.1, 1], or None when the reply has no rating."""
        prompt = SINGLE.format(
            question=question,
            answer=answer,
            reference_note=" A correct reference answer is given; an answer that contradicts it is wrong."
            if reference
            else "",
            reference=f"\n[Reference answer]\n{reference}\n" if reference else "",
        )
        rating = parse_rating(await self._ask(prompt))
        return None if rating is None else rating / 10

    async def versus(self, question: str, answer: str, baseline: str) -> float | None:
        """The answer's win rate against the baseline over both orders (tie = 0.5)."""
        first = parse_verdict(await self._ask(PAIRWISE.format(question=question, a=answer, b=baseline)))
        second = parse_verdict(await self._ask(PAIRWISE.format(question=question, a=baseline, b=answer)))
        scores = []
        if first is not None:
            scores.append({"A": 1.0, "B": 0.0, "C": 0.5}[first])
        if second is not None:
            scores.append({"A": 0.0, "B": 1.0, "C": 0.5}[second])
        return sum(scores) / len(scores) if scores else None
