"""Every metric against hand-made cases, tricky ones included."""

from __future__ import annotations

import pytest

from archon.errors import ConfigurationError
from archon.evaluate import Example
from archon.evaluate import get_metric
from archon.evaluate import last_boxed
from archon.evaluate import last_number
from archon.evaluate import math_equal
from archon.evaluate import normalize_math
from archon.evaluate import pass_at_k
from archon.sandbox import SubprocessSandbox


def ex(gold: object, **fields: object) -> Example:
    return Example(0, {"input": "q", **fields}, gold)


async def score(metric: str, output: str | None, gold: object, **fields: object) -> float:
    return await get_metric(metric).score(output, ex(gold, **fields), SubprocessSandbox())


@pytest.mark.parametrize(
    ("metric", "output", "gold", "want"),
    [
        ("exact", " cold ", "cold", 1.0),
        ("exact", "Cold", "cold", 0.0),
        ("normalized", "Cold.", "cold", 1.0),
        ("normalized", "The cold", "cold", 0.0),
        ("normalized", "Paris", ["paris", "Paris, France"], 1.0),
        ("numeric", "So the total is 1,000 dollars.", "1000", 1.0),
        ("numeric", "The answer is $1,000.", "#### 1000", 1.0),
        ("numeric", "18 eggs, so she makes $18.", "Janet sells 16 - 3 - 4 = 9 eggs... #### 18", 1.0),
        ("numeric", "about 72.0", 72, 1.0),
        ("numeric", "3 then 4", "3", 0.0),
        ("numeric", "no number here", "3", 0.0),
        ("numeric", "-5", "-5", 1.0),
        ("math", r"The answer is $\boxed{\dfrac{1}{2}}$.", r"so \boxed{\frac12}", 1.0),
        ("math", r"\boxed{0.5}", r"\boxed{\frac{1}{2}}", 1.0),
        ("math", r"\boxed{90^\circ}", r"\boxed{90}", 1.0),
        ("math", r"\boxed{x = 3}", r"\boxed{3}", 1.0),
        ("math", r"\boxed{\frac{2}{3}}", r"\boxed{\frac{3}{2}}", 0.0),
        ("math", r"\boxed{\sqrt{2}}", r"\boxed{\sqrt2}", 1.0),
        ("math", r"The answer is: 10", r"\boxed{10}", 1.0),
        ("contains", "The capital is Paris, of course", "paris", 1.0),
        ("contains", "Lyon", "paris", 0.0),
        ("regex", "answer: 42 apples", r"\b42\b", 1.0),
        ("regex", "answer: 421", r"\b42\b", 0.0),
        ("exact", None, "x", 0.0),
    ],
)
async def test_metric_cases(metric: str, output: str | None, gold: object, want: float) -> None:
    assert await score(metric, output, gold) == want


async def test_tests_metric_runs_code_in_the_sandbox() -> None:
    tests = "def check(f):\n    assert f(2, 3) == 5\n\ncheck(add)"
    good = "```python\ndef add(a, b):\n    return a + b\n```"
    assert await score("tests", good, tests, entry_point="add") == 1.0
    assert await score("tests", "def add(a, b):\n    return a - b", tests, entry_point="add") == 0.0
    # completion style: the visible prompt is put before a body-only answer
    prompt = "def add(a, b):\n    '''Add.'''\n"
    assert await score("tests", "    return a + b\n", tests, entry_point="add", prompt=prompt) == 1.0
    # an answer that never ends is a failure, not a hang
    assert await score("tests", "def add(a, b):\n    while True: pass", tests, entry_point="add", timeout_s=1) == 0.0


def test_helpers() -> None:
    assert last_boxed(r"\boxed{a} and \boxed{\frac{1}{\sqrt{2}}}") == r"\frac{1}{\sqrt{2}}"
    assert last_boxed("none") is None
    assert last_number("1,234,567 and then 8") == 8.0
    assert normalize_math("1,000") == "1000" and normalize_math("2.50") == "5/2"
    assert math_equal(r"\boxed{\text{(A)}}", r"\boxed{(A)}")


def test_pass_at_k() -> None:
    assert pass_at_k(5, 1, 5) == 1.0
    assert abs(pass_at_k(5, 1, 1) - 0.2) < 1e-12
    assert abs(pass_at_k(4, 2, 2) - (1 - (2 / 4) * (1 / 3))) < 1e-12
    with pytest.raises(ValueError, match="k <= n"):
        pass_at_k(3, 1, 4)


def test_user_function_metric(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "my_metric.py").write_text("def score(output, gold, fields):\n    return len(output) == len(gold)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    m = get_metric("my_metric:score")
    assert m.fn("abc", "xyz", ex("xyz")) == 1.0
    with pytest.raises(ConfigurationError, match="cannot import"):
        get_metric("no_such_module:f")
    with pytest.raises(ConfigurationError, match="unknown metric"):
        get_metric("accuracy")
