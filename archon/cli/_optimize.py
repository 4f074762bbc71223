"""``archon optimize``: search a space, live trial lines, a final Pareto table."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from archon._files import MAX_SPEC_BYTES
from archon._files import read_text_limited
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
    if args.space is None:
        args.space = _write_task_space(args)
    elif args.dataset or args.model or args.template:
        from archon.errors import ConfigurationError

        raise ConfigurationError(
            "--dataset/--model/--template build a space from a task; with a SPACE.yaml, "
            "edit its dataset:/pipeline: instead (or drop SPACE.yaml)"
        )
    space = _override(parse_space_file(args.space, node_types(operator_types())), args)
    console = Console(stderr=True) if sys.stderr.isatty() else Console(stderr=True, width=200)
    if "synthetic/" in json.dumps(space.template) and not args.join:
        console.print("[yellow]note: this space uses synthetic/ models — SIMULATED, for testing the search only[/]")
    quiet = args.json or args.join
    live = Live(console=console, auto_refresh=False) if console.is_terminal and not quiet else None

    baseline: list[tuple[float, tuple[float, float]]] = []

    def on_baseline(score: float, ci: tuple[float, float]) -> None:
        baseline.append((score, ci))
        if not quiet and live is None:
            console.print(
                f"baseline (one greedy call with the user's prompt): dev {score:.3f} [{ci[0]:.2f}–{ci[1]:.2f}]"
            )

    def progress(rec: TrialRecord, records: list[TrialRecord], spent: Spend) -> None:
        if quiet:
            return
        if live is not None:
            live.update(_live_table(space, records, spent, baseline[0] if baseline else None), refresh=True)
            return
        from archon.search import effective_params

        shown = effective_params(space, rec.params) if rec.state == "complete" else rec.params
        params = " ".join(f"{k}={v}" for k, v in shown.items())
        if rec.state == "complete":
            lo, hi = rec.ci95 or (0.0, 0.0)
            console.print(
                f"trial {rec.number:>3}  score {rec.score:.3f} [{lo:.2f}–{hi:.2f}]  cost {rec.cost:.4g}/q  "
                f"{rec.paid_calls} paid + {rec.cached_calls} cached calls  (search: {_budget_line(space, spent)})  "
                f"{params}"
            )
        else:
            console.print(f"trial {rec.number:>3}  {rec.state}: {rec.reason}  {params}")

    db = args.db
    search = aoptimize(
        space,
        db=db,
        study_name=args.study,
        results_dir=args.results,
        on_trial=progress,
        role="worker" if args.join else "main",
        workers=1 if args.join else args.workers,
        heartbeat_s=args.heartbeat,
        on_baseline=on_baseline,
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
    if result.best is None and not args.join:
        why = next((t.reason for t in result.trials if t.reason), "no trial ran")
        print(f"error: no trial completed ({result.stopped_because}); the first reason: {why}", file=sys.stderr)
        return 1
    return 0


def _write_task_space(args: argparse.Namespace) -> str:
    """Task-first: builds the default space from --dataset and --model, writes it, and
    returns its path."""
    from pathlib import Path

    from archon.errors import ConfigurationError
    from archon.evaluate import load_file
    from archon.search import dump_space
    from archon.search import task_space

    if not args.dataset or not args.model:
        raise ConfigurationError(
            "give a search space (archon optimize SPACE.yaml) or a task: --dataset FILE --model MODEL "
            "(e.g. archon optimize --dataset items.jsonl --model local/gemma-3-270m)"
        )
    dataset = load_file(args.dataset, args.input_field, args.answer_field)
    template = args.template
    if template is not None and template.startswith("@"):
        try:
            template = read_text_limited(template[1:], MAX_SPEC_BYTES)
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigurationError(f"--template {args.template}: cannot read the file ({exc})") from None
    name = args.study or None
    stem = Path(args.dataset).stem
    target = Path(args.write_space) if args.write_space else Path(args.results) / (name or stem) / "space.yaml"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigurationError(f"cannot write the space to {target}: {exc.strerror}") from None
    data, _ = task_space(
        dataset,
        args.dataset,
        args.model,
        out_dir=target.parent,
        template=template,
        metric=args.metric,
        input_field=args.input_field,
        answer_field=args.answer_field,
        name=name or stem,
    )
    try:
        target.write_text(dump_space(data), encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(f"cannot write the space to {target}: {exc.strerror}") from None
    print(f"space written to {target} (edit it and run: archon optimize {target})", file=sys.stderr)
    return str(target)


def _override(space: SearchSpace, args: argparse.Namespace) -> SearchSpace:
    """--budget-calls, --trials, --patience and --strategy on top of the file's."""
    from dataclasses import replace

    from archon.errors import ConfigurationError

    update: dict[str, Any] = {}
    flags: list[str] = []
    if args.budget_calls is not None:
        update["calls"] = args.budget_calls
        flags += ["--budget-calls", str(args.budget_calls)]
    if args.trials is not None:
        update["trials"] = args.trials
        flags += ["--trials", str(args.trials)]
    if args.patience is not None:
        update["patience"] = args.patience
        flags += ["--patience", str(args.patience)]
    if update:
        search = space.budget.search.model_copy(update=update)
        space = replace(space, budget=space.budget.model_copy(update={"search": search}))
    if args.strategy is not None:
        if args.strategy == "grid" and any(p.kind == "float" for p in space.params):
            raise ConfigurationError("--strategy grid needs every parameter discrete (this space has floats)")
        if args.strategy == "nsga2" and space.objectives != ("score", "cost"):
            raise ConfigurationError("--strategy nsga2 is multi-objective: the space needs objectives: [score, cost]")
        space = replace(space, strategy=args.strategy)
        flags += ["--strategy", args.strategy]
    return replace(space, overrides=tuple(flags)) if flags else space


def _budget_line(space: SearchSpace, spent: Spend) -> str:
    sb = space.budget.search
    parts = [f"{spent.calls} calls" + (f" of {sb.calls}" if sb.calls else "")]
    if sb.tokens or spent.tokens:
        parts.append(f"{spent.tokens} tokens" + (f" of {sb.tokens}" if sb.tokens else ""))
    if sb.usd or spent.usd:
        parts.append(f"${spent.usd:.4f}" + (f" of ${sb.usd}" if sb.usd else ""))
    return ", ".join(parts) + " spent"


def _live_table(
    space: SearchSpace, records: list[TrialRecord], spent: Spend, baseline: tuple[float, Any] | None = None
) -> Any:
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    table = Table(title=f"{space.name}: trials (latest 20)", expand=False)
    for col in ("trial", "state", "score", "95% CI", "cost/q", "paid", "cached", "params"):
        table.add_column(col)
    if baseline is not None:
        score, (blo, bhi) = baseline
        table.add_row("single call", "baseline", f"{score:.3f}", f"{blo:.2f}–{bhi:.2f}", "1", "", "", "one greedy call")
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
    tried = sum(1 for r in records if r.state not in ("failed", "repeat"))
    trials = f"{tried} trials" + (f" of {sb.trials}" if sb.trials else "")
    return Group(table, Text(f"budget: {_budget_line(space, spent)}; {trials}"))


def run_rank_models(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from archon.operators import node_types
    from archon.operators import operator_types
    from archon.search import parse_space_file
    from archon.search import rank_models

    space = parse_space_file(args.space, node_types(operator_types()))
    ranking, paid, stored = asyncio.run(rank_models(space, args.db, again=args.again))
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

    result = load_study_result(args.study, args.db)
    if args.json:
        print(json.dumps(_summary(result), default=str))
    else:
        _table(result)
    return 0


def _shown_params(r: SearchResult, trials: Any = None) -> dict[int, dict[str, Any]]:
    """Each Pareto trial's parameters that matter (those of no-op nodes left out)."""
    space = r.extra.get("space")
    if space is None:
        return {}
    from archon.search import effective_params

    return {t.number: effective_params(space, t.params) for t in (r.pareto if trials is None else trials)}


def _summary(r: SearchResult) -> dict[str, object]:
    return {
        "study": r.study,
        "trials": len(r.trials),
        "paid_calls": r.paid_calls,
        "stopped_because": r.stopped_because,
        "best": {**r.best.__dict__, "params": _shown_params(r, [r.best]).get(r.best.number, r.best.params)}
        if r.best
        else None,
        "test_score": r.test_score,
        "test_ci95": r.extra.get("test_cis", {}).get(r.best.number) if r.best else None,
        "test_scores": r.extra.get("test_scores", {}),
        "test_cis": r.extra.get("test_cis", {}),
        "baseline": r.extra.get("baseline"),
        "lift": r.extra["lift"].as_dict() if r.extra.get("lift") else None,
        "warning": r.extra.get("warning"),
        "pareto": [t.__dict__ for t in r.pareto],
        "results_dir": str(r.results_dir) if r.results_dir else None,
    }


def _table(r: SearchResult) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console() if sys.stdout.isatty() else Console(width=140)
    table = Table(title=f"{r.study}: Pareto front (score vs cost per query)")
    tests = r.extra.get("test_scores", {})
    cis = r.extra.get("test_cis", {})
    base = r.extra.get("baseline") or {}

    def test_cell(score: float | None, ci: Any) -> str:
        if score is None:
            return ""
        return f"{score:.3f} [{ci[0]:.2f}–{ci[1]:.2f}]" if ci else f"{score:.3f}"

    for col in ("trial", "dev score", "95% CI", "test score [95% CI]", "cost/q", "calls/q", "params"):
        table.add_column(col)
    if base.get("dev") is not None:
        lo, hi = base.get("dev_ci95") or (0.0, 0.0)
        table.add_row(
            "single call",
            f"{base['dev']:.3f}",
            f"{lo:.2f}–{hi:.2f}",
            test_cell(base.get("test"), base.get("test_ci95")),
            "",
            "1.0",
            "baseline: one greedy call with the user's prompt",
        )
    shown = _shown_params(r)
    for t in r.pareto:
        lo, hi = t.ci95 or (0.0, 0.0)
        table.add_row(
            str(t.number) + (" (best)" if r.best and t.number == r.best.number else ""),
            f"{t.score:.3f}",
            f"{lo:.2f}–{hi:.2f}",
            test_cell(tests.get(t.number), cis.get(t.number)),
            f"{t.cost:.4g}",
            f"{t.calls_per_query:.1f}",
            " ".join(f"{k}={v}" for k, v in shown.get(t.number, t.params).items()),
        )
    console.print(table)
    if r.best:
        tried = sum(1 for t in r.trials if t.state not in ("failed", "repeat"))
        console.print(f"{tried} trials, {r.paid_calls} paid calls; stopped: {r.stopped_because}")
        if r.extra.get("warning"):
            console.print(f"[yellow]warning: {r.extra['warning']}[/]")
        for v in (r.best.verifiers if r.best else {}).values():
            if v.get("warning"):
                console.print(f"[yellow]warning: {v['warning']}[/]")
        line = f"best: trial {r.best.number} dev {r.best.score:.3f}"
        if r.test_score is not None:
            ci = cis.get(r.best.number)
            line += f", test {test_cell(r.test_score, ci)}"
        lift = r.extra.get("lift")
        if lift is not None and base.get("test") is not None:
            line += f" vs single call {base['test']:.2f}: {lift.line()}"
        console.print(line)
    if r.results_dir:
        console.print(f"results: {r.results_dir}/best.yaml, pareto/, trials.csv, report.html")
