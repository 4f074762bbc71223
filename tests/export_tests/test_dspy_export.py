"""archon export --format dspy and archon tune, on the embedded model served by `archon serve`
(llama.cpp's OpenAI-compatible server on 127.0.0.1, started by the test)."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import archon
from archon.export._dspy import load_program_module
from archon.testing import free_port
from archon.testing import running_server
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    cmd = [sys.executable, "-m", "archon", "serve", "local/gemma-3-270m", "--port", str(port)]
    with running_server(cmd, f"http://127.0.0.1:{port}/v1", tmp_path_factory.mktemp("serve")) as base:
        yield base


@pytest.fixture(autouse=True)
def _fresh_dspy_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """DSPy keeps a disk cache in the home directory: each test gets its own."""
    monkeypatch.setenv("DSPY_CACHEDIR", str(tmp_path / "dspy-cache"))


def _export(name: str, out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "archon", "export", str(ROOT / "pipelines" / name), "--format", "dspy", "-o", str(out)],
        capture_output=True,
        text=True,
    )


def test_dspy_program_is_clean_saves_state_and_matches_archon(served: str, tmp_path: Path) -> None:
    out = tmp_path / "single.py"
    made = _export("local-single-call.yaml", out)
    assert made.returncode == 0, made.stderr
    ruff = subprocess.run(
        [str(Path(sys.executable).parent / "ruff"), "check", "--isolated", "--select", "E4,E7,E9,F,I,UP,B", str(out)],
        capture_output=True,
        text=True,
    )
    assert ruff.returncode == 0, ruff.stdout
    mypy = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(out)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert mypy.returncode == 0, mypy.stdout
    state = json.loads(out.with_suffix(".json").read_text())
    assert (
        set(state) - {"metadata"} == {"answer"} and "Word: {{ input }}" in state["answer"]["signature"]["instructions"]
    )
    assert "api_base" not in out.with_suffix(".json").read_text()  # no URL, no key: the models live in the module
    mod = load_program_module(out)
    prog = mod.program(
        lms={"gemma": mod.ops.lm("openai/gemma-3-270m", api_base=served, temperature=0.0, max_tokens=8, stop=["\n"])}
    )
    assert [name for name, _ in prog.named_predictors()] == ["answer"]
    words = ["hot", "big", "fast", "up"]
    answers = [prog(input=w).answer for w in words]
    # the same prompt text as archon's in-process llama.cpp, greedy: the same answers
    with archon.load(ROOT / "pipelines" / "local-single-call.yaml", db=f"sqlite:///{tmp_path / 'a.db'}") as p:
        expected = p.execute(words).outputs
    assert answers == expected
    assert sum(a == b for a, b in zip(answers, ["cold", "small", "slow", "down"], strict=True)) >= 2


@pytest.mark.parametrize(
    "name",
    [
        "local-critique-rank-fuse.yaml",
        "local-verify-fuse.yaml",
        "local-best-of-5-vote.yaml",
        "local-unit-test-generate-evaluate.yaml",
        "local-moa-3-layer.yaml",
        "local-escalate.yaml",
        "local-verify-k-of-m.yaml",
    ],
)
def test_dspy_program_of_a_graph_runs(name: str, served: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARCHON_LOCAL_API_BASE", served)
    out = tmp_path / (Path(name).stem.replace("-", "_") + ".py")
    made = _export(name, out)
    assert made.returncode == 0, made.stderr
    mod = load_program_module(out)
    prog = mod.program()
    spec = archon.load(ROOT / "pipelines" / name).spec
    llm_nodes = [n for n, node in spec.nodes.items() if getattr(node, "model", None) or node.op == "generate"]
    assert sorted(n for n, _ in prog.named_predictors()) == sorted(x.lower() for x in llm_nodes)  # one per LLM node
    for n, p in prog.named_predictors():  # the model is set per node
        assert p.lm is not None and p.lm.model == "openai/gemma-3-270m", n
    result = prog(input="hot")
    assert result.candidates, "the output node yielded no candidate"
    assert isinstance(result.answer, str)
    calls = sum(len(p.lm.history) for _, p in prog.named_predictors())
    assert calls >= len(llm_nodes)


def test_tune_changes_an_instruction_within_budget(tmp_path: Path) -> None:
    """archon tune starts `archon serve` itself; MIPROv2 on 6 dev items with 40 calls."""
    pipeline = ROOT / "pipelines" / "local-tune-capitals.yaml"
    out = tmp_path / "tuned.yaml"
    env = {**os.environ, "DSPY_CACHEDIR": str(tmp_path / "dspy-cache")}
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "archon",
            "tune",
            str(pipeline),
            "--limit",
            "6",
            "--budget-calls",
            "40",
            "-o",
            str(out),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    summary = json.loads(run.stdout.splitlines()[-1])
    assert summary["changed"] == ["answer"] and summary["written"] == str(out)
    assert 0 < summary["spent"]["calls"] <= 40 and summary["spent"]["refused"] == 0
    assert summary["dev"]["after"] > summary["dev"]["before"]
    tuned = out.read_text()
    assert "{{ input }}" in tuned and tuned != pipeline.read_text()
    # the tuned YAML is a valid pipeline, and archon scores it as DSPy did (the same prompt text, greedy)
    ev = subprocess.run(
        [sys.executable, "-m", "archon", "eval", str(out), "--dataset", str(ROOT / "data" / "capitals.jsonl")]
        + ["--split", "dev", "--limit", "6", "--json", "--db", f"sqlite:///{tmp_path / 'e.db'}"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert ev.returncode == 0, ev.stderr
    assert json.loads(ev.stdout)["score"] == pytest.approx(summary["dev"]["after"])


def test_tune_refuses_a_budget_it_cannot_keep(served: str, tmp_path: Path) -> None:
    pipeline = ROOT / "pipelines" / "local-tune-capitals.yaml"
    cmd = [sys.executable, "-m", "archon", "tune", str(pipeline), "--limit", "6", "--api-base", served]
    small = subprocess.run(cmd + ["--budget-calls", "12"], capture_output=True, text=True, timeout=300)
    assert small.returncode == 2 and "budget is too small" in small.stderr and "Traceback" not in small.stderr
    none = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert none.returncode == 2 and "needs a budget" in none.stderr


def test_budgeted_lm_never_sends_a_call_past_the_budget(served: str) -> None:
    from archon.export import dspy as ops
    from archon.tune import TuneBudgetExceeded
    from archon.tune import TuneLedger
    from archon.tune import budgeted

    ledger = TuneLedger(calls=3)
    lm = budgeted(ops.lm("openai/gemma-3-270m", api_base=served, temperature=0.7, max_tokens=4), ledger)
    for word in ("hot", "big", "hot"):  # the second "hot" comes from DSPy's cache: free
        assert lm(messages=[{"role": "user", "content": f"Word: {word}\nOpposite:"}])
    assert ledger.spent_calls == 2 and ledger.cached == 1
    lm(messages=[{"role": "user", "content": "Word: up\nOpposite:"}])
    assert ledger.spent_calls == 3
    with pytest.raises(TuneBudgetExceeded):  # reserved before it is sent: refused, never sent
        lm(messages=[{"role": "user", "content": "Word: down\nOpposite:"}])
    assert ledger.spent_calls == 3 and ledger.refused == 1 and len(lm.history) == 4
    assert copy.deepcopy(lm).ledger is ledger  # DSPy's copies of the LM spend from the same ledger


def test_gepa_stays_within_budget(served: str, tmp_path: Path) -> None:
    pipeline = ROOT / "pipelines" / "local-tune-capitals.yaml"
    run = subprocess.run(
        [sys.executable, "-m", "archon", "tune", str(pipeline), "--limit", "4", "--optimizer", "gepa"]
        + ["--budget-calls", "40", "--api-base", served, "-o", str(tmp_path / "g.yaml"), "--json"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    summary = json.loads(run.stdout.splitlines()[-1])
    assert summary["optimizer"]["optimizer"] == "GEPA" and summary["spent"]["calls"] <= 40


def test_tune_with_another_prompt_model(served: str, tmp_path: Path) -> None:
    """--prompt-model: the proposer is a litellm route (here the served model by its OpenAI
    name); its calls are on the same ledger, and a dollar budget needs its price."""
    pipeline = ROOT / "pipelines" / "local-tune-capitals.yaml"
    cmd = [sys.executable, "-m", "archon", "tune", str(pipeline), "--limit", "4", "--api-base", served]
    cmd += ["--prompt-model", "openai/gemma-3-270m", "--prompt-api-base", served, "-o", str(tmp_path / "p.yaml")]
    run = subprocess.run(cmd + ["--budget-calls", "30", "--json"], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    summary = json.loads(run.stdout.splitlines()[-1])
    assert 0 < summary["spent"]["calls"] <= 30
    priced = subprocess.run(cmd + ["--budget-usd", "1"], capture_output=True, text=True, timeout=300)
    assert priced.returncode == 2 and "unknown for: openai/gemma-3-270m" in priced.stderr


def test_tune_with_a_train_split_draws_demonstrations_from_it_only(
    served: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """tune(train=...): MIPROv2 gets train as its trainset (where its labeled demonstrations
    come from) and dev as its valset — the splits archon's own search keeps
    (benchmarks/quality_lift.py); the real compile runs, its inputs are recorded."""
    import dspy

    from archon.evaluate import Dataset
    from archon.evaluate import get_metric
    from archon.evaluate import load_file
    from archon.tune import tune

    seen: dict[str, list[int]] = {}
    compile_ = dspy.MIPROv2.compile

    def recording(self: Any, student: Any, *, trainset: Any, valset: Any = None, **kw: Any) -> Any:
        seen["train"] = sorted(int(e.archon_index) for e in trainset)
        seen["val"] = sorted(int(e.archon_index) for e in valset)
        return compile_(self, student, trainset=trainset, valset=valset, **kw)

    monkeypatch.setattr(dspy.MIPROv2, "compile", recording)
    path = ROOT / "pipelines" / "local-tune-capitals.yaml"
    items = load_file(ROOT / "data" / "capitals.jsonl").examples
    train, dev, test = Dataset("train", items[:4]), Dataset("dev", items[4:8]), Dataset("test", items[8:10])
    result = tune(
        archon.load(path).spec,
        path.read_text(),
        dev,
        test,
        get_metric("contains"),
        budget_calls=40,
        demos=2,
        train=train,
        local_api_base=served,
    )
    assert seen == {"train": [0, 1, 2, 3], "val": [4, 5, 6, 7]}
    assert result.spent["calls"] <= 40
    template = result.instructions["answer"][1]
    assert not any(str(e.fields["input"]) in template for e in (*dev.examples, *test.examples)), template
