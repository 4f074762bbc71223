"""The ``archon`` command line: validate, schema, run."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from typing import Any

from archon.cli._jsonl import jsonl_writer
from archon.cli._parser import build_parser
from archon.errors import ArchonError
from archon.errors import ConfigurationError
from archon.errors import SpecError


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        stream=sys.stderr,
        format="%(levelname)s %(name)s: %(message)s",
    )
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    os.environ.setdefault("LITELLM_LOG", "ERROR")
    try:
        if args.command == "validate":
            return _validate(args.files)
        if args.command == "schema":
            return _schema(args.output, args.format)
        if args.command == "tune":
            from archon.cli._tune import run_tune

            return run_tune(args)
        if args.command == "serve":
            from archon.cli._serve import serve

            return serve(args)
        if args.command == "show":
            from archon.cli._optimize import run_show

            return run_show(args)
        if args.command == "export":
            return _export(args)
        if args.command == "rank-models":
            from archon.cli._optimize import run_rank_models

            return run_rank_models(args)
        if args.command == "optimize":
            from archon.cli._optimize import run_optimize

            return run_optimize(args)
        if args.command == "eval":
            from archon.cli._eval import run_eval

            return run_eval(args)
        return _run(args)
    except SpecError as exc:
        for p in exc.problems:
            print(f"error: {p}", file=sys.stderr)
        return 2
    except ConfigurationError as exc:
        for line in str(exc).splitlines():
            print(f"error: {line}", file=sys.stderr)
        return 2
    except OSError as exc:  # a file that cannot be read or written, found late
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"error: {where}{exc.strerror or exc} — check the path and permissions", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: every paid call so far is saved; run again to resume from the cache", file=sys.stderr)
        return 130
    except ArchonError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # a bug: one line, the traceback only on request
        if os.environ.get("ARCHON_DEBUG"):
            raise
        from archon.errors import redact

        print(
            redact(f"internal error: {type(exc).__name__}: {exc} (set ARCHON_DEBUG=1 for the traceback)"),
            file=sys.stderr,
        )
        return 1


def _is_space_file(path: str) -> bool:
    """A search-space file has a pipeline: template, an archon: block or a space:."""
    from archon.spec import load_yaml
    from archon.spec import read_source

    try:
        data, _ = load_yaml(read_source(path), path)
    except SpecError:
        return False
    return isinstance(data, dict) and any(k in data for k in ("pipeline", "archon", "space"))


def _validate(files: list[str]) -> int:
    from archon.graph import build_graph
    from archon.operators import node_types
    from archon.operators import operator_types
    from archon.plan import make_plan
    from archon.spec import parse_pipeline_file

    types = node_types(operator_types())
    bad = 0
    for f in files:
        if _is_space_file(f):
            from archon.search import parse_space_file

            try:
                space = parse_space_file(f, types)
            except SpecError as exc:
                bad += 1
                for p in exc.problems:
                    print(f"error: {p}", file=sys.stderr)
                continue
            print(
                f"ok: {f}: search space with {len(space.params)} parameter(s)"
                + (f", {len(space.demos)} demos block(s)" if space.demos else "")
                + f", strategy {space.strategy}"
            )
            continue
        try:
            spec = parse_pipeline_file(f, types)
            graph = build_graph(spec)
            plan = make_plan(graph)
            _check_models(graph)
            _check_budget(spec, plan)
        except SpecError as exc:
            bad += 1
            for p in exc.problems:
                print(f"error: {p}", file=sys.stderr)
            continue
        unused = [n for n, spec in plan.graph.spec.nodes.items() if spec.enabled and n not in plan.nodes]
        for n in unused:
            print(
                f"warning: {f}: node '{n}' does not lead to the output '{plan.output}' and will not run",
                file=sys.stderr,
            )
        print(
            f"ok: {f}: {len(plan.nodes)} node(s) in {len(plan.waves)} wave(s), "
            f"at most {plan.cost.calls} call(s) per query"
        )
    return 2 if bad else 0


def _check_models(graph: Any) -> None:
    """Model strings no backend serves (unknown provider, blanks), located: every alias,
    and every model string a node names inline (as the graph resolved them)."""
    from archon.backends import model_problem

    spec = graph.spec
    fix = "write provider/model, e.g. openai/gpt-4o-mini, local/gemma-3-270m, vllm/<id>"
    found: list[tuple[tuple[str, ...], Any]] = [(("models", a, "model"), ms) for a, ms in spec.models.items()]
    for nid, names in graph.model_names.items():
        found += [(("nodes", nid), ms) for n, ms in zip(names, graph.models[nid], strict=True) if n not in spec.models]
    problems = [spec.problem(path, why, fix) for path, ms in found if (why := model_problem(ms)) is not None]
    if problems:
        raise SpecError(problems)


def _check_budget(spec: Any, plan: Any) -> None:
    """The file's own per-query budget against the plan's worst case, located."""
    from archon.backends import Limits
    from archon.backends import ModelClient
    from archon.errors import ConfigurationError
    from archon.execute import static_check
    from archon.store import Store

    own = spec.budget.per_query if spec.budget and spec.budget.per_query else None
    if own is None:
        return
    store = Store("sqlite://")  # prices only: no call is made
    try:
        static_check(plan, Limits.of(own), ModelClient(store))
    except ConfigurationError as exc:
        problems = []
        for line in str(exc).splitlines():
            what, _, fix = line.partition(" — ")
            problems.append(spec.problem(("budget", "per_query"), what, fix or "raise the budget"))
        raise SpecError(problems) from None
    finally:
        store.close()


def _schema(output: str | None, fmt: str = "json") -> int:
    from archon.operators import node_types
    from archon.operators import operator_types
    from archon.spec import markdown_reference
    from archon.spec import pipeline_json_schema

    types = node_types(operator_types())
    if fmt == "markdown":
        text = markdown_reference(types).rstrip("\n")
    else:
        text = json.dumps(pipeline_json_schema(types), indent=2)
    if output:
        with open(output, "w", encoding="utf-8") as f:
            f.write(text + "\n")
    else:
        print(text)
    return 0


def _run(args: argparse.Namespace) -> int:
    import archon
    from archon.backends import Limits
    from archon.evaluate import load_file

    items: list[Any]
    if args.dataset:
        dataset = load_file(args.dataset, args.input_field, None, require_answer=False).head(args.limit)
        items = [dict(e.fields) for e in dataset.examples]
    else:
        items = list(args.input)
    limits = Limits(args.max_calls, args.max_tokens, args.max_usd)
    db = args.db
    pipeline = archon.load(
        args.pipeline, db=db, cache=not args.no_cache, limits=limits, progress=not args.no_progress and not args.json
    )
    with jsonl_writer(args.out) as write, pipeline:
        result = pipeline.execute(items, on_item=lambda r: write(r.as_dict()))
    if args.json:
        print(json.dumps(result.summary(), ensure_ascii=False))
    else:
        for r in result.items:
            prefix = f"[{r.index}] " if len(result.items) > 1 else ""
            print(prefix + (r.output if r.output is not None else "<failed>"))
        u = result.usage
        print(
            f"{len(result.items)} items, {len(result.failed)} failed · calls: {u.paid_calls} paid, "
            f"{u.cached_calls} cached, {u.failed_calls} failed attempts"
            + (f", {u.cancelled_calls} cancelled (first-finish)" if u.cancelled_calls else "")
            + f" · tokens: {u.prompt_tokens} prompt + "
            f"{u.completion_tokens} completion · ${u.cost_usd:.6f} · {result.wall_s:.2f} s",
            file=sys.stderr,
        )
    for r in result.failed:
        print(f"item {r.index} failed: {r.error}", file=sys.stderr)
    return 1 if result.failed else 0


def _export(args: argparse.Namespace) -> int:
    from archon.export import export_python
    from archon.export import read_export_source

    if args.standalone and args.format != "python":
        raise ConfigurationError("--standalone is for --format python (a DSPy program always needs dspy)")
    src = read_export_source(args.source, args.trial, args.db)
    if args.format == "dspy":
        from pathlib import Path

        from archon.export import write_dspy

        if not args.output:
            raise ConfigurationError("--format dspy writes a module and its saved state: give -o FILE.py")
        state = write_dspy(src.spec, Path(args.output), source_text=src.text, provenance=src.provenance)
        print(f"wrote {args.output} (a dspy.Module) and {state} (prog.save())", file=sys.stderr)
        return 0
    if args.standalone:
        from archon.export import export_standalone

        code = export_standalone(src.spec, source_text=src.text, provenance=src.provenance)
    else:
        code = export_python(src.spec, source_text=src.text, provenance=src.provenance)
    if args.output:
        from pathlib import Path

        Path(args.output).write_text(code, encoding="utf-8")
        print(f'wrote {args.output}: run() / arun() / batch(), or python {args.output} "INPUT"', file=sys.stderr)
    else:
        sys.stdout.write(code)
    return 0
