"""``archon eval``: score a pipeline on a dataset."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from archon.cli._jsonl import jsonl_writer
from archon.errors import ConfigurationError
from archon.evaluate import Dataset
from archon.evaluate import EvalResult
from archon.spec import PipelineSpec


def run_eval(args: argparse.Namespace) -> int:
    import archon
    from archon.backends import Limits
    from archon.evaluate import aevaluate
    from archon.evaluate import get_metric
    from archon.evaluate import make_judge

    db = args.db
    pipeline = archon.load(
        args.pipeline,
        db=db,
        limits=Limits(args.max_calls, args.max_tokens, args.max_usd),
        progress=not args.no_progress and not args.json,
    )
    block = pipeline.spec.dataset
    dataset, default_metric = load_dataset(args, pipeline.spec)
    metric = get_metric(args.metric or pipeline.spec.metric or default_metric)
    judge = make_judge(pipeline, args.judge_model) if args.judge_model else None
    dev = args.dev_fraction if args.dev_fraction is not None else (block.dev if block else 0.5)
    seed = args.seed if args.seed is not None else (block.seed if block else 0)
    try:
        dataset = dataset.split(args.split, dev, seed).head(args.limit)
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from None
    if not dataset.examples:
        raise ConfigurationError(f"the {args.split} split of {dataset.name} is empty — use --split all or more data")
    runs_code = metric.needs_sandbox or any(n.spec.op == "unit_test_evaluate" for n in pipeline.plan.nodes.values())
    sandbox = None
    if runs_code:
        from archon.sandbox import default_sandbox

        sandbox = default_sandbox()
        print(f"sandbox: {sandbox.isolation}", file=sys.stderr)
    with jsonl_writer(args.out) as write, pipeline:
        evaluation = aevaluate(
            pipeline,
            dataset,
            metric,
            sandbox=sandbox,
            judge=judge,
            pass_at=args.pass_at,
            on_item=lambda item: write(item.as_dict()),
        )
        result = pipeline._sync(evaluation)
    if args.json:
        print(json.dumps(result.summary(), ensure_ascii=False))
    else:
        _table(result)
    failed = result.summary()["failed_items"]
    if failed:  # as archon run does: a score over failed items is not the whole story
        first = next(i.error for i in result.items if i.error)
        print(f"error: {failed} of {len(result.items)} items failed (scored 0); the first: {first}", file=sys.stderr)
        return 1
    return 0


def _table(result: EvalResult) -> None:
    from rich.console import Console
    from rich.table import Table

    s = result.summary()
    u = s["usage"]
    table = Table(title=f"{s['dataset']} · {s['metric']}", show_header=True)
    for col in ("n", "score", "95% CI", "failed", "calls paid", "cached", "tokens", "cost $", "wall s"):
        table.add_column(col, justify="right")
    table.add_row(
        str(s["n"]),
        f"{s['score']:.3f}",
        f"{s['ci95'][0]:.3f}–{s['ci95'][1]:.3f}",
        str(s["failed_items"]),
        str(u["calls"]["paid"]),
        str(u["calls"]["cached"]),
        str(u["tokens"]["prompt"] + u["tokens"]["completion"]),
        f"{u['cost_usd']:.4f}",
        f"{u['wall_s']:.1f}",
    )
    console = Console() if sys.stdout.isatty() else Console(width=120)
    console.print(table)
    for k, v in s.get("pass_at", {}).items():
        console.print(f"pass@{k} (coverage@{k}) from the candidate pool: {v:.3f}")
    for node, v in result.verifiers.items():

        def f(x: float | None) -> str:
            return "–" if x is None else f"{x:.2f}"

        console.print(
            f"verifier {node}: precision {f(v.precision)} · recall {f(v.recall)} · false-positive rate "
            f"{f(v.false_positive_rate)} over {v.judged} candidates (base rate {v.base_rate:.2f})"
        )
        if (why := v.warning()) is not None:
            print(f"warning: {why}", file=sys.stderr)


def load_dataset(args: argparse.Namespace, spec: PipelineSpec) -> tuple[Dataset, str]:
    """The dataset of ``--dataset``/``--benchmark`` or the pipeline's ``dataset:`` block,
    and the metric it implies."""
    from archon.evaluate import BENCHMARKS
    from archon.evaluate import load_benchmark
    from archon.evaluate import load_file

    block = spec.dataset
    benchmark = args.benchmark or (block.benchmark if block and not args.dataset else None)
    if benchmark:
        dataset = load_benchmark(benchmark)
        for note in dataset.notes:
            print(f"note: {benchmark}: {note}", file=sys.stderr)
        return dataset, BENCHMARKS[benchmark].metric
    path = args.dataset or (block.path if block else None)
    if not path:
        raise ConfigurationError(
            "no dataset: pass --dataset FILE.jsonl or --benchmark NAME, or add dataset: {path: ...} to the pipeline"
        )
    if not args.dataset and spec.file != "<string>":
        path = str(Path(spec.file).parent / path)
    input_field = args.input_field or (block.input if block else "input")
    answer_field = args.answer_field or (block.answer if block else "answer")
    return load_file(path, input_field, answer_field), "exact"
