"""``archon optimize``: search a space, live trial lines, a final Pareto table."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from typing import Any

from archon.search import SearchResult
from archon.search import SearchSpace
from archon.search import Spend
from archon.search import TrialRecord


def run_optimize(args: argparse.Namespace) -> int:
    import logging

    from rich.console import Console
    from rich.live import Live

    from archon.operators import node_types
    from archon.operators import operator_types
    from archon.search import aoptimize
    from archon.search import parse_space_file

    logging.getLogger("optuna").setLevel(logging.WARNING)
    space = parse_space_file(args.space, node_types(operator_types()))
    console = Console(stderr=True) if sys.stderr.isatty() else Console(stderr=True, width=200)
    if "synthetic/" in json.dumps(space.template) and not args.join:
        console.print("[yellow]note: this space uses synthetic/ models — SIMULATED, for testing the search only[/]")
    quiet = args.json or args.join
    live = Live(console=console, auto_refresh=False) if console.is_terminal and not quiet else None

    def progress(rec: TrialRecord, records: list[TrialRecord], spent: Spend) -> None:
        if quiet:
            return
        if live is not None:
            live.update(_live_table(space, records, spent), refresh=True)
            return
        params = " ".join(f"{k}={v}" for k, v in rec.params.items())
        if rec.state == "complete":
            lo, hi = rec.ci95 or (0.0, 0.0)
            console.print(
                f"trial {rec.number:>3}  score {rec.score:.3f} [{lo:.2f}–{hi:.2f}]  cost {rec.cost:.4g}/q  "
                f"calls {rec.paid_calls} paid {rec.cached_calls} cached  (search: {_budget_line(space, spent)})  "
                f"{params}"
            )
        else:
            console.print(f"trial {rec.number:>3}  {rec.state}: {rec.reason}  {params}")

    db = args.db or os.environ.get("ARCHON_DB")
    search = aoptimize(
        space,
        db=db,
        study_name=args.study,
        results_dir=args.results,
        on_trial=progress,
        role="worker" if args.join else "main",
        workers=1 if args.join else args.workers,
        heartbeat_s=args.heartbeat,
    )
    if live is not None:
        with live:
            result = asyncio.run(search)
    else:
        result = asyncio.run(search)
    if args.json:
        print(json.dumps(_summary(result), default=str))
    elif not args.join:
        _table(result)
    return 0


def _budget_line(space: SearchSpace, spent: Spend) -> str:
    sb = space.budget.search
    parts = [f"{spent.calls} calls" + (f" of {sb.calls}" if sb.calls else "")]
    if sb.tokens or spent.tokens:
        parts.append(f"{spent.tokens} tokens" + (f" of {sb.tokens}" if sb.tokens else ""))
    if sb.usd or spent.usd:
        parts.append(f"${spent.usd:.4f}" + (f" of ${sb.usd}" if sb.usd else ""))
    return ", ".join(parts) + " spent"


def _live_table(space: SearchSpace, records: list[TrialRecord], spent: Spend) -> Any:
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    table = Table(title=f"{space.name}: trials (latest 20)", expand=False)
    for col in ("trial", "state", "score", "95% CI", "cost/q", "paid", "cached", "params"):
        table.add_column(col)
    for r in records[-20:]:
        lo, hi = r.ci95 or (None, None)
        table.add_row(
            str(r.number),
            r.state,
            f"{r.score:.3f}" if r.score is not None else "",
            f"{lo:.2f}–{hi:.2f}" if lo is not None and hi is not None else "",
            f"{r.cost:.4g}" if r.cost is not None else "",
            str(r.paid_calls),
            str(r.cached_calls),
            " ".join(f"{k}={v}" for k, v in r.params.items()) if r.state != "rejected" else r.reason[:60],
        )
    sb = space.budget.search
    trials = f"{sum(1 for r in records if r.state != 'failed')} trials" + (f" of {sb.trials}" if sb.trials else "")
    return Group(table, Text(f"budget: {_budget_line(space, spent)}; {trials}"))


def run_rank_models(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from archon.operators import node_types
    from archon.operators import operator_types
    from archon.search import parse_space_file
    from archon.search import rank_models

    space = parse_space_file(args.space, node_types(operator_types()))
    ranking, paid, stored = asyncio.run(rank_models(space, args.db or os.environ.get("ARCHON_DB"), again=args.again))
    if args.json:
        print(
            json.dumps(
                {
                    "generators": ranking.generators,
                    "fusers": ranking.fusers,
                    "scores": ranking.scores,
                    "items": ranking.items,
                    "paid_calls": paid.calls,
                    "stored": stored,
                }
            )
        )
        return 0
    console = Console() if sys.stdout.isatty() else Console(width=140)
    table = Table(title=f"{space.name}: power ranking on {ranking.items} dev items ({space.metric})")
    for col in ("rank", "generator", "score", "fuser", "score"):
        table.add_column(col)
    for i, (g, f) in enumerate(zip(ranking.generators, ranking.fusers, strict=True)):
        table.add_row(str(i + 1), g, f"{ranking.scores['generator'][g]:.3f}", f, f"{ranking.scores['fuser'][f]:.3f}")
    console.print(table)
    how = "stored ranking reused (--again to rank anew)" if stored else f"{paid.calls} paid calls; stored"
    console.print(f"{how}; archon optimize {args.space} uses it")
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
        "test_scores": r.extra.get("test_scores", {}),
        "pareto": [t.__dict__ for t in r.pareto],
        "results_dir": str(r.results_dir) if r.results_dir else None,
    }


def _table(r: SearchResult) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console() if sys.stdout.isatty() else Console(width=140)
    table = Table(title=f"{r.study}: Pareto front (score vs cost per query)")
    tests = r.extra.get("test_scores", {})
    for col in ("trial", "dev score", "95% CI", "test score", "cost/q", "calls/q", "params"):
        table.add_column(col)
    for t in r.pareto:
        lo, hi = t.ci95 or (0.0, 0.0)
        table.add_row(
            str(t.number),
            f"{t.score:.3f}",
            f"{lo:.2f}–{hi:.2f}",
            f"{tests[t.number]:.3f}" if t.number in tests else "",
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
        console.print(f"results: {r.results_dir}/best.yaml, pareto/, trials.csv, report.html")
