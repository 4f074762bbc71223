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
from pathlib import Path

import archon
from archon.evaluate import paired_bootstrap_ci
from archon.operators import normalize_answer

ROOT = Path(__file__).resolve().parent.parent
TASKS = {
    "antonyms": ("Word", "Opposite", "the opposite of the word '{{ input }}'"),
    "capitals": ("Country", "Capital", "What is the capital of {{ input }}?"),
    "plurals": ("Noun", "Plural", "the plural of the noun '{{ input }}'"),
}
SHOTS = 4


def pipeline(task: str, samples: int, method: str) -> str:
    rows = [json.loads(x) for x in (ROOT / "data" / "tasks" / f"{task}.jsonl").read_text().splitlines()]
    q, a, question = TASKS[task]
    demos = "".join(f"{q}: {r['input']}\\n{a}: {r['answer']}\\n" for r in rows[:SHOTS])
    head = (
        f"name: {task}-{method}\n"
        "models:\n"
        '  gemma: {model: local/gemma-3-270m, temperature: 0.8, max_tokens: 12, stop: ["\\n"]}\n'
        '  judge: {model: local/gemma-3-270m, temperature: 0.0, max_tokens: 24, stop: ["\\n"]}\n'
        "nodes:\n"
        f'  pool: {{op: generate, model: gemma, samples: {samples}, template: "{demos}{q}: {{{{ input }}}}\\n{a}:"}}\n'
    )
    if method == "vote":
        return head + "  answer: {op: vote, inputs: [pool]}\noutput: answer\n"
    return head + (
        f'  answer: {{op: rank, model: judge, inputs: [pool], method: {method}, top_k: 1, template: "{question}"}}\n'
        "output: answer\n"
    )


def score(task: str, text: str, db: str, limit: int | None) -> tuple[list[float], float]:
    rows = [json.loads(x) for x in (ROOT / "data" / "tasks" / f"{task}.jsonl").read_text().splitlines()][SHOTS:]
    rows = rows[:limit] if limit else rows
    with archon.load(text, db=db) as p:
        result = p.execute(rows)
    right = [
        float(normalize_answer(i.output or "", "text") == normalize_answer(str(r["answer"]), "text"))
        for r, i in zip(rows, result.items, strict=True)
    ]
    calls = sum(i.usage.paid_calls + i.usage.cached_calls for i in result.items) / len(rows)
    return right, calls


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
            vote, vote_calls = score(task, pipeline(task, args.samples, "vote"), db, args.limit)
            out = {"task": task, "items": len(vote), "samples": args.samples}
            out["vote"] = {"accuracy": round(sum(vote) / len(vote), 3), "calls_per_query": round(vote_calls, 2)}
            for method in ("list", "pairwise"):
                acc, calls = score(task, pipeline(task, args.samples, method), db, args.limit)
                diff, lo, hi = paired_bootstrap_ci(acc, vote)
                out[f"rank_{method}"] = {
                    "accuracy": round(sum(acc) / len(acc), 3),
                    "vs_vote": [round(diff, 3), round(lo, 3), round(hi, 3)],
                    "calls_per_query": round(calls, 2),
                }
            print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
