"""``archon tune``: tune a pipeline's prompts with DSPy under a budget; write them back."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from archon.errors import ConfigurationError


@contextlib.contextmanager
def _local_server(models: set[str]) -> Iterator[str | None]:
    """Starts ``archon serve`` for the pipeline's local/ model (stopped at the end)."""
    if not models:
        yield None
        return
    if len(models) > 1:
        raise ConfigurationError(
            f"archon tune serves one local model by itself, this pipeline has {len(models)} — start "
            "'archon serve' for each and pass --api-base"
        )
    import socket
    import tempfile

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    base = f"http://127.0.0.1:{port}/v1"
    log = tempfile.NamedTemporaryFile(prefix="archon-serve-", suffix=".log", delete=False)  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "archon", "serve", next(iter(models)), "--port", str(port), "--n-ctx", "4096"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait(proc, base, Path(log.name))
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _wait(proc: subprocess.Popen[bytes], base: str, log: Path, timeout: float = 180.0) -> None:
    import time
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ConfigurationError(f"archon serve stopped: {log.read_text(errors='replace')[-1500:]}")
        try:
            with urllib.request.urlopen(base + "/models", timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise ConfigurationError(f"archon serve did not answer within {timeout:.0f} s (log: {log})")


def run_tune(args: argparse.Namespace) -> int:
    from archon.cli._eval import load_dataset
    from archon.evaluate import get_metric
    from archon.operators import node_types
    from archon.operators import operator_types
    from archon.spec import parse_pipeline_file

    os.environ.setdefault("TQDM_DISABLE", "1")  # DSPy's progress bars: archon prints its own lines
    try:
        import dspy

        from archon.tune import tune
    except ImportError:
        raise ConfigurationError("archon tune needs DSPy: pip install 'archon[dspy]'") from None
    if not args.verbose:
        dspy.disable_logging()
    path = Path(args.pipeline)
    spec = parse_pipeline_file(path, node_types(operator_types()))
    dataset, default_metric = load_dataset(args, spec)
    metric = get_metric(args.metric or spec.metric or default_metric)
    block = spec.dataset
    frac = args.dev_fraction if args.dev_fraction is not None else (block.dev if block else 0.5)
    seed = args.seed if args.seed is not None else (block.seed if block else 0)
    try:
        dev = dataset.split("dev", frac, seed).head(args.limit)
        test = dataset.split("test", frac, seed).head(args.limit)
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from None
    local = {m.model for m in spec.models.values() if m.model.startswith("local/")}
    local |= {
        str(getattr(n, "model", "")) for n in spec.nodes.values() if str(getattr(n, "model", "")).startswith("local/")
    }
    out = Path(args.output) if args.output else path.with_name(path.stem + ".tuned.yaml")

    err = sys.stderr

    def log(msg: str) -> None:
        if not args.json:
            print(msg, file=err, flush=True)

    server = contextlib.nullcontext(args.api_base) if args.api_base or not local else _local_server(local)
    quiet = contextlib.ExitStack()
    if not args.verbose:  # DSPy's progress bars, prints and warnings: only with --verbose
        quiet.enter_context(contextlib.redirect_stderr(io.StringIO()))
        quiet.enter_context(contextlib.redirect_stdout(io.StringIO()))
    with server as base, quiet:
        if base:
            log(f"local models through {base}")
        result = tune(
            spec,
            path.read_text(encoding="utf-8"),
            dev,
            test,
            metric,
            budget_calls=args.budget_calls,
            budget_tokens=args.budget_tokens,
            budget_usd=args.budget_usd,
            optimizer=args.optimizer,
            candidates=args.candidates,
            demos=args.demos,
            trials=args.trials,
            local_api_base=base,
            prompt_model=args.prompt_model,
            prompt_api_base=args.prompt_api_base,
            out_dir=out.parent,
            seed=seed,
            log=log,
        )
    if result.changed:
        out.write_text(result.yaml_text, encoding="utf-8")
    summary = {
        "pipeline": str(path),
        "optimizer": result.plan,
        "dev": {"before": result.before["dev"], "after": result.after["dev"], "n": len(dev)},
        "test": {"before": result.before["test"], "after": result.after["test"], "n": len(test)},
        "changed": result.changed,
        "spent": result.spent,
        "written": str(out) if result.changed else None,
    }
    if args.json:
        print(json.dumps(summary, ensure_ascii=False))
        return 0
    print(f"{path.name} · {result.plan['optimizer']} · metric {metric.name}")
    print(f"  dev  ({len(dev):>3} items): {result.before['dev']:.3f} → {result.after['dev']:.3f}")
    print(f"  test ({len(test):>3} items): {result.before['test']:.3f} → {result.after['test']:.3f}")
    spent, budget = result.spent, result.spent["budget"]
    caps = ", ".join(f"{k} {v}" for k, v in budget.items() if v is not None)
    print(
        f"  spent: {spent['calls']} calls, {spent['tokens']} tokens, ${spent['usd']:.6f} (budget: {caps}); "
        f"{spent['cached']} answered from DSPy's cache"
    )
    for node, (_, after) in result.instructions.items():
        mark = "tuned" if node in result.changed else "kept"
        print(f"  {node}: {mark}" + (f" → {_short(after)}" if node in result.changed else ""))
    if spent["refused"]:
        print(f"  note: {spent['refused']} calls were refused by the budget; the scores after that are partial")
    if result.changed:
        print(f"wrote {out} — check it with: archon eval {out} --split test")
    else:
        print("no instruction changed; nothing written")
    return 0


def _short(text: str, n: int = 90) -> str:
    one = " ".join(text.split())
    return one if len(one) <= n else one[: n - 1] + "…"
