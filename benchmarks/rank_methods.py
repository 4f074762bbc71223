"""Picking among the same candidates: vote vs list-wise rank vs pairwise rank (both orders,
Bradley-Terry), on the embedded model (gemma-3-270m) over built-in task sets.

Every method sees the same pool: N samples (few-shot, T=0.8, sample-indexed, so the pool
is drawn once and replayed from the cache). The judge is the same model, greedy. Reported:
accuracy of each method, its difference from the vote with a paired bootstrap 95 %
interval, and the calls per query (pool + judge).

Run: python benchmarks/rank_methods.py [--tasks capitals antonyms] [--samples 4] [--limit N]
"""

from __future__ import annotations

import argparse
import json
import tempfile

from _tasks import QUESTIONS
from _tasks import few_shot
from _tasks import score
from _tasks import scored_rows
from _tasks import yaml_str

from archon.evaluate import paired_bootstrap_ci


def pipeline(task: str, samples: int, method: str) -> str:
    head = (
        f"name: {task}-{method}\n"
        "models:\n"
        '  gemma: {model: local/gemma-3-270m, temperature: 0.8, max_tokens: 12, stop: ["\\n"]}\n'
        '  judge: {model: local/gemma-3-270m, temperature: 0.0, max_tokens: 24, stop: ["\\n"]}\n'
        "nodes:\n"
        f"  pool: {{op: generate, model: gemma, samples: {samples}, template: {yaml_str(few_shot(task))}}}\n"
    )
    if method == "vote":
        return head + "  answer: {op: vote, inputs: [pool]}\noutput: answer\n"
    return head + (
        f"  answer: {{op: rank, model: judge, inputs: [pool], method: {method}, top_k: 1, "
        f"template: {yaml_str(QUESTIONS[task])}}}\n"
        "output: answer\n"
    )


def run(task: str, text: str, db: str, limit: int | None) -> tuple[list[float], float]:
    right, calls = score(text, scored_rows(task, limit), db)
    return right, sum(calls) / len(calls)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tasks", nargs="+", default=["capitals", "antonyms"])
    ap.add_argument("--samples", type=int, default=4)
    ap.add_argument("--limit", type=int)
    ap.add_argument("--db", help="a call cache to keep between runs (default: a temporary one)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or f"sqlite:///{tmp}/rank.db"
        for task in args.tasks:
            vote, vote_calls = run(task, pipeline(task, args.samples, "vote"), db, args.limit)
            out = {"task": task, "items": len(vote), "samples": args.samples}
            out["vote"] = {"accuracy": round(sum(vote) / len(vote), 3), "calls_per_query": round(vote_calls, 2)}
            for method in ("list", "pairwise"):
                acc, calls = run(task, pipeline(task, args.samples, method), db, args.limit)
                diff, lo, hi = paired_bootstrap_ci(acc, vote)
                out[f"rank_{method}"] = {
                    "accuracy": round(sum(acc) / len(acc), 3),
                    "vs_vote": [round(diff, 3), round(lo, 3), round(hi, 3)],
                    "calls_per_query": round(calls, 2),
                }
            print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
