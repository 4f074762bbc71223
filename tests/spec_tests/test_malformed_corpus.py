"""Malformed pipelines, spaces, datasets and arguments, through the real command line.

Two sources: the seeded corpus of :mod:`archon.testing.malformed` (mutations of every
ready file plus a hand list: each case must exit 2 with a located message), and
hypothesis, which puts arbitrary JSON values at arbitrary places of the ready files and
arbitrary bytes into them (exit 0 or a located exit 2, never a traceback). Hypothesis
runs derandomized, so CI sees the same examples every time.
"""

from __future__ import annotations

import collections
import json
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from archon.testing._mutations import _dump
from archon.testing._mutations import _load
from archon.testing._mutations import _paths
from archon.testing._mutations import _set
from archon.testing._mutations import mutate_bytes
from archon.testing._mutations import mutate_document
from archon.testing.malformed import SYNTHETIC_PIPELINE
from archon.testing.malformed import Case
from archon.testing.malformed import corpus
from archon.testing.malformed import run_case
from tests.conftest import ROOT

CORPUS = corpus(seed=0)
READY = sorted((ROOT / "pipelines").glob("*.yaml")) + sorted((ROOT / "optimizers").glob("*.yaml"))


def test_the_corpus_is_large_and_covers_every_kind() -> None:
    kinds = collections.Counter(c.kind for c in CORPUS)
    assert len(CORPUS) >= 200 and set(kinds) == {"pipeline", "space", "dataset", "args"}, kinds
    assert sum(c.must_fail for c in CORPUS) >= 200
    assert len({c.name for c in CORPUS}) == len(CORPUS)
    assert [c.name for c in corpus(seed=0)] == [c.name for c in CORPUS]  # seeded: the same every run


def test_the_mutations_break_what_they_claim_to(tmp_path: Path) -> None:
    # the oracle itself: a mutation said to be fatal is one archon validate refuses, and
    # one said to be harmless (the ready file unchanged) passes
    rng = random.Random(7)
    base = _load((ROOT / "pipelines" / "critique-rank-fuse.yaml").read_text())
    checked = 0
    for i in range(60):
        doc, what, sure = mutate_document(base, rng)
        if not sure:
            continue
        case = Case(what, "pipeline", ("validate", "{m.yaml}"), {"m.yaml": _dump(doc)})
        verdict = run_case(case, tmp_path / str(i))
        assert verdict.rc == 2 and verdict.clean, (what, verdict.problem, verdict.stderr)
        checked += 1
    assert checked >= 20
    ok = run_case(Case("ready", "pipeline", ("validate", "{m.yaml}"), {"m.yaml": _dump(base)}), tmp_path / "ok")
    assert ok.rc == 0, ok.stderr


@pytest.mark.timeout(60)
@pytest.mark.parametrize("case", CORPUS, ids=[f"{i}-{c.name[:60]}" for i, c in enumerate(CORPUS)])
def test_malformed_input_is_a_located_exit_2(case: Case, tmp_path: Path) -> None:
    verdict = run_case(case, tmp_path)
    assert verdict.clean, f"{case.name}: {verdict.problem} (exit {verdict.rc})\n{verdict.stderr[-1500:]}"


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**40), max_value=10**40)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
hypo = settings(
    max_examples=300,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _judged(files: dict[str, bytes], argv: tuple[str, ...], tmp_path: Path, n: list[int]) -> None:
    n[0] += 1  # hypothesis re-enters with the same tmp_path: a folder per example
    case = Case("hypothesis", "pipeline", argv, files, must_fail=False)
    verdict = run_case(case, tmp_path / str(n[0]))
    assert verdict.clean, f"{verdict.problem} (exit {verdict.rc}) for {files}\n{verdict.stderr[-1500:]}"


@pytest.mark.timeout(600)
@hypo
@given(base=st.sampled_from(READY), where=st.integers(0, 10**6), value=json_values)
def test_any_value_anywhere_in_a_ready_file(tmp_path: Path, base: Path, where: int, value: object) -> None:
    doc = _load(base.read_text())
    paths = [p for p, _ in _paths(doc)]
    _set(doc, paths[where % len(paths)], value)
    _judged({base.name: _dump(doc)}, ("validate", "{" + base.name + "}"), tmp_path, _n)


@pytest.mark.timeout(600)
@hypo
@given(base=st.sampled_from(READY), at=st.integers(0, 10**6), junk=st.binary(min_size=1, max_size=12))
def test_any_bytes_anywhere_in_a_ready_file(tmp_path: Path, base: Path, at: int, junk: bytes) -> None:
    data = base.read_bytes()
    at %= len(data) + 1
    _judged({base.name: data[:at] + junk + data[at:]}, ("validate", "{" + base.name + "}"), tmp_path, _n)


@pytest.mark.timeout(600)
@hypo
@given(rows=st.lists(json_values, min_size=1, max_size=5))
def test_any_rows_in_a_dataset(tmp_path: Path, rows: list[object]) -> None:
    lines = "\n".join(json.dumps(r) for r in rows).encode()
    files = {"p.yaml": SYNTHETIC_PIPELINE.encode(), "d.jsonl": lines}
    argv = ("eval", "{p.yaml}", "--dataset", "{d.jsonl}", "--metric", "exact", "--no-progress")
    _judged(files, argv, tmp_path, _n)


@pytest.mark.timeout(600)
@hypo
@given(seed=st.integers(0, 2**32 - 1), base=st.sampled_from(READY))
def test_seeded_mutations_of_any_ready_file(tmp_path: Path, seed: int, base: Path) -> None:
    rng = random.Random(seed)
    if rng.random() < 0.5:
        doc, _, sure = mutate_document(_load(base.read_text()), rng)
        data = _dump(doc)
    else:
        data, _, sure = mutate_bytes(base.read_bytes(), rng)
    case = Case("hypothesis", "pipeline", ("validate", "{" + base.name + "}"), {base.name: data}, must_fail=sure)
    _n[0] += 1
    verdict = run_case(case, tmp_path / str(_n[0]))
    assert verdict.clean, f"{verdict.problem} (exit {verdict.rc})\n{verdict.stderr[-1500:]}"


_n = [0]
