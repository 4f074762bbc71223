"""Math answer equivalence for boxed answers (MATH, MATH-500): extraction and normalization."""

from __future__ import annotations

import re
from fractions import Fraction


def last_boxed(text: str) -> str | None:
    """The content of the last ``\\boxed{...}`` (or ``\\fbox{...}``), braces balanced.

    Example:
        >>> last_boxed(r"so \\boxed{1} or rather \\boxed{\\frac{1}{2}}.")
        '\\\\frac{1}{2}'
    """
    start = max(text.rfind("\\boxed"), text.rfind("\\fbox"))
    if start < 0:
        return None
    i = text.find("{", start)
    if i < 0:
        m = re.match(r"\\boxed\s+(\S+)", text[start:])
        return m.group(1) if m else None
    depth = 0
    for j in range(i, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return text[i + 1 : j]
    return None


_DROP = [
    r"\left",
    r"\right",
    r"\!",
    r"\,",
    r"\;",
    r"\:",
    r"\displaystyle",
    "$",
    r"\$",
    "^\\circ",
    "^{\\circ}",
    r"\%",
    "%",
    "°",
]


def normalize_math(answer: str) -> str:
    r"""A canonical string for a math answer: spacing, \dfrac, \text{}, units of degrees
    and percent, a leading ``x =``, trailing period and ``.0`` are normalized away.

    Example:
        >>> normalize_math(r"\dfrac{3}{4}") == normalize_math(r"\frac34") == normalize_math("3/4")
        True
    """
    s = answer.strip()
    s = re.sub(r"\\text\{\s*([^{}]*)\}", r"\1", s)
    s = re.sub(r"\\mbox\{\s*([^{}]*)\}", r"\1", s)
    for d in _DROP:
        s = s.replace(d, "")
    s = s.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac")
    s = re.sub(r"^\s*[a-zA-Z]\s*=\s*", "", s)  # x = 5
    s = re.sub(r"\\frac(\d)(\d)", r"\\frac{\1}{\2}", s)  # \frac34
    s = re.sub(r"\\frac\{([^{}]*)\}(\d)", r"\\frac{\1}{\2}", s)
    s = re.sub(r"\\frac(\d)\{", r"\\frac{\1}{", s)
    s = re.sub(r"\\sqrt(\w)", r"\\sqrt{\1}", s)
    s = s.replace(" ", "").rstrip(".")
    s = re.sub(r"(\d),(\d{3})(?!\d)", r"\1\2", s)  # 1,000
    m = re.fullmatch(r"\\frac\{(-?\d+)\}\{(-?\d+)\}", s) or re.fullmatch(r"(-?\d+)/(-?\d+)", s)
    if m and int(m.group(2)) != 0:
        f = Fraction(int(m.group(1)), int(m.group(2)))
        return str(f.numerator) if f.denominator == 1 else f"{f.numerator}/{f.denominator}"
    m = re.fullmatch(r"-?\d+\.\d+|-?\d+", s)
    if m:
        f = Fraction(s)
        return str(f.numerator) if f.denominator == 1 else f"{f.numerator}/{f.denominator}"
    return s


def math_equal(prediction: str, gold: str) -> bool:
    r"""Equivalence of two answers after :func:`normalize_math` (boxed content preferred).

    Example:
        >>> math_equal(r"The answer is \boxed{0.5}", r"\boxed{\frac{1}{2}}")
        True
    """
    p = last_boxed(prediction)
    if p is None:
        m = re.search(r"answer is[:\s]*(.+?)\s*$", prediction.strip(), re.I | re.S)
        p = m.group(1) if m else prediction.strip().splitlines()[-1] if prediction.strip() else ""
    g = last_boxed(gold)
    g = gold if g is None else g
    return normalize_math(p) == normalize_math(g)
