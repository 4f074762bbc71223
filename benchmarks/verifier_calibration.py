"""Verifier calibration: how good is a verify node, and does a k-of-m rule help?

On the embedded model (gemma-3-270m) over built-in task sets (110-140 items): N samples
(few-shot, T=0.8) then a vote — the baseline — against the same samples verified by the
same model before the vote, with 1 judgment and with M judgments under a k-of-m rule
(samples 0..M-1 of the verify call at T=0.7). For each verifier: its precision, recall and
false-positive rate against gold over every candidate it judged (what ``archon eval``
reports), the accuracy difference from the plain vote with a paired bootstrap 95 %
interval, and the calls per query. Samples are sample-indexed, so every run reuses the
baseline's samples from the cache (calls counted: paid + cached).

Run: python benchmarks/verifier_calibration.py [--tasks capitals antonyms] [--samples 4] [--judgments 3]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from _tasks import LABELS
from _tasks import few_shot
from _tasks import scored_rows
from _tasks import yaml_str

import archon
from archon.evaluate import aevaluate
from archon.evaluate import get_metric
from archon.evaluate import load_file
from archon.evaluate import paired_bootstrap_ci


def pipeline(task: str, samples: int, judgments: int | None, k: int | None) -> str:
    q, a = LABELS[task]
    text = (
        f"name: {task}-verified-vote\n"
        "models:\n"
        '  gemma: {model: local/gemma-3-270m, temperature: 0.8, max_tokens: 12, stop: ["\\n"]}\n'
        '  judge: {model: local/gemma-3-270m, temperature: 0.7, max_tokens: 32, stop: ["\\n\\n"]}\n'
        "nodes:\n"
        "  samples:\n"
        "    op: generate\n"
        "    model: gemma\n"
        f"    samples: {samples}\n"
        f"    template: {yaml_str(few_shot(task) + chr(10))}\n"  # with its final newline, as first measured
    )
    if judgments is None:
        return text + "  answer: {op: vote, inputs: [samples]}\noutput: answer\n"
    return text + (
        "  checked:\n"
        "    op: verify\n"
        "    model: judge\n"
        "    inputs: [samples]\n"
        f'    template: "{q}: {{{{ input }}}} — {a.lower()}?"\n'
        f"    judgments: {judgments}\n"
        f"    min_correct: {k}\n"
        "  answer: {op: vote, inputs: [checked]}\n"
        "output: answer\n"
    )


def run(task: str, text: str, db: str, data: Path) -> tuple[list[float], float, dict[str, object] | None]:
    with archon.load(text, db=db) as p:
        result = p._sync(aevaluate(p, load_file(str(data), "input", "answer"), get_metric("exact")))
    right = [float(i.score or 0.0) for i in result.items]
    calls = sum(i.usage.paid_calls + i.usage.cached_calls for i in result.items) / len(result.items)
    v = result.verifiers.get("checked")
    return right, calls, (v.as_dict() if v is not None else None)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tasks", nargs="+", default=["capitals", "antonyms"])
    ap.add_argument("--samples", type=int, default=4)
    ap.add_argument("--judgments", type=int, default=3)
    ap.add_argument("--limit", type=int, help="the first N items of each task (default: all)")
    ap.add_argument("--db", help="a call cache to keep between runs (default: a temporary one)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or f"sqlite:///{tmp}/verify.db"
        for task in args.tasks:
            data = Path(tmp) / f"{task}.jsonl"
            data.write_text("".join(json.dumps(r) + "\n" for r in scored_rows(task, args.limit)))
            base, base_calls, _ = run(task, pipeline(task, args.samples, None, None), db, data)
            for m in sorted({1, args.judgments}):
                k = m // 2 + 1
                acc, calls, stats = run(task, pipeline(task, args.samples, m, k), db, data)
                diff, lo, hi = paired_bootstrap_ci(acc, base)
                print(
                    json.dumps(
                        {
                            "task": task,
                            "items": len(base),
                            "samples": args.samples,
                            "judgments": m,
                            "k": k,
                            "vote_accuracy": round(sum(base) / len(base), 3),
                            "verified_vote_accuracy": round(sum(acc) / len(acc), 3),
                            "accuracy_diff": [round(diff, 3), round(lo, 3), round(hi, 3)],
                            "calls_per_query": [round(base_calls, 2), round(calls, 2)],
                            "verifier": stats,
                        }
                    ),
                    flush=True,
                )


if __name__ == "__main__":
    main()
