"""The Jinja2 environment every runtime renders prompts with, and what it offers templates.

One definition: archon's operators, the DSPy export and the standalone export (which
inlines this module) all render with :func:`environment`, so a template renders to the
same text — and so the same cache key — in every runtime.

``nearest(query, pool, k, separator="")`` picks demonstrations per input: the ``k`` entries
of ``pool`` (``[key, text]`` pairs) whose key is most similar to ``query``, joined, the most
similar last (next to the query). A search's ``demos: {select: similar}`` writes such a
call, with the train split's demonstrations as the pool, into the node's template.
Similarity is the cosine of TF-IDF weighted character 2-4-grams of the lowercased,
space-padded texts (IDF over the pool), so word endings, stems and shared words count;
ties keep the pool's order. It needs nothing outside the standard library.
"""

from __future__ import annotations

import functools
import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

_GRAMS = (2, 3, 4)
MAX_POOL = 400  # pool entries nearest() reads; a search writes at most this many


def grams(text: str) -> Counter[str]:
    """Character 2-4-grams of the lowercased text, padded with a space at each end.

    Example:
        >>> sorted(grams("Ox"))
        [' o', ' ox', ' ox ', 'ox', 'ox ', 'x ']
    """
    padded = " " + " ".join(str(text).lower().split()) + " "
    return Counter(padded[i : i + n] for n in _GRAMS for i in range(len(padded) - n + 1))


def nearest(query: Any, pool: Sequence[Sequence[Any]], k: int, separator: str = "") -> str:
    """The texts of the ``k`` pool entries whose keys are most similar to ``query``, the
    most similar last, joined by ``separator``.

    Example:
        >>> pool = [["dog", "dog: dogs\\n"], ["knife", "knife: knives\\n"], ["box", "box: boxes\\n"]]
        >>> nearest("wife", pool, 1)
        'knife: knives\\n'
        >>> nearest("fox", pool, 2)
        'dog: dogs\\nbox: boxes\\n'
    """
    entries = [(str(e[0]), str(e[1])) for e in list(pool)[:MAX_POOL] if len(e) == 2]
    k = max(0, min(int(k), len(entries)))
    if k == 0:
        return ""
    vectors, idf = _index(tuple(key for key, _ in entries))
    qw = {g: c * idf.get(g, idf[""]) for g, c in grams(query).items()}
    qn = math.sqrt(sum(w * w for w in qw.values())) or 1.0
    scores = [(sum(x * qw.get(g, 0.0) for g, x in v.items()) / qn, -i) for i, v in enumerate(vectors)]
    order = sorted(range(len(entries)), key=lambda i: scores[i], reverse=True)[:k]
    return separator.join(entries[i][1] for i in reversed(order))


@functools.lru_cache(maxsize=16)
def _index(keys: tuple[str, ...]) -> tuple[list[dict[str, float]], dict[str, float]]:
    """The pool's unit TF-IDF vectors and its IDF (``""``: a gram no key has), computed once
    per pool rather than on every render."""
    feats = [grams(key) for key in keys]
    df: Counter[str] = Counter(g for f in feats for g in f)
    idf = {g: math.log((len(keys) + 1) / (n + 1)) + 1.0 for g, n in df.items()}
    idf[""] = math.log(len(keys) + 1) + 1.0
    vectors = []
    for f in feats:
        w = {g: c * idf[g] for g, c in f.items()}
        norm = math.sqrt(sum(x * x for x in w.values())) or 1.0
        vectors.append({g: x / norm for g, x in w.items()})
    return vectors, idf


GLOBALS = {"nearest": nearest}  # what templates may call, beyond their fields


def environment() -> SandboxedEnvironment:
    """The prompt environment: sandboxed, strict about undefined fields, no escaping."""
    env = SandboxedEnvironment(undefined=jinja2.StrictUndefined, autoescape=False)
    env.globals.update(GLOBALS)
    return env


_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def literal(value: Any) -> str:
    """A Jinja2 expression literal (a string, a number or a list of them) that evaluates to
    ``value``. Template markers inside strings (``{ } $ % #``) are written as escapes, so
    the literal never reads as a template tag or a ``${param}``.

    Example:
        >>> literal(["a {{ b }}", 'say "hi"', 3])
        '["a \\\\x7b\\\\x7b b \\\\x7d\\\\x7d", "say \\\\"hi\\\\"", 3]'
        >>> environment().from_string("{{ " + literal(["x${y}\\n"]) + "[0] }}").render()
        'x${y}\\n'
    """
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    if isinstance(value, bool) or value is None:
        raise TypeError(f"no template literal for {value!r}")
    if isinstance(value, (int, float)):
        return repr(value)
    out = []
    for ch in str(value):
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ch in "{}$%#" or ord(ch) < 32 or ord(ch) == 127:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'
