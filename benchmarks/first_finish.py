"""First-finish sampling vs waiting for every sample, against a local OpenAI-compatible
server whose latencies spread log-normally (the scripted server: a protocol peer, not a
model — what is measured is latency and calls, not answers).

Each configuration gets a fresh server (so request i has the same latency in every one)
and a fresh cache, and runs the queries one at a time: ``samples: N`` + vote, waiting for
all N, against ``first: K`` (the first K to finish kept, the rest cancelled). Reported per
configuration: per-query wall time p50/p95, and calls sent (paid + cancelled: a hosted API
may bill a cancelled call's tokens) and kept.

Run: python benchmarks/first_finish.py [--queries 40] [--samples 8] [--first 2 4] [--latency 0.3] [--spread 0.8]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile

import archon
from archon.testing import ServerProcess


def body(samples: int, first: int | None) -> str:
    opt = f", first: {first}" if first else ""
    return (
        "nodes:\n"
        f"  g: {{op: generate, model: m, samples: {samples}, temperature: 0.8{opt}}}\n"
        "  v: {op: vote, inputs: [g]}\n"
        "output: v\n"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--queries", type=int, default=40)
    ap.add_argument("--samples", type=int, default=8)
    ap.add_argument("--first", type=int, nargs="+", default=[2, 4])
    ap.add_argument("--latency", type=float, default=0.3, help="median seconds per request")
    ap.add_argument("--spread", type=float, default=0.8, help="sigma of the log-normal latency")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for first in [None, *args.first]:
            with ServerProcess(latency=args.latency, latency_spread=args.spread) as srv:
                head = f'models:\n  m: {{model: openai/scripted, api_base: "{srv.api_base}", max_tokens: 16}}\n'
                db = f"sqlite:///{tmp}/ff-{first}.db"
                walls: list[float] = []
                paid = cancelled = kept = 0
                with archon.load(head + body(args.samples, first), db=db) as p:
                    p.execute(["warm-up"])  # the client's first-use start-up is not the method's
                    for i in range(args.queries):
                        r = p.execute([f"query {i}"])
                        walls.append(r.wall_s)
                        u = r.items[0].usage
                        paid, cancelled = paid + u.paid_calls, cancelled + u.cancelled_calls
                        kept += len(r.items[0].candidates)
            q = statistics.quantiles(walls, n=20)
            print(
                json.dumps(
                    {
                        "samples": args.samples,
                        "first": first,
                        "queries": args.queries,
                        "latency_median_s": args.latency,
                        "spread": args.spread,
                        "wall_p50_s": round(statistics.median(walls), 3),
                        "wall_p95_s": round(q[18], 3),
                        "calls_sent_per_query": round((paid + cancelled) / args.queries, 2),
                        "calls_paid_per_query": round(paid / args.queries, 2),
                        "calls_cancelled_per_query": round(cancelled / args.queries, 2),
                        "candidates_kept_per_query": round(kept / args.queries, 2),
                    }
                ),
                flush=True,
            )


if __name__ == "__main__":
    main()
