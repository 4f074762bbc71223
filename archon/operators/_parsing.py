"""Robust parsers for model output: they repair or return 'unknown', never raise."""

from __future__ import annotations

import re
import string

from archon._typing import Verdict

_INT = re.compile(r"\d+")


def parse_ranking(text: str, n: int) -> list[int]:
    """0-based order of ``n`` candidates from text like ``[2] > [1] > [3]``.

    Out-of-range and repeated ids are dropped; missing ones are appended in their
    original order, so the result is always a permutation of ``range(n)``.

    Example:
        >>> parse_ranking("[3] > [3] > [9] > [1]", 4)
        [2, 0, 1, 3]
    """
    order: list[int] = []
    for m in _INT.finditer(text):
        i = int(m.group()) - 1
        if 0 <= i < n and i not in order:
            order.append(i)
    return order + [i for i in range(n) if i not in order]


_BLOCK = re.compile(r"^\s*(?:\[(\d+)\]|(?:answer|response|candidate)\s*#?(\d+)\s*[:.)-])", re.I | re.M)


def parse_blocks(text: str, n: int) -> list[str | None]:
    """Splits ``[1] ... [2] ...`` blocks into one text per candidate (None when missing).

    Example:
        >>> parse_blocks("[2] too short\\n[1] correct", 3)
        ['correct', 'too short', None]
    """
    out: list[str | None] = [None] * n
    marks = list(_BLOCK.finditer(text))
    for j, m in enumerate(marks):
        i = int(m.group(1) or m.group(2)) - 1
        end = marks[j + 1].start() if j + 1 < len(marks) else len(text)
        body = text[m.end() : end].strip()
        if 0 <= i < n and out[i] is None and body:
            out[i] = body
    return out


_VERDICT = re.compile(r"\b(incorrect|correct|wrong|right|invalid|valid)\b", re.I)
_NEG = {"incorrect", "wrong", "invalid"}


def parse_verdict(text: str) -> Verdict:
    """The last verdict word after 'verdict' (or anywhere), else 'unknown'.

    Example:
        >>> parse_verdict("The steps look right. Verdict: incorrect"), parse_verdict("hmm")
        ('incorrect', 'unknown')
    """
    low = text.lower()
    scope = low[low.rfind("verdict") :] if "verdict" in low else low
    found = _VERDICT.findall(scope)
    if not found:
        return "unknown"
    return "incorrect" if found[-1].lower() in _NEG else "correct"


_TEST_LINE = re.compile(r"test\s*#?\s*(\d+)\s*[:.)\-]*\s*\[?\s*(passed|pass|failed|fail)", re.I)


def parse_test_results(text: str, n: int) -> list[bool | None]:
    """Per-test pass/fail from lines like ``Test 2: [Passed]``; None when not reported."""
    out: list[bool | None] = [None] * n
    for m in _TEST_LINE.finditer(text):
        i = int(m.group(1)) - 1
        if 0 <= i < n and out[i] is None:
            out[i] = m.group(2).lower().startswith("pass")
    return out


def parse_test_lines(text: str, kind: str, limit: int) -> tuple[str, ...]:
    """Test items from a model's list: asserts for code, non-empty lines for text."""
    items: list[str] = []
    for raw in text.splitlines():
        line = raw.strip().strip("`").strip()
        line = re.sub(r"^(?:[-*•]|\d+[.)])\s*", "", line).strip("`").strip()  # "2) `x`" is x
        if not line or line.lower() in ("python", "tests:", "checks:"):
            continue
        if kind == "code":
            if not line.startswith("assert"):
                continue
            try:
                compile(line, "<test>", "exec")
            except SyntaxError:
                continue
        if line not in items:
            items.append(line)
        if len(items) >= limit:
            break
    return tuple(items)


_NUM = re.compile(r"-?\d[\d,]*(?:\.\d+)?")
_PUNCT = string.punctuation + "“”‘’"


def normalize_answer(text: str, how: str) -> str:
    """The form answers are compared in by vote (``exact``, ``text`` or ``number``).

    Example:
        >>> normalize_answer("  The Cold. ", "text"), normalize_answer("It is 1,200 apples", "number")
        ('the cold', '1200')
    """
    if how == "exact":
        return text
    if how == "number":
        nums = _NUM.findall(text)
        if nums:
            value = str(nums[-1]).replace(",", "")
            try:
                f = float(value)
                return str(int(f)) if f == int(f) else str(f)
            except ValueError:
                return value
    out: str = " ".join(text.lower().split()).strip(_PUNCT + " ")
    return out


_FENCE = re.compile(r"```(?:python|py)?\s*\n(.*?)```", re.S | re.I)


def extract_code(text: str) -> str:
    """The code of an answer: its fenced blocks when present, else the whole text."""
    blocks = _FENCE.findall(text)
    return "\n\n".join(blocks) if blocks else text


_CHOICE = re.compile(r"(?<![A-Za-z])([AB])(?![A-Za-z])")


def parse_choice(text: str) -> str | None:
    """Which of two answers a pairwise judge picked: ``"A"``, ``"B"``, or None when its
    reply names neither (or both, with no clear first).

    Example:
        >>> parse_choice("B"), parse_choice("Answer A is better."), parse_choice("Both are fine.")
        ('B', 'A', None)
    """
    m = _CHOICE.search(text.strip()[:200])
    return m.group(1) if m else None
