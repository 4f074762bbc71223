"""YAML that would exhaust memory or the stack: each is a located rc-2 error, quickly."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from archon.errors import SpecError
from archon.spec import parse_pipeline
from tests.conftest import ROOT

PIPE = "local-single-call.yaml"

LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
    f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
    for i in range(8)
)


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    ("text", "said"),
    [
        (LAUGHS, "values"),
        ("nodes: " + "[" * 5000 + "]" * 5000 + "\n", "nest"),
        ("nodes: " + "{a: " * 200 + "1" + "}" * 200 + "\n", "nest"),
        ("nodes:\n  g: {op: generate, max_tokens: " + "9" * 5000 + "}\n", "value"),
    ],
    ids=["billion-laughs", "deep-flow-seq", "deep-maps", "huge-int"],
)
def test_hostile_yaml_is_a_located_error(text: str, said: str) -> None:
    t0 = time.monotonic()
    with pytest.raises(SpecError) as info:
        parse_pipeline(text, "p.yaml")
    assert time.monotonic() - t0 < 10
    message = str(info.value)
    assert message.startswith("p.yaml:"), message
    assert said in message, message
    assert " — " in message, message


@pytest.mark.timeout(60)
def test_endless_files_are_refused() -> None:
    for args in (["validate", "/dev/zero"], ["eval", str(ROOT / "pipelines" / PIPE), "--dataset", "/dev/zero"]):
        r = subprocess.run(
            [sys.executable, "-m", "archon", *args], capture_output=True, text=True, timeout=50, cwd=ROOT
        )
        assert r.returncode == 2, (args, r.stderr)
        assert "Traceback" not in r.stderr
        assert "/dev/zero" in r.stderr and "MiB" in r.stderr, r.stderr
