"""Metrics: (the pipeline's answer, the example) → a score in [0, 1].

Built-ins: ``exact``, ``normalized``, ``numeric``, ``math``, ``contains``, ``regex``,
``tests`` (code run against the gold tests in the sandbox), ``judge`` (an LLM's 1-10
rating / 10, against the gold answer as reference when there is one) and ``pairwise``
(win rate against the gold answer, a baseline's, judged in both orders); any other name
of the form ``module:function`` is imported and called as ``function(output, gold, fields)``.
"""

from __future__ import annotations

import importlib
import inspect
import re
from collections.abc import Awaitable
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from archon.errors import ConfigurationError
from archon.evaluate._datasets import Example
from archon.evaluate._judge import Judge
from archon.evaluate._math import math_equal
from archon.operators import extract_code
from archon.operators import normalize_answer
from archon.sandbox import BaseSandbox
from archon.sandbox import run_tests

ScoreFn = Callable[[str, Any, Example], float | Awaitable[float]]


@dataclass(frozen=True)
class Metric:
    """A named scoring function; ``needs_sandbox`` marks those that run code."""

    name: str
    fn: ScoreFn | None = None  # None for the sandbox and judge metrics, scored in score()
    needs_sandbox: bool = False
    needs_judge: bool = False

    async def score(
        self, output: str | None, example: Example, sandbox: BaseSandbox | None = None, judge: Judge | None = None
    ) -> float | None:
        """The score in [0, 1]; None only when a judge gave no parseable verdict."""
        if output is None:
            return 0.0
        if self.needs_sandbox:
            return float(await _run_tests(output, example, sandbox))
        if self.needs_judge:
            if judge is None:
                raise ConfigurationError(f"the {self.name} metric needs a judge model — pass --judge-model MODEL")
            question = str(example.fields.get("conversation") or example.fields.get("input", ""))
            if self.name == "pairwise":
                if example.gold is None:
                    raise ConfigurationError("pairwise needs the baseline's answer as each example's answer field")
                return await judge.versus(question, output, str(example.gold))
            return await judge.rate(question, output, None if example.gold is None else str(example.gold))
        assert self.fn is not None, self.name
        value = self.fn(output, example.gold, example)
        if inspect.isawaitable(value):
            value = await value
        return float(value)


_NUM = re.compile(r"-?\$?\d[\d,]*(?:\.\d+)?")


def last_number(text: str) -> float | None:
    """The last number in a text, GSM8K style: commas, ``$`` and trailing units ignored;
    ``#### 72`` wins when present.

    Example:
        >>> last_number("She pays $1,000.50 in total. #### 1,000.5"), last_number("no digits")
        (1000.5, None)
    """
    if "####" in text:
        text = text.rsplit("####", 1)[1]
    found = _NUM.findall(text)
    if not found:
        return None
    try:
        return float(found[-1].replace(",", "").replace("$", ""))
    except ValueError:
        return None


def _exact(output: str, gold: Any, _: Example) -> float:
    return float(output.strip() == str(gold).strip())


def _normalized(output: str, gold: Any, _: Example) -> float:
    golds = gold if isinstance(gold, list) else [gold]
    return float(any(normalize_answer(output, "text") == normalize_answer(str(g), "text") for g in golds))


def _numeric(output: str, gold: Any, _: Example) -> float:
    want = gold if isinstance(gold, (int, float)) else last_number(str(gold))
    got = last_number(output)
    return float(want is not None and got is not None and abs(got - float(want)) <= 1e-6 * max(1.0, abs(float(want))))


def _math(output: str, gold: Any, _: Example) -> float:
    return float(math_equal(output, str(gold)))


def _contains(output: str, gold: Any, _: Example) -> float:
    golds = gold if isinstance(gold, list) else [gold]
    low = output.lower()
    return float(any(str(g).lower() in low for g in golds))


def _regex(output: str, gold: Any, _: Example) -> float:
    return float(re.search(str(gold), output, re.I | re.S) is not None)


BUILTIN: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("exact", _exact),
        Metric("normalized", _normalized),
        Metric("numeric", _numeric),
        Metric("math", _math),
        Metric("contains", _contains),
        Metric("regex", _regex),
        Metric("tests", needs_sandbox=True),
        Metric("judge", needs_judge=True),
        Metric("pairwise", needs_judge=True),
    )
}


def get_metric(name: str) -> Metric:
    """A built-in metric by name, or ``module:function``.

    Raises:
        ConfigurationError: unknown name, or a function that cannot be imported.
    """
    if name in BUILTIN:
        return BUILTIN[name]
    if ":" in name:
        module, _, attr = name.partition(":")
        try:
            fn = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as exc:
            raise ConfigurationError(
                f"metric {name!r}: cannot import it ({exc}) — is the module on PYTHONPATH?"
            ) from None
        if not callable(fn):
            raise ConfigurationError(f"metric {name!r} is not callable — give module:function")

        def call(output: str, gold: Any, example: Example) -> float | Awaitable[float]:
            result = fn(output, gold, dict(example.fields))
            return result if inspect.isawaitable(result) else float(result)

        return Metric(name, call)
    raise ConfigurationError(f"unknown metric {name!r} — use one of {', '.join(BUILTIN)} or module:function")


async def _run_tests(output: str, example: Example, sandbox: BaseSandbox | None) -> bool:
    """Runs the gold tests against the answer's code (see :func:`archon.sandbox.run_tests`).

    For completion-style benchmarks (HumanEval), when the answer does not define the
    entry point, the item's visible ``prompt`` (signature + docstring) is put before it.
    """
    if sandbox is None:
        raise ConfigurationError("the tests metric needs a sandbox")
    code = extract_code(output)
    entry = example.fields.get("entry_point")
    if entry and f"def {entry}" not in code and example.fields.get("prompt"):
        code = str(example.fields["prompt"]) + code
    gold = example.gold
    tests = "\n".join(gold) if isinstance(gold, list) else str(gold)
    timeout = float(example.fields.get("timeout_s", 10.0))
    # the tests run in a sandbox of their own: the program cannot forge their verdict
    (passed,) = await run_tests(
        sandbox, code, [tests], timeout_s=timeout, memory_mb=1024, entry=str(entry) if entry else None
    )
    return passed
