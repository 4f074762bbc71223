"""Executor efficiency: a 3-wave pipeline (generate ×3 → rank → fuse: 5 calls per query)
over 200 queries against a local fixed-latency OpenAI-compatible server (its own process).

Prints, for each latency, measured in one run:
- ratio = archon's wall time / the critical-path bound (waves × latency: what an
  executor with unlimited concurrency and zero overhead would need). Goal ≤ 1.10.
- floor = the same request pattern (the same bursts per wave) sent by a bare aiohttp
  loop with no executor, cache, store or budget: what this machine's transport costs.
  archon/floor isolates the executor's own overhead.

Run: python benchmarks/executor_efficiency.py [--queries 200] [--latency 1 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path

import archon
from archon.testing import ServerProcess

PIPELINE = """\
name: bench-3-waves
models:
  m: {{model: openai/bench, api_base: "{api_base}", max_tokens: 16, concurrency: 4096, temperature: 0.7}}
nodes:
  samples: {{op: generate, model: m, samples: 3}}
  ranked: {{op: rank, model: m, top_k: 2, inputs: [samples]}}
  answer: {{op: fuse, model: m, inputs: [ranked]}}
output: answer
"""


async def _floor(api_base: str, bursts: list[int]) -> float:
    import aiohttp

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as s:

        async def one(i: int) -> None:
            body = {
                "model": "bench",
                "messages": [{"role": "user", "content": f"question {i} " * 20}],
                "max_tokens": 16,
            }
            async with s.post(f"{api_base}/chat/completions", json=body) as r:
                await r.json()

        t0 = time.perf_counter()
        for n in bursts:
            await asyncio.gather(*(one(i) for i in range(n)))
        return time.perf_counter() - t0


def measure(queries: int, latency: float) -> dict[str, float]:
    with ServerProcess(latency=latency) as srv, tempfile.TemporaryDirectory() as tmp:
        db = f"sqlite:///{Path(tmp) / 'bench.db'}"
        with archon.load(PIPELINE.format(api_base=srv.api_base), db=db, cache=False) as p:
            waves = len(p.plan.waves)
            p.execute(["warm-up"])  # imports, first connection
            t0 = time.perf_counter()
            result = p.execute([f"question {i}" for i in range(queries)])
            wall = time.perf_counter() - t0
        assert not result.failed, result.failed[:3]
        floor = asyncio.run(_floor(srv.api_base, [3 * queries, queries, queries]))
        inflight = srv.stats()["max_inflight"]
    bound = waves * latency
    return {
        "queries": queries,
        "latency_s": latency,
        "calls": result.usage.paid_calls,
        "server_max_inflight": inflight,
        "wall_s": round(wall, 3),
        "critical_path_s": bound,
        "ratio": round(wall / bound, 3),
        "floor_s": round(floor, 3),
        "archon_over_floor": round(wall / floor, 3),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--latency", type=float, nargs="+", default=[1.0, 5.0])
    args = ap.parse_args()
    for latency in args.latency:
        r = measure(args.queries, latency)
        print(json.dumps(r))
        print(
            f"latency {latency:.1f} s: wall {r['wall_s']:.2f} s / critical path {r['critical_path_s']:.2f} s "
            f"= {r['ratio']:.3f} (goal ≤ 1.10); bare transport floor {r['floor_s']:.2f} s, "
            f"archon / floor = {r['archon_over_floor']:.3f}"
        )


if __name__ == "__main__":
    main()
