from __future__ import annotations

from pathlib import Path

import pytest

from archon.errors import DatasetError
from archon.evaluate import load_file
from tests.conftest import ROOT


def test_jsonl_and_csv_with_field_mapping(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text('question,gold,topic\nWhat is 2+2?,4,math\n"Hi, there",x,chat\n')
    ds = load_file(tmp_path / "d.csv", "question", "gold")
    assert [e.fields["input"] for e in ds.examples] == ["What is 2+2?", "Hi, there"]
    assert [e.gold for e in ds.examples] == ["4", "x"]
    assert "gold" not in ds.examples[0].fields  # the answer is never shown to the pipeline
    assert ds.examples[0].fields["topic"] == "math"
    ds = load_file(ROOT / "data" / "antonyms.jsonl")
    assert len(ds) == 30 and ds.examples[0].gold == "cold"


def test_splits_are_deterministic_and_disjoint() -> None:
    ds = load_file(ROOT / "data" / "capitals.jsonl")
    dev, test = ds.split("dev", 0.3, seed=1), ds.split("test", 0.3, seed=1)
    assert len(dev) == 9 and len(test) == 21
    assert {e.index for e in dev.examples}.isdisjoint(e.index for e in test.examples)
    assert dev.examples == ds.split("dev", 0.3, seed=1).examples
    assert dev.examples != ds.split("dev", 0.3, seed=2).examples
    assert len(ds.split("all").head(5)) == 5


def test_bad_rows_are_located(tmp_path: Path) -> None:
    f = tmp_path / "d.jsonl"
    f.write_text('{"input": "a", "answer": "b"}\n{"input": "a"}\nnot json\n{"q": 1, "answer": 2}\n')
    with pytest.raises(DatasetError) as info:
        load_file(f)
    text = str(info.value)
    assert f"{f}:2:1: answer: no field 'answer'" in text and "--answer-field" in text
    assert f"{f}:3:1: invalid JSON" in text
    assert f"{f}:4:1: input: no field 'input'" in text


def test_a_problem_on_every_row_is_said_once_with_its_count(tmp_path: Path) -> None:
    """A wrong field name fails every row: one error naming the first row and how many more,
    not thousands of lines; distinct problems past twenty are counted on one last line."""
    f = tmp_path / "d.jsonl"
    f.write_text("".join(f'{{"word": "w{i}", "gold": "g{i}"}}\n' for i in range(5000)))
    with pytest.raises(DatasetError) as info:
        load_file(f)
    lines = str(info.value).splitlines()
    assert len(lines) == 1, lines[:3]
    assert f"{f}:1:1: input: no field 'input' (fields: word, gold)" in lines[0]
    assert "the same on 4999 more rows (lines 2, 3, 4, ...)" in lines[0] and "--input-field" in lines[0]
    g = tmp_path / "e.jsonl"  # 30 different problems: 20 shown, a last line counts the other 10
    g.write_text("".join(f'{{"k{i}": 1}}\n' for i in range(30)))
    with pytest.raises(DatasetError) as info:
        load_file(g)
    lines = str(info.value).splitlines()
    assert len(lines) == 21 and f"{g}:20:1: input: no field 'input' (fields: k19)" in lines[19]
    assert f"{g}:21:1: 10 more problems from here on — fix the ones above and run again" in lines[20]
