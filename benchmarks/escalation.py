"""Difficulty-adaptive escalation vs always running the costly path, on the embedded model
(gemma-3-270m, few-shot) over built-in task sets of 116-136 items.

Both pipelines draw a cheap path (C samples at T=0.8) and a costly path (E more samples at
T=0.9) and vote over all of them; the escalating one runs the costly path only when the
cheap samples' leading answer has less than ``--below`` of them (``when:
{node: cheap, agreement_below: B}``). Samples are sample-indexed, so the escalating run
replays the always-run's samples from the cache: calls per query count paid + cached.
Reported: the calls ratio (escalating / always) and the accuracy difference with a paired
bootstrap 95 % interval.

Run: python benchmarks/escalation.py [--cheap 2] [--costly 6] [--below 1.0 0.67] [--tasks antonyms capitals]
"""

from __future__ import annotations

import argparse
import json
import tempfile

from _tasks import LABELS
from _tasks import few_shot
from _tasks import score
from _tasks import scored_rows
from _tasks import yaml_str

from archon.evaluate import paired_bootstrap_ci


def pipeline(task: str, cheap: int, costly: int, below: float | None) -> str:
    template = yaml_str(few_shot(task))
    gate = f"    when: {{node: cheap, agreement_below: {below}}}\n" if below is not None else ""
    return (
        f"name: {task}-escalate\n"
        "models:\n"
        '  gemma: {model: local/gemma-3-270m, temperature: 0.8, max_tokens: 12, stop: ["\\n"]}\n'
        "nodes:\n"
        f"  cheap: {{op: generate, model: gemma, samples: {cheap}, template: {template}}}\n"
        "  costly:\n"
        "    op: generate\n"
        "    model: gemma\n"
        f"    samples: {costly}\n"
        "    temperature: 0.9\n"
        f"    template: {template}\n" + gate + "  answer: {op: vote, inputs: [cheap, costly]}\n"
        "output: answer\n"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cheap", type=int, default=2)
    ap.add_argument("--costly", type=int, default=6)
    ap.add_argument("--below", type=float, nargs="+", default=[1.0])
    ap.add_argument("--tasks", nargs="+", default=list(LABELS))
    ap.add_argument("--db", help="a call cache to keep between runs (default: a temporary one)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or f"sqlite:///{tmp}/escalate.db"
        for task in args.tasks:
            items = scored_rows(task)
            always, always_calls = score(pipeline(task, args.cheap, args.costly, None), items, db)
            for below in args.below:
                esc, esc_calls = score(pipeline(task, args.cheap, args.costly, below), items, db)
                diff, lo, hi = paired_bootstrap_ci(esc, always)
                print(
                    json.dumps(
                        {
                            "task": task,
                            "items": len(always),
                            "cheap": args.cheap,
                            "costly": args.costly,
                            "agreement_below": below,
                            "always_accuracy": round(sum(always) / len(always), 3),
                            "escalating_accuracy": round(sum(esc) / len(esc), 3),
                            "accuracy_diff": [round(diff, 3), round(lo, 3), round(hi, 3)],
                            "calls_per_query": [
                                round(sum(always_calls) / len(always), 2),
                                round(sum(esc_calls) / len(esc), 2),
                            ],
                            "calls_ratio": round(sum(esc_calls) / sum(always_calls), 3),
                            "escalated": round(sum(c > args.cheap for c in esc_calls) / len(esc), 3),
                        }
                    ),
                    flush=True,
                )


if __name__ == "__main__":
    main()
