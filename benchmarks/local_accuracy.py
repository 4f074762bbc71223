"""What sampling + voting buys on the embedded model (gemma-3-270m, few-shot, T=0.8):
single-sample accuracy (the mean over samples), majority@n and coverage@n (any sample
right), on data/antonyms.jsonl and data/capitals.jsonl, through archon's own pipelines.

Run: python benchmarks/local_accuracy.py [--samples 5]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import archon

ROOT = Path(__file__).resolve().parent.parent
TASKS = {"antonyms": "local-best-of-5-vote.yaml", "capitals": "local-capitals-best-of-5-vote.yaml"}


def norm(text: str) -> str:
    return " ".join(text.lower().split()).strip(".,;:!?\"' ")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for task, pipeline in TASKS.items():
            rows = [json.loads(x) for x in (ROOT / "data" / f"{task}.jsonl").read_text().splitlines()]
            text = (ROOT / "pipelines" / pipeline).read_text().replace("samples: 5", f"samples: {args.samples}")
            with archon.load(text, db=f"sqlite:///{tmp}/acc.db") as p:
                result = p.execute(rows)
            single = majority = coverage = 0.0
            for row, item in zip(rows, result.items, strict=True):
                gold = norm(row["answer"])
                hits = [norm(c.text) == gold for c in item.candidates]
                single += sum(hits) / max(1, len(hits))
                majority += norm(item.output or "") == gold
                coverage += any(hits)
            n = len(rows)
            print(
                json.dumps(
                    {
                        "task": task,
                        "items": n,
                        "samples": args.samples,
                        "single": round(single / n, 3),
                        f"majority@{args.samples}": round(majority / n, 3),
                        f"coverage@{args.samples}": round(coverage / n, 3),
                    }
                )
            )


if __name__ == "__main__":
    main()
