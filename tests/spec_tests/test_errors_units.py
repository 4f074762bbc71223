"""Located problems, bounded reads and key redaction, rule by rule (mutation-tested: see
[tool.mutmut]). Whole files through the CLI are in test_malformed_corpus.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from archon._files import FileTooLarge
from archon._files import NotUTF8
from archon._files import locate
from archon._files import read_text_limited
from archon.errors import ArchonError
from archon.errors import Problem
from archon.errors import SpecError
from archon.errors import redact


def test_problem_text_names_file_line_col_field_and_fix() -> None:
    assert str(Problem("a.yaml", 3, 7, "nodes.x.top_k", "must be ≥ 1", "write 1 or more")) == (
        "a.yaml:3:7: nodes.x.top_k: must be ≥ 1 — write 1 or more"
    )
    assert str(Problem("a.yaml", 3, 0, "f", "bad")) == "a.yaml:3: f: bad"
    assert str(Problem("a.yaml", 0, 5, "f", "bad")) == "a.yaml: f: bad"  # no column without a line
    assert str(Problem("a.yaml", 2, 1, "", "bad", "fix it")) == "a.yaml:2:1: bad — fix it"


def test_spec_error_reports_every_problem_one_per_line() -> None:
    one = Problem("a", 1, 1, "x", "m1")
    two = Problem("b", 2, 2, "y", "m2")
    err = SpecError([one, two])
    assert err.problems == [one, two] and str(err) == "a:1:1: x: m1\nb:2:2: y: m2"
    single = SpecError(one)
    assert single.problems == [one] and str(single) == "a:1:1: x: m1"
    assert isinstance(err, ValueError) and isinstance(err, ArchonError)


def test_locate_is_one_based_for_bytes_and_text() -> None:
    assert locate(b"abc", 0) == (1, 1)
    assert locate(b"ab\ncd\nef", 4) == (2, 2)
    assert locate("ab\ncd\nef", 6) == (3, 1)
    assert locate("ab\n", 2) == (1, 3)
    assert locate("\n\n\n", 3) == (4, 1)


def test_read_is_bounded_and_exact_at_the_limit(tmp_path: Path) -> None:
    f = tmp_path / "f.yaml"
    f.write_bytes(b"x" * 10)
    assert read_text_limited(f, 10) == "x" * 10
    with pytest.raises(FileTooLarge) as info:
        read_text_limited(f, 9)
    assert info.value.strerror == "larger than 0 MiB (or an endless device)"
    assert str(FileTooLarge(3 * 1024 * 1024)) == "larger than 3 MiB (or an endless device)"
    with pytest.raises(FileTooLarge):
        read_text_limited("/dev/zero", 1024)


def test_undecodable_bytes_are_located(tmp_path: Path) -> None:
    f = tmp_path / "f.yaml"
    f.write_bytes(b"ok: 1\nname: caf" + b"\xff\n")
    with pytest.raises(NotUTF8) as info:
        read_text_limited(f, 100)
    assert (info.value.line, info.value.col) == (2, 10)
    assert info.value.start == 15 and isinstance(info.value, UnicodeDecodeError)


def test_redact_removes_secret_env_values_extras_and_key_shapes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_SERVICE_TOKEN", "tok-0123456789")
    monkeypatch.setenv("SHORT_KEY", "abc")  # under 8 characters: too common to redact
    monkeypatch.setenv("PLAIN_VALUE", "visible-0123456789")
    text = "t=tok-0123456789 s=abc p=visible-0123456789 e=extra-secret-42"
    assert redact(text, ("extra-secret-42", "short")) == "t=*** s=abc p=visible-0123456789 e=***"
    assert redact("Authorization: Bearer abcdefgh1234") == "Authorization: Bearer ***"
    assert redact('{"api_key": "Zz9-abcdefgh"}') == '{"api_key": "***"}'
    assert redact("api-key=abcdefgh1") == "api-key=***"
    assert redact("key sk-proj_abcdefgh here") == "key *** here"
    assert redact("sk-short") == "sk-short" and redact("bearer 1234567") == "bearer 1234567"
    assert redact("nothing secret") == "nothing secret"


def test_the_longest_secret_is_redacted_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("A_KEY", "secret-value")
    monkeypatch.setenv("B_SECRET", "secret-value-longer")
    assert redact("x secret-value-longer y secret-value") == "x *** y ***"


def test_every_archon_error_is_redacted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VENDOR_API_KEY", "canary-9f8e7d6c5b")
    assert str(ArchonError("upstream said canary-9f8e7d6c5b")) == "upstream said ***"
    assert ArchonError("a", 3).args == ("a", 3)


def test_redact_takes_eight_characters_and_the_longest_secret_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_API_KEY", "k8chars!")
    monkeypatch.setenv("OTHER_TOKEN", "seven77")
    assert redact("a k8chars! b seven77") == "a *** b seven77"
    assert redact("x abcdefgh y abcdefg", extra=("abcdefgh", "abcdefg")) == "x *** y abcdefg"
    # the short secret sorts first by name but sits inside the long one: the long goes first
    assert redact("key=azsecret19", extra=("zsecret1", "azsecret19")) == "key=***"
