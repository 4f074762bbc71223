"""``archon optimize``: search a space, live trial lines, a final Pareto table."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys

from archon.search import SearchResult
from archon.search import TrialRecord


def run_optimize(args: argparse.Namespace) -> int:
    import logging

    from rich.console import Console

    from archon.operators import node_types
    from archon.operators import operator_types
    from archon.search import aoptimize
    from archon.search import parse_space_file

    logging.getLogger("optuna").setLevel(logging.WARNING)
    space = parse_space_file(args.space, node_types(operator_types()))
    console = Console(stderr=True) if sys.stderr.isatty() else Console(stderr=True, width=200)
    if "synthetic/" in json.dumps(space.template):
        console.print("[yellow]note: this space uses synthetic/ models — SIMULATED, for testing the search only[/]")

    def line(rec: TrialRecord, paid: int) -> None:
        if args.json:
            return
        params = " ".join(f"{k}={v}" for k, v in rec.params.items())
        if rec.state == "complete":
            lo, hi = rec.ci95 or (0.0, 0.0)
            console.print(
                f"trial {rec.number:>3}  score {rec.score:.3f} [{lo:.2f}–{hi:.2f}]  cost {rec.cost:.4g}/q  "
                f"calls {rec.paid_calls} paid {rec.cached_calls} cached  (search: {paid} paid)  {params}"
            )
        else:
            console.print(f"trial {rec.number:>3}  {rec.state}: {rec.reason}  {params}")

    db = args.db or os.environ.get("ARCHON_DB")
    result = asyncio.run(aoptimize(space, db=db, study_name=args.study, results_dir=args.results, on_trial=line))
    if args.json:
        print(json.dumps(_summary(result), default=str))
    else:
        _table(result)
    return 0


def run_show(args: argparse.Namespace) -> int:
    from archon.search import load_study_result

    result = load_study_result(args.study, args.db or os.environ.get("ARCHON_DB"))
    if args.json:
        print(json.dumps(_summary(result), default=str))
    else:
        _table(result)
    return 0


def _summary(r: SearchResult) -> dict[str, object]:
    return {
        "study": r.study,
        "trials": len(r.trials),
        "paid_calls": r.paid_calls,
        "stopped_because": r.stopped_because,
        "best": r.best.__dict__ if r.best else None,
        "test_score": r.test_score,
        "pareto": [t.__dict__ for t in r.pareto],
        "results_dir": str(r.results_dir) if r.results_dir else None,
    }


def _table(r: SearchResult) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console() if sys.stdout.isatty() else Console(width=140)
    table = Table(title=f"{r.study}: Pareto front (score vs cost per query)")
    for col in ("trial", "dev score", "95% CI", "cost/q", "calls/q", "params"):
        table.add_column(col)
    for t in r.pareto:
        lo, hi = t.ci95 or (0.0, 0.0)
        table.add_row(
            str(t.number),
            f"{t.score:.3f}",
            f"{lo:.2f}–{hi:.2f}",
            f"{t.cost:.4g}",
            f"{t.calls_per_query:.1f}",
            " ".join(f"{k}={v}" for k, v in t.params.items()),
        )
    console.print(table)
    if r.best:
        test = f", test {r.test_score:.3f}" if r.test_score is not None else ""
        console.print(
            f"best: trial {r.best.number} dev {r.best.score:.3f}{test}; {len(r.trials)} trials, "
            f"{r.paid_calls} paid calls; stopped: {r.stopped_because}"
        )
    if r.results_dir:
        console.print(f"results: {r.results_dir}/best.yaml, pareto/, trials.csv")
