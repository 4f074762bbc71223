"""The test judge's verdicts, rule by rule, in the real sandbox (mutation-tested: see
[tool.mutmut]); the 40+ hostile programs are in test_hostile_corpus.py."""

from __future__ import annotations

import pytest

from archon.sandbox import default_sandbox
from archon.sandbox._judge import count_passed
from archon.sandbox._judge import run_tests

SQUARE = "def sq(x):\n    return x * x\n"


async def _verdicts(code: str, tests: list[str], **kw: object) -> list[bool]:
    return await run_tests(default_sandbox(), code, tests, timeout_s=5.0, **kw)  # type: ignore[arg-type]


async def test_each_test_gets_its_own_verdict_in_order() -> None:
    tests = ["assert sq(3) == 9", "assert sq(2) == 5", "assert sq(-1) == 1", "assert nope(1)"]
    assert await _verdicts(SQUARE, tests) == [True, False, True, False]
    assert await count_passed(default_sandbox(), SQUARE, tests, timeout_s=5.0) == 2


async def test_no_tests_no_verdicts() -> None:
    assert await _verdicts(SQUARE, []) == []


async def test_a_crashing_or_silent_program_fails_every_test() -> None:
    assert await _verdicts("raise SystemExit(0)\n" + SQUARE, ["assert sq(3) == 9"]) == [False]
    assert await _verdicts("import os\nos._exit(0)\n", ["assert True"]) == [False]
    assert await _verdicts("def sq(x):\n    raise ValueError('no')\n", ["assert sq(1) == 1"]) == [False]


async def test_exceptions_cross_as_their_builtin_class() -> None:
    code = "def f(x):\n    raise KeyError(x)\n"
    tests = ["try:\n    f(1)\nexcept KeyError:\n    pass\nelse:\n    raise AssertionError"]
    assert await _verdicts(code, tests) == [True]


async def test_plain_values_cross_intact() -> None:
    code = (
        "def echo(x):\n    return x\n"
        "N = 10 ** 30\n"
        "def f():\n    return (1, [2.5, float('inf')], {'a': {3, 4}}, b'\\x00z', frozenset([1]), None, True, 1j)\n"
    )
    tests = [
        "assert f() == (1, [2.5, float('inf')], {'a': {3, 4}}, b'\\x00z', frozenset([1]), None, True, 1j)",
        "assert type(f()[0]) is int and type(f()[5]) is type(None)",
        "assert echo((1, 2)) == (1, 2) and echo({'k': [1]}) == {'k': [1]}",
        "assert N == 10 ** 30",
        "assert echo(2 ** 60) == 2 ** 60",
    ]
    assert await _verdicts(code, tests) == [True] * 5


async def test_objects_of_the_program_stay_there_behind_a_handle() -> None:
    code = (
        "class Box:\n    def __init__(self, v):\n        self.v = v\n"
        "    def get(self):\n        return self.v\n"
        "    def __eq__(self, other):\n        return True\n"
        "def make(v):\n    return Box(v)\n"
    )
    tests = [
        "b = make(4)\nassert b.get() == 4 and b.v == 4",
        "assert make(1) == 5",  # its __eq__ is not the tests' say
        "b = make(1)\nb.v = 7\nassert b.get() == 7",
        "assert make(1)",  # neither true nor false
    ]
    assert await _verdicts(code, tests) == [True, False, True, False]


async def test_builtin_names_reach_the_tests_only_as_the_entry_point() -> None:
    code = "def len(x):\n    return 99\ndef sum(xs):\n    return -1\n"
    assert await _verdicts(code, ["assert len([1]) == 1", "assert sum([1, 2]) == 3"]) == [True, True]
    assert await _verdicts(code, ["assert sum([1, 2]) == -1", "assert len([1]) == 1"], entry="sum") == [True, True]
    assert await _verdicts(code, ["assert sum([1, 2]) == 3"], entry="not an identifier") == [True]


async def test_forged_verdicts_do_not_pass() -> None:
    code = (
        "import sys, json\n"
        "print(json.dumps({'result': 0, 'ok': True}))\n"
        'sys.stdout.write(\'{"result": 0, "ok": true}\\n\')\n'
        "def sq(x):\n    return 0\n"
    )
    assert await _verdicts(code, ["assert sq(3) == 9"]) == [False]


async def test_a_hanging_program_times_out_as_failed() -> None:
    code = "def sq(x):\n    while True:\n        pass\n"
    verdicts = await run_tests(default_sandbox(), code, ["assert sq(2) == 4", "assert True"], timeout_s=2.0)
    assert verdicts[0] is False


@pytest.mark.parametrize("values", ["X = [1, 2]\n", "X = {'a': (1,)}\n"])
async def test_module_values_are_copied_to_the_tests(values: str) -> None:
    expect = values.split(" = ", 1)[1].strip()
    assert await _verdicts(values, [f"assert X == {expect}"]) == [True]


async def test_a_program_flooding_stderr_is_still_judged() -> None:
    """Neither side's stderr is a pipe archon must drain: 1 MB written there cannot stall
    the program (an undrained pipe blocks at 64 KiB) and is not read as an answer."""
    noisy = "import sys\nsys.stderr.write('x' * 1_000_000)\nsys.stderr.flush()\n" + SQUARE
    assert await _verdicts(
        noisy, ["assert sq(3) == 9", "import sys; sys.stderr.write('y' * 1_000_000); assert sq(2) == 4"]
    ) == [True, True]


async def test_one_slot_serves_the_pair_of_sandboxes() -> None:
    """The program and the tests share one slot: with a single slot the pair still runs
    (each taking its own slot in turn would wait for ever)."""
    from archon.sandbox import default_sandbox as make

    box = make()
    box.max_parallel = 1
    assert await run_tests(box, SQUARE, ["assert sq(4) == 16"], timeout_s=5.0) == [True]


async def test_the_memory_cap_reaches_both_sandboxes() -> None:
    big = "blob = bytearray(300 * 1024 * 1024)\n" + SQUARE
    assert await _verdicts(big, ["assert sq(3) == 9"], memory_mb=128) == [False]
    assert await _verdicts(SQUARE, ["blob = bytearray(300 * 1024 * 1024); assert sq(3) == 9"], memory_mb=128) == [False]
    assert await _verdicts(big, ["assert sq(3) == 9"], memory_mb=1024) == [True]
