from __future__ import annotations

from archon.operators._parsing import extract_code
from archon.operators._parsing import normalize_answer
from archon.operators._parsing import parse_blocks
from archon.operators._parsing import parse_ranking
from archon.operators._parsing import parse_test_lines
from archon.operators._parsing import parse_test_results
from archon.operators._parsing import parse_verdict


def test_ranking_is_always_a_permutation() -> None:
    assert parse_ranking("[2] > [1] > [3]", 3) == [1, 0, 2]
    assert parse_ranking("Ranking: 3, 3, 7, 0, 1", 4) == [2, 0, 1, 3]  # dup, out of range, missing
    assert parse_ranking("no idea", 3) == [0, 1, 2]
    assert parse_ranking("", 0) == []


def test_blocks_align_by_number_not_position() -> None:
    assert parse_blocks("[3] three\n[1] one", 3) == ["one", None, "three"]
    assert parse_blocks("Answer 2: fine\nAnswer 1: wrong", 2) == ["wrong", "fine"]
    assert parse_blocks("[9] ghost", 2) == [None, None]


def test_verdicts() -> None:
    assert parse_verdict("Looks fine.\nVerdict: correct") == "correct"
    assert parse_verdict("Verdict: Incorrect.") == "incorrect"
    assert parse_verdict("The reasoning is correct but the answer is wrong") == "incorrect"
    assert parse_verdict("I cannot tell") == "unknown"
    assert parse_verdict("") == "unknown"


def test_test_results() -> None:
    text = "Test 1: [Passed]\nTest 3: Failed\ntest #2 - pass\nTest 9: passed"
    assert parse_test_results(text, 4) == [True, True, False, None]


def test_test_lines() -> None:
    text = "```python\nassert f(1) == 2\n- assert f(2) == 3\nassert (\nprint('x')\nassert f(1) == 2\n```"
    assert parse_test_lines(text, "code", 5) == ("assert f(1) == 2", "assert f(2) == 3")
    assert parse_test_lines("1. It names Paris.\n2) It is short.\n", "text", 1) == ("It names Paris.",)


def test_normalize() -> None:
    assert normalize_answer(" Cold. ", "text") == normalize_answer("cold", "text")
    assert normalize_answer("so 1,234 apples", "number") == "1234"
    assert normalize_answer("3.0", "number") == "3"
    assert normalize_answer(" A ", "exact") == " A "


def test_extract_code() -> None:
    assert extract_code("Here:\n```python\ndef f():\n    return 1\n```\nDone") == "def f():\n    return 1\n"
    assert extract_code("def g(): pass") == "def g(): pass"
