"""OptiLLM side by side with archon, on the same served model, prompts and test items.

OptiLLM (PyPI ``optillm``) is an OpenAI-compatible proxy that applies a fixed
inference-time technique chosen by a model-name prefix. Here it runs as a user would run
it: in front of ``archon serve local/gemma-3-270m``, with a counting proxy between the two
so every generation the model makes is counted. Each test item of a task that
``benchmarks/quality_lift.py --keep DIR`` searched is sent as the baseline's prompt (the
same text archon's single call sends: the written prompt with two train demonstrations),
with the baseline's max_tokens, stop and temperature 0; the answer is scored with the
task's metric — as returned, and cut at the stop string (OptiLLM's approaches drop the
client's ``stop``, so the client cuts where the server would have stopped; the kinder
number is the one reported). Approaches: ``none`` (plain proxy), ``self_consistency``, ``bon``, ``moa``.
archon's winner (test score, calls per query) comes from the same run's summary.json.

OptiLLM needs its own venv (torch, transformers: ~8 min, 7.7 GB):
    python -m venv /tmp/optillm-venv && /tmp/optillm-venv/bin/pip install optillm==0.4.0
Run: .venv/bin/python benchmarks/peers_optillm.py --keep DIR --optillm /tmp/optillm-venv/bin/optillm
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import replace
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

APPROACHES = ("none", "self_consistency", "bon", "moa")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Counter:
    def __init__(self) -> None:
        self.calls = 0
        self.lock = threading.Lock()


def counting_proxy(upstream: str, counter: Counter) -> ThreadingHTTPServer:
    """Forwards every request to ``upstream`` and counts the completions it asks for."""

    class Handler(BaseHTTPRequestHandler):
        def _forward(self, body: bytes | None) -> None:
            if body is not None and self.path.endswith(("/chat/completions", "/completions")):
                with counter.lock:
                    counter.calls += 1
            req = urllib.request.Request(upstream + self.path, data=body, method=self.command)
            req.add_header("Content-Type", self.headers.get("Content-Type", "application/json"))
            try:
                with urllib.request.urlopen(req, timeout=600) as r:
                    data, status = r.read(), r.status
            except urllib.error.HTTPError as e:
                data, status = e.read(), e.code
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802
            self._forward(None)

        def do_POST(self) -> None:  # noqa: N802
            self._forward(self.rfile.read(int(self.headers.get("Content-Length", 0))))

        def log_message(self, *_: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def wait(url: str, proc: subprocess.Popen[bytes], timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"a server exited: {proc.args}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"{url} did not answer in {timeout} s")


def chat(base: str, model: str, prompt: str, max_tokens: int, stop: list[str]) -> str:
    body = {
        "model": model,
        "messages": [{"role": "user", "content": prompt}],
        "max_tokens": max_tokens,
        "temperature": 0.0,
        "stop": stop,
    }
    req = urllib.request.Request(
        base + "/chat/completions",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": "Bearer x"},
    )
    try:
        with urllib.request.urlopen(req, timeout=600) as r:
            out = json.loads(r.read())
    except urllib.error.HTTPError as e:
        return f"<error {e.code}>"
    return str(out["choices"][0]["message"].get("content") or "")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--keep", required=True, help="the --keep DIR of benchmarks/quality_lift.py")
    ap.add_argument("--optillm", required=True, help="the optillm executable (its own venv)")
    ap.add_argument("--tasks", help="comma-separated (default: every task in DIR/results)")
    ap.add_argument("--approaches", default=",".join(APPROACHES))
    args = ap.parse_args()

    from archon.evaluate import get_metric
    from archon.operators._base import Prompter
    from archon.search import parse_space_file
    from archon.search._demos import DemoPool

    keep = Path(args.keep)
    tasks = sorted(p.name for p in (keep / "results").iterdir() if (p / "summary.json").exists())
    if args.tasks:
        tasks = [t for t in tasks if t in args.tasks.split(",")]
    serve_port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "archon", "serve", "local/gemma-3-270m", "--port", str(serve_port), "--n-ctx", "4096"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    counter = Counter()
    proxy = counting_proxy(f"http://127.0.0.1:{serve_port}", counter)
    opt_port = free_port()
    env = {**os.environ, "OPENAI_API_KEY": "x"}
    base_url = f"http://127.0.0.1:{proxy.server_address[1]}/v1"
    opt = subprocess.Popen(
        [args.optillm, "--base-url", base_url, "--port", str(opt_port), "--log", "error"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        wait(f"http://127.0.0.1:{serve_port}/v1/models", server)
        wait(f"http://127.0.0.1:{opt_port}/health", opt)
        prompter = Prompter()
        for task in tasks:
            space = parse_space_file(keep / "results" / task / "space.yaml")
            train, _, test = space.splits()
            space = replace(space, pool=DemoPool(train.examples))
            base = space.baseline_data()
            node = next(iter(base["nodes"].values()))
            model = next(iter(base["models"].values()))
            metric = get_metric(space.metric)
            summary = json.loads((keep / "results" / task / "summary.json").read_text())
            row = [
                f"{task:<12} archon winner {summary['test_score']:.3f} "
                f"({summary['best']['calls_per_query']:.1f} calls/q), single call {summary['baseline']['test']:.3f}"
            ]
            for approach in args.approaches.split(","):
                name = "gemma-3-270m" if approach == "none" else f"{approach}-gemma-3-270m"
                before = counter.calls
                import asyncio

                scores: list[float] = []
                raw: list[float] = []
                for ex in test.examples:
                    prompt = prompter.render(node["template"], dict(ex.fields), task)
                    out = chat(
                        f"http://127.0.0.1:{opt_port}/v1", name, prompt, model["max_tokens"], model.get("stop", [])
                    )
                    raw.append(asyncio.run(metric.score(out, ex, None, None)) or 0.0)
                    for stop in model.get("stop", []):  # OptiLLM drops the client's stop: cut where the server would
                        out = out.split(stop, 1)[0] if stop else out
                    scores.append(asyncio.run(metric.score(out, ex, None, None)) or 0.0)
                calls = (counter.calls - before) / max(1, len(test))
                row.append(
                    f"optillm {approach} {sum(scores) / max(1, len(scores)):.3f} "
                    f"(as returned {sum(raw) / max(1, len(raw)):.3f}; {calls:.1f} calls/q)"
                )
            print("  ".join(row), flush=True)
    finally:
        for p in (opt, server):
            p.terminate()
        proxy.shutdown()


if __name__ == "__main__":
    main()
