"""Adaptive sampling (generate's ``early_stop``) vs a fixed-n vote at the same maximum, on
the embedded model (gemma-3-270m, few-shot, T=0.8) over built-in task sets of 110-140 items.

For each task: one fixed run (``samples: N`` + vote) and adaptive runs (``samples: N``,
``early_stop: C``, ``wave: W`` + vote) of the same prompt. Calls per query count every call
the pipeline made (paid + cached: samples are sample-indexed, so the adaptive runs replay
the fixed run's first samples from the cache — what they would have paid is what they
called). Reported: the calls ratio (adaptive / fixed, summed over items) and the accuracy
difference with a paired bootstrap 95 % interval.

Run: python benchmarks/adaptive_sampling.py [--samples 12] [--wave 3] [--confidence 0.9 0.95]
"""

from __future__ import annotations

import argparse
import json
import tempfile

from _tasks import LABELS
from _tasks import few_shot
from _tasks import score as score_items
from _tasks import scored_rows
from _tasks import yaml_str

from archon.evaluate import paired_bootstrap_ci


def pipeline(task: str, samples: int, early: float | None, wave: int, temperature: float = 0.8) -> str:
    adaptive = f"    early_stop: {early}\n    wave: {wave}\n" if early else ""
    return (
        f"name: {task}-vote\n"
        "models:\n"
        f'  gemma: {{model: local/gemma-3-270m, temperature: {temperature}, max_tokens: 12, stop: ["\\n"]}}\n'
        "nodes:\n"
        "  samples:\n"
        "    op: generate\n"
        "    model: gemma\n"
        f"    samples: {samples}\n"
        + adaptive
        + f"    template: {yaml_str(few_shot(task) + chr(10))}\n"  # with its final newline, as first measured
        "  answer: {op: vote, inputs: [samples]}\n"
        "output: answer\n"
    )


def score(task: str, text: str, db: str) -> tuple[list[float], list[int]]:
    return score_items(text, scored_rows(task), db)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=12)
    ap.add_argument("--wave", type=int, default=3)
    ap.add_argument("--confidence", type=float, nargs="+", default=[0.9, 0.95])
    ap.add_argument("--temperature", type=float, default=0.8)
    ap.add_argument("--tasks", nargs="+", default=list(LABELS))
    ap.add_argument("--db", help="a call cache to keep between runs (default: a temporary one)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or f"sqlite:///{tmp}/adaptive.db"
        t = args.temperature
        for task in args.tasks:
            fixed, fixed_calls = score(task, pipeline(task, args.samples, None, args.wave, t), db)
            for conf in args.confidence:
                ada, ada_calls = score(task, pipeline(task, args.samples, conf, args.wave, t), db)
                diff, lo, hi = paired_bootstrap_ci(ada, fixed)
                print(
                    json.dumps(
                        {
                            "task": task,
                            "items": len(fixed),
                            "max_samples": args.samples,
                            "wave": args.wave,
                            "confidence": conf,
                            "temperature": t,
                            "fixed_accuracy": round(sum(fixed) / len(fixed), 3),
                            "adaptive_accuracy": round(sum(ada) / len(ada), 3),
                            "accuracy_diff": [round(diff, 3), round(lo, 3), round(hi, 3)],
                            "calls_per_query": [
                                round(sum(fixed_calls) / len(fixed), 2),
                                round(sum(ada_calls) / len(ada), 2),
                            ],
                            "calls_ratio": round(sum(ada_calls) / sum(fixed_calls), 3),
                        }
                    ),
                    flush=True,
                )


if __name__ == "__main__":
    main()
