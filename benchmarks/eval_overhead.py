"""Eval overhead per item on cached calls: `archon eval` of a best-of-5 + vote pipeline
on the embedded model, run twice; the second run makes no model call, so its wall time
per item is what archon itself costs (load, plan, cache look-ups, scoring, records).

Run: python benchmarks/eval_overhead.py [--repeat 4]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path

import archon
from archon.evaluate import Dataset
from archon.evaluate import aevaluate
from archon.evaluate import get_metric
from archon.evaluate import load_file

ROOT = Path(__file__).resolve().parent.parent


async def main_async(repeat: int) -> None:
    base = load_file(ROOT / "data" / "antonyms.jsonl").examples + load_file(ROOT / "data" / "capitals.jsonl").examples
    ds = Dataset("antonyms+capitals", base)
    with tempfile.TemporaryDirectory() as tmp:
        p = archon.load(ROOT / "pipelines" / "local-best-of-5-vote.yaml", db=f"sqlite:///{tmp}/e.db")
        try:
            t0 = time.perf_counter()
            cold = await aevaluate(p, ds, get_metric("normalized"))
            cold_s = time.perf_counter() - t0
            warm = []
            for _ in range(repeat):
                t0 = time.perf_counter()
                r = await aevaluate(p, ds, get_metric("normalized"))
                warm.append(time.perf_counter() - t0)
                assert r.usage.paid_calls == 0
        finally:
            await p.aclose()
    n = len(ds)
    best = min(warm)
    print(
        json.dumps(
            {
                "items": n,
                "calls_per_item": 5,
                "first_run_s": round(cold_s, 2),
                "cached_runs_s": [round(w, 3) for w in warm],
                "score": round(cold.score, 3),
            }
        )
    )
    print(
        f"eval overhead on cached calls: {best / n * 1000:.1f} ms per item ({n} items, 5 cached calls each); "
        f"first run {cold_s / n * 1000:.0f} ms per item with the model"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=4)
    asyncio.run(main_async(ap.parse_args().repeat))


if __name__ == "__main__":
    main()
