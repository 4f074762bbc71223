"""``archon serve`` vs the same pipeline run in process, on the embedded model, in one run.

Served: all inputs sent at once by concurrent openai-style HTTP requests to a fresh
``archon serve`` process (their calls join shared waves). In process: ``Pipeline.batch``
over the same inputs. Each side has its own empty cache, so both pay every call. Prints
the throughput ratio (in-process time / served time; goal >= 0.9) and the served p50/p95
request latency against one request alone (the pipeline's critical path, measured).

With ``--scripted SECONDS`` the pipeline (4 samples + fuse: 2 waves) runs on archon's
scripted OpenAI-compatible server (``archon.testing``; scripted text, not a model) with
that fixed latency per call, and the plan's critical path is waves x latency.

Run: python benchmarks/serve_throughput.py [--items 24] [--pipeline pipelines/local-best-of-5-vote.yaml]
     python benchmarks/serve_throughput.py --scripted 0.2 --items 64
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

import archon
from archon.testing import free_port
from archon.testing import running_server

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=24)
    ap.add_argument("--pipeline", default=str(ROOT / "pipelines" / "local-best-of-5-vote.yaml"))
    ap.add_argument("--batch-ms", type=float, default=5.0, help="archon serve --batch-ms")
    ap.add_argument("--scripted", type=float, metavar="SECONDS", help="a scripted server with this latency per call")
    args = ap.parse_args()
    if args.scripted is not None:
        from archon.testing._openai_server import ServerProcess

        with ServerProcess(latency=args.scripted) as backend:
            tmp = Path(tempfile.mkdtemp())
            path = tmp / "scripted.yaml"
            path.write_text(
                "name: scripted-sample-fuse\ndescription: 4 samples + fuse on a scripted server (not a model)\n"
                f"models:\n  m: {{model: openai/scripted, api_base: '{backend.api_base}', max_tokens: 16, concurrency: 512}}\n"
                "nodes:\n  s: {op: generate, model: m, samples: 4}\n  a: {op: fuse, model: m, inputs: [s]}\noutput: a\n"
            )
            args.pipeline = str(path)
            print(
                f"scripted server, {args.scripted:g} s per call: the plan's critical path is 2 waves = {2 * args.scripted:.2f} s"
            )
            _measure(args)
        return
    _measure(args)


def _measure(args: argparse.Namespace) -> None:
    rows = [
        json.loads(x) for x in (ROOT / "data" / "tasks" / "antonyms.jsonl").read_text().splitlines()[: args.items + 1]
    ]
    words = [str(r["input"]) for r in rows]
    alone_word, words = words[0], words[1:]
    tmp = Path(tempfile.mkdtemp())
    pipe = archon.load(args.pipeline, db=f"sqlite:///{tmp / 'inproc.db'}")
    name = pipe.spec.name
    pipe.run("warm-up")  # the model loads outside the timing, as the server's does before it serves
    t0 = time.perf_counter()
    local = pipe.batch(words)
    t_local = time.perf_counter() - t0
    pipe.close()

    port = free_port()
    base = f"http://127.0.0.1:{port}/v1"
    cmd = [sys.executable, "-m", "archon", "serve", args.pipeline, "--port", str(port), "--db", f"sqlite:///{tmp / 'served.db'}",
           "--max-queue", str(len(words) + 1), "--batch-ms", str(args.batch_ms)]  # fmt: skip
    with running_server(cmd, base, tmp, timeout_s=180):

        def ask(c: httpx.Client, w: str) -> str:
            r = c.post(base + "/chat/completions", json={"model": name, "messages": [{"role": "user", "content": w}]})
            r.raise_for_status()
            return str(r.json()["choices"][0]["message"]["content"])

        with httpx.Client(timeout=600) as c:
            ask(c, "warm-up")  # loads the model
            t = time.perf_counter()
            ask(c, alone_word)
            alone = time.perf_counter() - t

        async def burst() -> tuple[list[str], list[float]]:
            async with httpx.AsyncClient(timeout=600) as c:

                async def one(w: str) -> tuple[str, float]:
                    t = time.perf_counter()
                    r = await c.post(
                        base + "/chat/completions", json={"model": name, "messages": [{"role": "user", "content": w}]}
                    )
                    r.raise_for_status()
                    return str(r.json()["choices"][0]["message"]["content"]), time.perf_counter() - t

                got = await asyncio.gather(*(one(w) for w in words))
            return [g[0] for g in got], [g[1] for g in got]

        t0 = time.perf_counter()
        served, lat = asyncio.run(burst())
        t_served = time.perf_counter() - t0
    lat.sort()
    p50 = statistics.median(lat)
    p95 = lat[min(len(lat) - 1, int(0.95 * len(lat)))]
    same = sum(a == b for a, b in zip(local, served, strict=True))
    print(f"pipeline {name}, {len(words)} inputs, sent at once")
    print(
        f"in process: {t_local:.2f} s; served: {t_served:.2f} s; throughput ratio {t_local / t_served:.3f} (goal >= 0.9)"
    )
    print(f"served latency p50 {p50:.2f} s, p95 {p95:.2f} s; one request alone (critical path) {alone:.2f} s")
    if "scripted" in name:
        print("answers: not compared (the scripted server numbers its replies by arrival)")
    else:
        print(f"answers equal to the in-process run: {same}/{len(words)}")


if __name__ == "__main__":
    main()
