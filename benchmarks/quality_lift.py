"""P0: does archon's compiled winner beat one plain call on held-out data?

For each built-in task (data/tasks/*.jsonl, >= 100 items each) this runs the task-first
search exactly as a user would — ``archon optimize --dataset TASK --model MODEL`` with no
YAML and no prompt — in a fresh database, and reports the baseline (one greedy call with
archon's written prompt and the first two train items as demonstrations) against the
winner on the test split (never seen by the search), with the paired bootstrap 95 %
interval of the lift, the paid calls and the wall time. The mean lift over the tasks is P0.

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
    cmd += ["--db", db, "--results", str(work / "results"), "--json", *extra]
    t0 = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if out.returncode != 0:
        raise SystemExit(f"{task.stem}: archon optimize exited {out.returncode}: {out.stderr[-2000:]}")
    summary = json.loads(out.stdout.strip().splitlines()[-1])
    return {"task": task.stem, "wall_s": wall, **summary}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tasks", help="comma-separated task names (default: every file in data/tasks)")
    ap.add_argument("--model", default="local/gemma-3-270m")
    ap.add_argument("--budget-calls", type=int, help="per task (default: archon's task-first default)")
    ap.add_argument("--json", metavar="FILE", help="also write the rows here")
    args = ap.parse_args()
    files = sorted(TASKS.glob("*.jsonl"))
    if args.tasks:
        want = set(args.tasks.split(","))
        files = [f for f in files if f.stem in want]
    extra = ["--budget-calls", str(args.budget_calls)] if args.budget_calls else []
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
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
    lifts = [r["lift"]["lift"] for r in rows if r.get("lift")]
    above = sum(1 for r in rows if r.get("lift") and r["lift"]["ci95"][0] > 0)
    if lifts:
        print(f"P0 mean lift {sum(lifts) / len(lifts):+.3f} over {len(lifts)} tasks; interval above 0 on {above}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1, default=str), encoding="utf-8")


if __name__ == "__main__":
    main()
