"""Prompt parameters in spaces (demonstrations from the train split only), the baseline
and its lift, the selection rule, no-op nodes dropped, task-first optimize and the CLI
overrides. Search runs use SIMULATED synthetic/ models unless they say otherwise."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import pytest

from archon.errors import SpecError
from archon.evaluate import Dataset
from archon.evaluate import Example
from archon.evaluate import load_file
from archon.operators._base import Prompter
from archon.search import TrialRecord
from archon.search import aoptimize
from archon.search import parse_space
from archon.search._baseline import select_winner
from archon.search._demos import DemoPool
from archon.search._demos import escape_template
from archon.search._simplify import effective_params
from archon.search._simplify import simplify
from tests.conftest import ROOT
from tests.conftest import archon_cli as _cli

CANARY_SPACE = """
name: canary
pipeline:
  models:
    gen: {model: synthetic/medium, max_tokens: 16}
  nodes:
    samples: {op: generate, model: gen, samples: "${n}", template: "${demos}Q: {{ input }}\\nA:"}
    ranked: {op: rank, model: gen, top_k: "${k}", inputs: [samples], enabled: "${use_rank}"}
    answer: {op: vote, inputs: [ranked]}
  output: answer
demos: {format: "Q: {{ input }}\\nA: {{ answer }}\\n", count: "${shots}", select: "${pick}", seed: "${s}"}
space:
  n: {choice: [1, 3]}
  use_rank: {bool: true}
  k: {int: [1, 2], when: use_rank}
  shots: {choice: [0, 4, 40]}
  pick: {choice: [first, random, bootstrap, similar]}
  s: {int: [0, 2], when: {pick: {in: [random, bootstrap]}}}
dataset: {path: DATA, train: 0.3, dev: 0.4, seed: 3}
metric: exact
budget:
  per_query: {calls: 8}
  search: {calls: 20000, trials: 10}
strategy: random
"""


def _canary_data(tmp_path: Path, n: int = 60) -> Path:
    path = tmp_path / "canary.jsonl"
    rows = [{"input": f"q7-{i}", "answer": f"zz{i:03d}canary"} for i in range(n)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_split_with_train_is_disjoint_and_keeps_dev_test_without_it() -> None:
    ds = Dataset("d", tuple(Example(i, {"input": str(i)}, i) for i in range(50)))
    parts = {w: {e.index for e in ds.split(w, 0.4, 1, 0.3).examples} for w in ("train", "dev", "test")}
    assert len(parts["train"]) == 15 and len(parts["dev"]) == 20 and len(parts["test"]) == 15
    assert not parts["train"] & parts["dev"] and not parts["train"] & parts["test"] and not parts["dev"] & parts["test"]
    assert parts["train"] | parts["dev"] | parts["test"] == set(range(50))
    old_dev = {e.index for e in ds.split("dev", 0.4, 1).examples}
    assert old_dev == {e.index for e in ds.split("dev", 0.4, 1, 0.0).examples}


def test_demonstrations_never_come_from_dev_or_test(tmp_path: Path) -> None:
    data = _canary_data(tmp_path)
    space = parse_space(CANARY_SPACE.replace("DATA", str(data)), str(tmp_path / "s.yaml"))
    full = load_file(data)
    train, dev, test = (full.split(w, 0.4, 3, 0.3) for w in ("train", "dev", "test"))
    boot = tuple((e, str(e.gold)) for e in train.examples[::2])
    space = replace(space, pool=DemoPool(train.examples, boot))
    scored = {str(e.gold) for e in dev.examples + test.examples} | {
        e.fields["input"] for e in dev.examples + test.examples
    }
    held_golds = {str(e.gold) for e in dev.examples + test.examples}
    shown: set[str] = set()
    for shots in (4, 40):
        for pick in ("first", "random", "bootstrap", "similar"):
            for s in (0, 1, 2):
                tpl = space.pipeline_data({"n": 1, "shots": shots, "pick": pick, "s": s})["nodes"]["samples"][
                    "template"
                ]
                words = {w for line in tpl.splitlines() for w in line.replace(":", " ").split()}
                assert not words & scored, f"a dev/test item leaked into the prompt: {sorted(words & scored)[:3]}"
                in_text = set(re.findall(r"zz\d{3}canary", tpl))
                assert not in_text & held_golds, f"a dev/test answer leaked: {sorted(in_text & held_golds)[:3]}"
                for e in dev.examples[:5] + test.examples[:5]:  # what the model sees for a scored item
                    prompt = Prompter().render(tpl, {"input": e.fields["input"]}, "t")
                    seen = set(re.findall(r"zz\d{3}canary", prompt))
                    # too few bootstrapped: labeled train items fill the rest
                    assert not seen & held_golds and len(seen) == min(shots, len(train))
                shown |= in_text
    assert shown == {str(e.gold) for e in train.examples}  # 40 shots show every train item


async def test_search_with_demos_scores_the_baseline_and_leaks_nothing(db_url: str, tmp_path: Path) -> None:
    data = _canary_data(tmp_path)
    space = parse_space(CANARY_SPACE.replace("DATA", str(data)), str(tmp_path / "s.yaml"))
    result = await aoptimize(space, db=db_url, results_dir=tmp_path / "out")
    full = load_file(data)
    held = [e for w in ("dev", "test") for e in full.split(w, 0.4, 3, 0.3).examples]
    out = tmp_path / "out" / "canary"
    written = (out / "best.yaml").read_text() + "".join(p.read_text() for p in (out / "pareto").glob("*.yaml"))
    import optuna

    study = optuna.load_study(study_name="canary", storage=db_url)
    written += "".join(str(t.user_attrs.get("pipeline", "")) for t in study.trials)
    assert "zz" in written  # demonstrations were shown
    for e in held:
        assert str(e.gold) not in written
    base = result.extra["baseline"]
    assert base["dev"] is not None and base["test"] is not None
    lift = result.extra["lift"]
    assert lift is not None and lift.low <= lift.diff <= lift.high and lift.n == len(full.split("test", 0.4, 3, 0.3))
    summary = json.loads((out / "summary.json").read_text())
    assert summary["baseline"]["test"] == base["test"] and summary["lift"]["ci95"][0] <= summary["lift"]["lift"]
    assert summary["test_ci95"][0] <= summary["test_score"] <= summary["test_ci95"][1]
    assert "single call" in (out / "report.html").read_text()


BOOT_SPACE = """
name: boot
pipeline:
  models:
    gen: {model: synthetic/medium, max_tokens: 16}
  nodes:
    answer: {op: generate, model: gen, template: "${demos}Q: {{ input }}\\nA:"}
  output: answer
demos: {format: "Q: {{ input }}\\nA: {{ answer }}\\n", count: 4, select: "${pick}"}
space:
  pick: {choice: [first, random, bootstrap]}
dataset: {path: DATA, train: 0.3, dev: 0.4, seed: 3}
metric: exact
budget: {search: {calls: 20000, trials: TRIALS}}
strategy: greedy
"""


async def test_bootstrapping_is_paid_only_when_a_trial_draws_it(db_url: str, tmp_path: Path) -> None:
    """The baseline's train answers (for ``bootstrap`` demonstrations) are scored when the
    first trial that draws them comes, on that trial's ledger row — a search that stops
    before never pays for them; a resumed one that gets there pays once (SIMULATED model)."""
    import optuna

    from archon.search._ledger import BASE_ROW
    from archon.search._ledger import Ledger
    from archon.store import Store

    data = _canary_data(tmp_path)
    full = load_file(data)
    n_train, n_dev = (len(full.split(w, 0.4, 3, 0.3)) for w in ("train", "dev"))

    def rows() -> dict[int, int]:  # the ledger: calls paid per step (BASE_ROW: the baseline)
        return {r["trial"]: r["calls"] for r in Ledger(Store(db_url), "boot", "test").rows()}

    text = BOOT_SPACE.replace("DATA", str(data))
    short = parse_space(text.replace("TRIALS", "2"), str(tmp_path / "s.yaml"))
    await aoptimize(short, db=db_url, results_dir=None)  # first, then random: no bootstrap trial
    study = optuna.load_study(study_name="boot", storage=db_url)
    assert "bootstrapped" not in study.user_attrs
    assert rows()[BASE_ROW] == n_dev  # the baseline on dev only: no train pass
    longer = parse_space(text.replace("TRIALS", "3"), str(tmp_path / "s.yaml"))
    await aoptimize(longer, db=db_url, results_dir=None)  # resumed: the third trial draws bootstrap
    study = optuna.load_study(study_name="boot", storage=db_url)
    third = study.trials[2]
    assert third.user_attrs["values"]["pick"] == "bootstrap" and third.user_attrs["state"] == "complete"
    kept = study.user_attrs["bootstrapped"]  # the train items it got right (the simulation: maybe none)
    train_idx = {e.index for e in full.split("train", 0.4, 3, 0.3).examples}
    assert isinstance(kept, list) and {int(i) for i, _ in kept} <= train_idx
    paid = rows()
    assert paid[BASE_ROW] == n_dev and paid[2] >= n_train  # the train pass, on the trial's own row


def test_demo_text_with_jinja_markers_renders_as_itself() -> None:
    raw = "Q: {{ x }} {% if %} ${y} {# c #}\nA: }}{"
    assert Prompter().render(escape_template(raw), {}, "t") == raw
    assert escape_template("plain {text}") == "plain {text}"


def _rec(number: int, score: float, cost: float, ones: int, n: int = 40) -> TrialRecord:
    items = (1.0,) * ones + (0.0,) * (n - ones)
    return TrialRecord(number, {}, "complete", score, cost=cost, item_scores=items)


def test_winner_is_the_cheapest_not_significantly_worse() -> None:
    top = _rec(0, 0.80, 5.0, 32)
    close = _rec(1, 0.775, 1.0, 31)  # one item fewer: not significantly worse
    poor = _rec(2, 0.30, 0.5, 12)  # much worse: excluded though cheapest
    assert select_winner([top, close, poor]).number == 1
    assert select_winner([top, poor]).number == 0
    assert select_winner([]) is None


def test_noop_nodes_are_dropped_and_their_params_hidden(tmp_path: Path) -> None:
    data = _canary_data(tmp_path)
    space = parse_space(CANARY_SPACE.replace("DATA", str(data)), str(tmp_path / "s.yaml"))
    space = replace(space, pool=DemoPool(load_file(data).split("train", 0.4, 3, 0.3).examples))
    values = {"n": 1, "use_rank": True, "k": 2, "shots": 4, "pick": "first"}
    simple = simplify(space.pipeline_data(values))
    assert list(simple["nodes"]) == ["samples"] and simple["output"] == "samples"
    assert set(effective_params(space, values)) == {"n", "shots", "pick"}
    kept = simplify(space.pipeline_data({**values, "n": 3}))
    assert list(kept["nodes"]) == ["samples", "ranked", "answer"]
    off = simplify(space.pipeline_data({**values, "n": 3, "use_rank": False}))
    assert list(off["nodes"]) == ["samples", "answer"] and off["nodes"]["answer"]["inputs"] == ["samples"]


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ('demos: {format: "x", count: "${nope}"}', "is not a parameter"),
        ('demos: {format: "x", count: many}', "count must be"),
        ('demos: {format: "x", select: sometimes}', "select must be"),
        ('demos: {format: "{{ x", count: 2}', "Jinja2"),
        ('demos: {format: "x", count: 2, colour: red}', "unknown field 'colour'"),
        ("demos: [1, 2]", "demos: must be a mapping"),
    ],
)
def test_bad_demos_blocks_are_located(tmp_path: Path, patch: str, message: str) -> None:
    data = _canary_data(tmp_path)
    text = CANARY_SPACE.replace("DATA", str(data))
    text = "\n".join(patch if line.startswith("demos:") else line for line in text.splitlines())
    with pytest.raises(SpecError) as exc:
        parse_space(text, "s.yaml")
    assert any(message in str(p) for p in exc.value.problems), exc.value.problems
    assert all(p.line > 0 for p in exc.value.problems if message in str(p))


@pytest.mark.parametrize(
    ("when", "message"),
    [
        ("{pick: {in: first}}", "in: takes a list"),
        ("{pick: {among: [first]}}", "takes a value, {not: value} or {in: [values]}"),
    ],
)
def test_bad_when_is_located(tmp_path: Path, when: str, message: str) -> None:
    data = _canary_data(tmp_path)
    text = CANARY_SPACE.replace("DATA", str(data)).replace("when: {pick: {in: [random, bootstrap]}}", f"when: {when}")
    with pytest.raises(SpecError) as exc:
        parse_space(text, "s.yaml")
    hits = [p for p in exc.value.problems if message in str(p)]
    assert hits and all(p.line > 0 for p in hits), exc.value.problems


def test_when_in_activates_on_the_listed_values(tmp_path: Path) -> None:
    data = _canary_data(tmp_path)
    space = parse_space(CANARY_SPACE.replace("DATA", str(data)), str(tmp_path / "s.yaml"))
    for pick, on in (("first", False), ("random", True), ("bootstrap", True), ("similar", False)):
        assert space.active({"pick": pick, "s": 2})["s"] == (2 if on else 0), pick


def test_pipeline_text_with_backslashes_survives_the_yaml_dump() -> None:
    """ruamel 0.19 folds long double-quoted strings wrongly next to an escaped backslash;
    archon's dumps never fold, so a template (a nearest() pool is full of backslashes)
    comes back as it went in."""
    import random

    from ruamel.yaml import YAML

    from archon.search._space import _dump

    for seed in range(200):
        r = random.Random(seed)
        text = "".join(r.choice(["a ", "\\", '"', "x", "\n", "é", "\n"]) for _ in range(r.randint(20, 400)))
        assert YAML(typ="safe", pure=True).load(_dump({"t": text}))["t"] == text, seed


def test_demos_need_a_train_split(tmp_path: Path) -> None:
    data = _canary_data(tmp_path)
    text = CANARY_SPACE.replace("DATA", str(data)).replace("train: 0.3, ", "")
    with pytest.raises(SpecError, match="train split"):
        parse_space(text, "s.yaml")


def test_version_and_validate_accept_space_files() -> None:
    v = _cli("--version", timeout=60)
    assert v.returncode == 0 and v.stdout.startswith("archon ")
    spaces = sorted(str(p) for p in (ROOT / "optimizers").glob("*.yaml"))
    r = _cli("validate", *spaces, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("ok:") == len(spaces) and "search space" in r.stdout


def test_optimize_needs_a_space_or_a_task() -> None:
    r = _cli("optimize", "--model", "local/gemma-3-270m", timeout=60)
    assert r.returncode == 2 and "--dataset" in r.stderr and "Traceback" not in r.stderr


def test_task_first_optimize_on_the_embedded_model(tmp_path: Path) -> None:
    """No YAML: the space is written from the data, validated, searched on the real
    embedded model; the baseline and the lift with its interval are reported."""
    db = f"sqlite:///{tmp_path / 'a.db'}"
    args = ["optimize", "--dataset", str(ROOT / "data" / "tasks" / "plurals.jsonl"), "--model", "local/gemma-3-270m"]
    args += ["--db", db, "--results", str(tmp_path / "res"), "--trials", "3", "--json"]
    r = _cli(*args)
    assert r.returncode == 0, r.stderr[-3000:]
    s = json.loads(r.stdout.strip().splitlines()[-1])
    assert s["trials"] >= 3 and s["pareto"] and s["best"] is not None
    space_file = tmp_path / "res" / "plurals" / "space.yaml"
    assert space_file.exists() and _cli("validate", str(space_file), timeout=120).returncode == 0
    base, lift = s["baseline"], s["lift"]
    assert 0 <= base["test"] <= 1 and base["test_ci95"][0] <= base["test"] <= base["test_ci95"][1]
    assert lift["ci95"][0] <= lift["lift"] <= lift["ci95"][1]
    assert abs(lift["lift"] - (s["test_score"] - base["test"])) < 1e-9
    best_yaml = (tmp_path / "res" / "plurals" / "best.yaml").read_text()
    assert "enabled: false" not in best_yaml and "{{ input }}" in best_yaml
    test_items = {
        json.loads(line)["input"] for line in (ROOT / "data" / "tasks" / "plurals.jsonl").read_text().splitlines()
    }
    full = load_file(ROOT / "data" / "tasks" / "plurals.jsonl")
    held = {e.fields["input"] for w in ("dev", "test") for e in full.split(w, 0.35, 0, 0.3).examples}
    assert held <= test_items
    for word in held:  # no dev/test item is shown as a demonstration
        assert f"Input: {word}\n" not in best_yaml.replace("\\n", "\n")
    show = _cli("show", "plurals", "--db", db, timeout=120)
    assert show.returncode == 0 and "single call" in show.stdout and "lift" in show.stdout


def test_cli_overrides_trials_and_strategy(tmp_path: Path, db_url: str) -> None:
    space = ROOT / "optimizers" / "synthetic-demo.yaml"
    r = _cli(
        "optimize",
        str(space),
        "--db",
        db_url,
        "--results",
        str(tmp_path),
        "--trials",
        "3",
        "--strategy",
        "random",
        "--json",
    )
    assert r.returncode == 0, r.stderr[-2000:]
    s = json.loads(r.stdout)
    assert "trial budget (3)" in s["stopped_because"]
    bad = _cli("optimize", str(space), "--db", db_url, "--study", "tiny", "--budget-calls", "5")
    assert bad.returncode == 2 and "baseline" in bad.stderr and "budget" in bad.stderr, bad.stderr


def test_a_budget_too_small_for_one_trial_is_refused_before_any_call(tmp_path: Path) -> None:
    """A call budget that fits the baseline but not one complete trial and the test
    re-score exits 2 before spending, naming the smallest that fits; that one completes a
    trial and ends with a test score (SIMULATED model: the sizes are what is checked)."""
    db = f"sqlite:///{tmp_path / 'b.db'}"
    task = ["--dataset", str(ROOT / "data" / "tasks" / "elements.jsonl"), "--model", "synthetic/medium"]
    common = [*task, "--db", db, "--results", str(tmp_path / "res"), "--json"]
    small = _cli("optimize", *common, "--budget-calls", "150", timeout=120)
    assert small.returncode == 2 and "Traceback" not in small.stderr, small.stderr[-2000:]
    need = int(re.search(r"--budget-calls (\d+) or more", small.stderr).group(1))  # type: ignore[union-attr]
    assert 150 < need and "cannot complete one trial" in small.stderr and "test re-score" in small.stderr
    ok = _cli("optimize", *common, "--budget-calls", str(need), timeout=300)
    assert ok.returncode == 0, ok.stderr[-2000:]
    s = json.loads(ok.stdout.strip().splitlines()[-1])
    assert s["paid_calls"] <= need and s["test_score"] is not None and s["best"] is not None
    assert s["lift"] is not None


def test_live_table_shows_the_baseline_and_counts_trials_without_repeats() -> None:
    from rich.console import Console

    from archon.cli._optimize import _live_table
    from archon.search import Spend

    space = parse_space((ROOT / "optimizers" / "synthetic-demo.yaml").read_text(), str(ROOT / "optimizers" / "x.yaml"))
    recs = [
        TrialRecord(0, {"n": 1}, "complete", 0.5, (0.4, 0.6), 1.0, 1.0, 10, 0),
        TrialRecord(1, {"n": 1}, "repeat", 0.5, (0.4, 0.6), 1.0, 1.0, 0, 0, "= trial 0"),
    ]
    console = Console(record=True, width=200)
    console.print(_live_table(space, recs, Spend(10), (0.42, (0.3, 0.55))))
    text = console.export_text()
    assert "single call" in text and "0.420" in text and "1 trials of 30" in text


def test_named_demos_blocks_make_a_prompt_ensemble(tmp_path: Path) -> None:
    data = _canary_data(tmp_path)
    text = f"""
name: ensemble
pipeline:
  models:
    gen: {{model: synthetic/medium, max_tokens: 16}}
  nodes:
    a: {{op: generate, model: gen, template: "${{da}}Q: {{{{ input }}}}\\nA:"}}
    b: {{op: generate, model: gen, template: "${{db}}Q: {{{{ input }}}}\\nA:"}}
    answer: {{op: vote, inputs: [a, b]}}
  output: answer
demos:
  da: {{format: "Q: {{{{ input }}}}\\nA: {{{{ answer }}}}\\n", count: "${{shots}}", select: random, seed: 0}}
  db: {{format: "Q: {{{{ input }}}}\\nA: {{{{ answer }}}}\\n", count: "${{shots}}", select: random, seed: 1}}
space:
  shots: {{choice: [2, 4]}}
dataset: {{path: {data}, train: 0.3, dev: 0.4}}
"""
    space = parse_space(text, str(tmp_path / "e.yaml"))
    space = replace(space, pool=DemoPool(load_file(data).split("train", 0.4, 0, 0.3).examples))
    nodes = space.pipeline_data({"shots": 4})["nodes"]
    ta, tb = nodes["a"]["template"], nodes["b"]["template"]
    assert ta != tb and ta.count("Q: ") == tb.count("Q: ") == 5  # two draws of 4 demonstrations, then the query


async def test_proposed_instructions_are_paid_from_the_budget_and_searched(db_url: str, tmp_path: Path) -> None:
    from archon.search._ledger import PROPOSE_ROW
    from archon.search._ledger import Ledger
    from archon.store import Store

    data = _canary_data(tmp_path)
    text = CANARY_SPACE.replace("DATA", str(data)).replace(
        'template: "${demos}Q:', 'template: "${instruction}${demos}Q:'
    )
    text += 'instructions: {candidates: ["", "Answer with the code."], propose: 2}\n'
    space = parse_space(text, str(tmp_path / "s.yaml"))
    assert next(p for p in space.params if p.name == "instruction").choices == (0, 1, 2, 3)
    result = await aoptimize(space, db=db_url, results_dir=tmp_path / "out")
    summary = json.loads((tmp_path / "out" / "canary" / "summary.json").read_text())
    texts = summary["instructions"]
    assert texts[:2] == ["", "Answer with the code.\n"] and len(texts) == 4
    store = Store(db_url)
    try:
        rows = {r["trial"]: r for r in Ledger(store, "canary", "t").rows()}
    finally:
        store.close()
    assert rows[PROPOSE_ROW]["calls"] == 2 and rows[PROPOSE_ROW]["state"] == "closed"
    assert result.paid_calls == sum(r["calls"] for r in rows.values())
    again = await aoptimize(space, db=db_url, results_dir=tmp_path / "out")  # resumed: the same proposals, no call
    assert json.loads((tmp_path / "out" / "canary" / "summary.json").read_text())["instructions"] == texts
    assert again.paid_calls == result.paid_calls


def test_greedy_brackets_a_ladder_then_steps_along_it(tmp_path: Path) -> None:
    """From the start of a demonstration ladder the climb tries its far end first; from
    there only the next rung, then the other parameters — not every rung of the ladder
    before the pick is ever changed."""
    from archon.search._strategies import _greedy_next

    T = TrialRecord
    data = _canary_data(tmp_path)
    space = parse_space(CANARY_SPACE.replace("DATA", str(data)), str(tmp_path / "s.yaml"))
    start = space.active({"n": 1, "use_rank": False, "shots": 0, "pick": "first"})
    records = [T(0, start, "complete", 0.2, (0.1, 0.3), 1.0, 1.0, 10, 0)]
    for k in (1, 2):  # a rank over one sample is as cheap: tried already here
        records.append(T(k, space.active({**start, "use_rank": True, "k": k}), "complete", 0.1))
    far = _greedy_next(space, records)
    assert far == {**start, "shots": 40}  # not the nearest rung, 4
    records.append(T(3, far, "complete", 0.5, (0.4, 0.6), 1.0, 1.0, 10, 0))  # the climb moves there
    order = []
    while (p := _greedy_next(space, records)) is not None and space.static_calls(p) == 1 and len(order) < 20:
        order.append(p)
        records.append(T(len(records), p, "complete", 0.1, (0.0, 0.2), 1.0, 1.0, 10, 0))
    off_40 = [p for p in order if p["shots"] != 40]
    assert off_40 == [{**far, "shots": 4}]  # the next rung once, not every rung
    assert [(p["pick"], p["s"]) for p in order if p["pick"] == "random"] == [
        ("random", 0),
        ("random", 1),
        ("random", 2),
    ]


def test_greedy_tries_every_value_of_a_parameter_its_move_wakes(tmp_path: Path) -> None:
    """A move that wakes a parameter (the seed once the pick is random) is tried with each of
    its values: a random draw's first seed says little about the pick."""
    from archon.search._strategies import _greedy_next

    data = _canary_data(tmp_path)
    space = parse_space(CANARY_SPACE.replace("DATA", str(data)), str(tmp_path / "s.yaml"))
    start = space.active({"n": 1, "use_rank": False, "shots": 4, "pick": "first"})
    records = [TrialRecord(0, start, "complete", 0.5, (0.4, 0.6), 1.0, 1.0, 10, 0)]
    proposed = []
    while (p := _greedy_next(space, records)) is not None and space.static_calls(p) == 1:
        proposed.append(p)
        records.append(TrialRecord(len(records), p, "complete", 0.1, (0.0, 0.2), 1.0, 1.0, 10, 0))
    for pick in ("random", "bootstrap"):  # each seed of the woken parameter, with the pick alone changed
        assert sorted(p["s"] for p in proposed if p.get("pick") == pick and p["shots"] == 4) == [0, 1, 2]
    assert sum(1 for p in proposed if p.get("pick") == "similar" and p["shots"] == 4) == 1  # no seed to wake
