"""P0: does archon's compiled winner beat one plain call on held-out data?

For each built-in task (data/tasks/*.jsonl, >= 100 items each) this runs the task-first
search exactly as a user would — ``archon optimize --dataset TASK --model MODEL`` with no
YAML and no prompt — in a fresh database, and reports the baseline (one greedy call with
archon's written prompt and the first two train items as demonstrations) against the
winner on the test split (never seen by the search), with the paired bootstrap 95 %
interval of the lift, the paid calls and the wall time. The mean lift over the tasks is P0.

With ``--dspy``, DSPy's MIPROv2 (labeled few-shot demonstrations drawn from the same train
split archon draws from, validated on the same dev split archon selects on, instruction
candidates, Bayesian trials; through ``archon tune``'s code, every call on a budget ledger)
tunes the same baseline prompt on the same model served once by ``archon serve``, capped at
the calls archon paid on that task, and is scored on the same test items.
``--dspy-pool train+dev`` gives DSPy the protocol of earlier runs instead: train and dev
pooled as both its demonstration source and its validation set.

Run: .venv/bin/python benchmarks/quality_lift.py [--tasks antonyms,plurals] [--model local/gemma-3-270m]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TASKS = ROOT / "data" / "tasks"


def run_task(task: Path, model: str, work: Path, extra: list[str]) -> dict[str, object]:
    db = f"sqlite:///{work / (task.stem + '.db')}"
    cmd = [sys.executable, "-m", "archon", "optimize", "--dataset", str(task), "--model", model]
    cmd += ["--db", db, "--results", str(work / "results"), "--json", *extra, *_fields(task)]
    t0 = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if out.returncode != 0:
        raise SystemExit(f"{task.stem}: archon optimize exited {out.returncode}: {out.stderr[-2000:]}")
    summary = json.loads(out.stdout.strip().splitlines()[-1])
    return {"task": task.stem, "wall_s": wall, **summary}


def _fields(task: Path) -> list[str]:
    """A file whose rows name their fields otherwise (``{"country": ..., "adjective": ...}``):
    its first field is the input, its last the gold answer, as a user would pass them."""
    first = json.loads(task.read_text(encoding="utf-8").splitlines()[0]) if task.suffix == ".jsonl" else {}
    if not first or "input" in first:
        return []
    keys = list(first)
    return ["--input-field", keys[0], "--answer-field", keys[-1]]


def run_dspy(task: Path, work: Path, budget: int, pool: str = "train") -> dict[str, object]:
    """MIPROv2 on the baseline pipeline of the space archon wrote, at archon's call budget."""
    from dataclasses import replace

    from archon.cli._tune import _local_server
    from archon.evaluate import Dataset
    from archon.evaluate import get_metric
    from archon.search import parse_space_file
    from archon.search._demos import DemoPool
    from archon.search._space import _dump
    from archon.spec import parse_pipeline
    from archon.tune import tune

    space = parse_space_file(work / "results" / task.stem / "space.yaml")
    train, dev, test = space.splits()
    space = replace(space, pool=DemoPool(train.examples))
    text = _dump(space.baseline_data())
    spec = parse_pipeline(text, f"{task.stem}-baseline")
    models = {m.model for m in spec.models.values() if m.model.startswith("local/")}
    t0 = time.perf_counter()
    with _local_server(models) as base:
        pooled = pool == "train+dev"
        result = tune(
            spec,
            text,
            Dataset("train+dev", train.examples + dev.examples) if pooled else dev,
            test,
            get_metric(space.metric),
            train=None if pooled else train,
            budget_calls=budget,
            optimizer="mipro",
            demos=8,
            local_api_base=base,
        )
    # DSPy's program as a pipeline, beside archon's best.yaml (benchmarks/prompt_swap.py compares them)
    (work / "results" / task.stem / "dspy-tuned.yaml").write_text(result.yaml_text, encoding="utf-8")
    return {
        "before_test": result.before["test"],
        "after_test": result.after["test"],
        "calls": result.spent["calls"],
        "wall_s": time.perf_counter() - t0,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tasks", help="comma-separated task names (default: every file in data/tasks)")
    ap.add_argument("--tasks-dir", type=Path, default=TASKS, help="where the task files are (default: data/tasks)")
    ap.add_argument("--model", default="local/gemma-3-270m")
    ap.add_argument("--budget-calls", type=int, help="per task (default: archon's task-first default)")
    ap.add_argument("--json", metavar="FILE", help="also write the rows here")
    ap.add_argument("--dspy", action="store_true", help="also run DSPy MIPROv2 at archon's call budget")
    ap.add_argument(
        "--dspy-pool",
        choices=["train", "train+dev"],
        default="train",
        help="DSPy's demonstrations from train, validated on dev (archon's splits; default), or both pooled",
    )
    ap.add_argument(
        "--keep", metavar="DIR", help="keep the databases and results here (for benchmarks/peers_optillm.py)"
    )
    args = ap.parse_args()
    files = sorted(args.tasks_dir.glob("*.jsonl"))
    if args.tasks:
        want = set(args.tasks.split(","))
        files = [f for f in files if f.stem in want]
    extra = ["--budget-calls", str(args.budget_calls)] if args.budget_calls else []
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        tmp = args.keep or scratch
        Path(tmp).mkdir(parents=True, exist_ok=True)
        for f in files:
            r = run_task(f, args.model, Path(tmp), extra)
            rows.append(r)
            lift = r["lift"] or {}
            base = r["baseline"] or {}
            best = r["best"] or {}
            print(
                f"{r['task']:<12} single call test {base.get('test', float('nan')):.3f}  "
                f"winner test {r['test_score']:.3f}  lift {lift.get('lift', float('nan')):+.3f} "
                f"[{lift.get('ci95', [float('nan')] * 2)[0]:+.3f}, {lift.get('ci95', [float('nan')] * 2)[1]:+.3f}] "
                f"n={lift.get('n')}  winner {json.dumps(best.get('params'))} "
                f"{best.get('calls_per_query', 0):.1f} calls/q  paid {r['paid_calls']}  {r['wall_s']:.0f} s",
                flush=True,
            )
            if args.dspy:
                d = run_dspy(f, Path(tmp), int(r["paid_calls"]), args.dspy_pool)
                r["dspy"] = d
                print(
                    f"{'':<12} DSPy MIPROv2: test {d['before_test']:.3f} -> {d['after_test']:.3f} "
                    f"({d['calls']} calls of {r['paid_calls']}, {d['wall_s']:.0f} s)",
                    flush=True,
                )
    lifts = [r["lift"]["lift"] for r in rows if r.get("lift")]
    above = sum(1 for r in rows if r.get("lift") and r["lift"]["ci95"][0] > 0)
    if lifts:
        print(f"P0 mean lift {sum(lifts) / len(lifts):+.3f} over {len(lifts)} tasks; interval above 0 on {above}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1, default=str), encoding="utf-8")


if __name__ == "__main__":
    main()
