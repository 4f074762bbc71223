"""What the embedded-model benchmarks share: the built-in task sets (data/tasks/), their
few-shot prompt, and scoring a pipeline's answers against gold. Not a benchmark itself."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import archon
from archon.operators import normalize_answer

ROOT = Path(__file__).resolve().parent.parent
SHOTS = 4  # the first items of each task are the prompt's demonstrations, never scored
LABELS = {  # task -> the field labels its prompt uses
    "antonyms": ("Word", "Opposite"),
    "capitals": ("Country", "Capital"),
    "past-tense": ("Verb", "Past tense"),
    "plurals": ("Noun", "Plural"),
}
QUESTIONS = {  # task -> the question a judge (rank, verify) sees
    "antonyms": "the opposite of the word '{{ input }}'",
    "capitals": "What is the capital of {{ input }}?",
    "past-tense": "the past tense of the verb '{{ input }}'",
    "plurals": "the plural of the noun '{{ input }}'",
}


def rows(task: str) -> list[dict[str, Any]]:
    return [json.loads(x) for x in (ROOT / "data" / "tasks" / f"{task}.jsonl").read_text().splitlines()]


def scored_rows(task: str, limit: int | None = None) -> list[dict[str, Any]]:
    """The items that are scored: all but the demonstrations (the first ``limit``)."""
    out = rows(task)[SHOTS:]
    return out[:limit] if limit else out


def few_shot(task: str) -> str:
    """The task's prompt: SHOTS demonstrations, then the input (a Jinja2 template)."""
    q, a = LABELS[task]
    demos = "".join(f"{q}: {r['input']}\n{a}: {r['answer']}\n" for r in rows(task)[:SHOTS])
    return f"{demos}{q}: {{{{ input }}}}\n{a}:"


def yaml_str(text: str) -> str:
    """``text`` as a YAML scalar (a JSON string is one)."""
    return json.dumps(text)


def score(text: str, items: list[dict[str, Any]], db: str) -> tuple[list[float], list[int]]:
    """Runs the pipeline ``text`` on ``items``: 1.0/0.0 per item (normalized match with
    its answer), and the calls each made (paid + cached: what it would have paid)."""
    with archon.load(text, db=db) as p:
        result = p.execute(items)
    right = [
        float(normalize_answer(i.output or "", "text") == normalize_answer(str(r["answer"]), "text"))
        for r, i in zip(items, result.items, strict=True)
    ]
    return right, [i.usage.paid_calls + i.usage.cached_calls for i in result.items]
