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


def test_ranking_edges() -> None:
    assert parse_ranking("[1] > [2]", 2) == [0, 1]
    assert parse_ranking("[0] > [2] > [3]", 3) == [1, 2, 0]  # 0 is out of range (ids are 1-based)
    assert parse_ranking("[3]", 3) == [2, 0, 1]
    assert parse_ranking("10 > 2", 10) == [9, 1, 0, 2, 3, 4, 5, 6, 7, 8]


def test_block_forms_and_repeats() -> None:
    assert parse_blocks("Response #2) second\nCandidate 1. first", 2) == ["first", "second"]
    assert parse_blocks("answer 1 - a\n[1] again", 1) == ["a"]  # the first block for an id wins
    assert parse_blocks("[1]\n[2] two", 2) == [None, "two"]  # an empty block is missing
    assert parse_blocks("[0] zero\n[1] one", 1) == ["one"]
    assert parse_blocks("  [1] one\n  [2] two  ", 2) == ["one", "two"]
    assert parse_blocks("no blocks", 2) == [None, None]


def test_verdict_scope_is_after_the_last_verdict_word() -> None:
    assert parse_verdict("Wrong start. Verdict: correct") == "correct"
    assert parse_verdict("verdict: right") == "correct"
    assert parse_verdict("It is valid") == "correct"
    assert parse_verdict("It is invalid") == "incorrect"
    assert parse_verdict("VERDICT: WRONG") == "incorrect"
    assert parse_verdict("correctly") == "unknown"  # whole words only
    assert parse_verdict("verdict: maybe, earlier it was right") == "correct"


def test_test_result_forms() -> None:
    assert parse_test_results("Test 1 - fail\nTest 2. PASS\nTest 0: passed\nTest 1: passed", 2) == [False, True]
    assert parse_test_results("test#2:[failed]", 3) == [None, False, None]
    assert parse_test_results("", 2) == [None, None]


def test_test_line_forms() -> None:
    text = "Tests:\n* assert g(0) == 0\n2. assert g(1) == 1\n`assert g(2) == 4`\nassert g(0) == 0\nassert g(3) == 9"
    assert parse_test_lines(text, "code", 3) == ("assert g(0) == 0", "assert g(1) == 1", "assert g(2) == 4")
    assert parse_test_lines(text, "code", 10)[-1] == "assert g(3) == 9"
    assert parse_test_lines("python\n- It is short\n• It is polite\nchecks:\n- It is short", "text", 9) == (
        "It is short",
        "It is polite",
    )
    assert parse_test_lines("assert f(", "code", 3) == ()
    assert parse_test_lines("x = 1", "code", 3) == ()
    assert parse_test_lines("x = 1", "text", 3) == ("x = 1",)


def test_normalize_edges() -> None:
    assert normalize_answer("1.5 or 2.25", "number") == "2.25"
    assert normalize_answer("-3 degrees", "number") == "-3"
    assert normalize_answer("no digits HERE!", "number") == "no digits here"
    assert normalize_answer("“Quoted”", "text") == "quoted"
    assert normalize_answer("a\n\tb", "text") == "a b"
    assert normalize_answer("1,2,3", "number") == "123"


def test_extract_code_joins_blocks_of_any_python_tag() -> None:
    text = "```py\na = 1\n```\ntext\n```PYTHON\nb = 2\n```\n```\nc = 3\n```"
    assert extract_code(text) == "a = 1\n\n\nb = 2\n\n\nc = 3\n"


def test_only_the_words_after_the_last_verdict_count() -> None:
    assert parse_verdict("The answer is correct. Verdict: unclear") == "unknown"
    assert parse_verdict("Verdict pending; looks correct. Final VERDICT: unsure") == "unknown"
    assert parse_verdict("It seemed wrong at first. Verdict: Correct") == "correct"


def test_test_lines_skip_what_is_not_a_test_and_go_on() -> None:
    text = "Tests:\n```python\nprint(1)\nassert f(1) ==\nassert f(2) == 4\n```\n- assert f(3) == 9"
    assert parse_test_lines(text, "code", 5) == ("assert f(2) == 4", "assert f(3) == 9")
    assert parse_test_lines("Checks:\n1. Xylophone is spelled right\n2) `Xray`\n", "text", 5) == (
        "Xylophone is spelled right",
        "Xray",
    )
