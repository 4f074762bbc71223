"""Task-first search: a default space built from a dataset and a model.

``archon optimize --dataset items.jsonl --model local/gemma-3-270m`` needs no YAML. From
the data archon writes a prompt (or takes the user's ``--template``), then a space over
what moves accuracy for small and mid-size models — the prompt (how many demonstrations,
which ones: random or bootstrapped from the model's own correct train answers, drawn with
one of several seeds, or per input the most similar train items; no instruction or one of two the model proposes from train
examples) jointly with the inference strategy (one greedy call, or several
samples at a temperature, reduced by vote or fuse). The baseline is one greedy call with
the user's prompt (or, without one, the written prompt with the first two train items as
demonstrations, as a user would write it by hand). The space is written out as YAML so
the user can read and edit it.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from archon.evaluate import Dataset
from archon.evaluate import last_number


def split_template(template: str) -> tuple[str, str]:
    """(prefix, query part): the query part starts at the first line that uses a field;
    the lines above it (an instruction, hand-written examples) stay in front of the
    demonstrations.

    Example:
        >>> split_template("Antonyms.\\nWord: {{ input }}\\nOpposite:")
        ('Antonyms.\\n', 'Word: {{ input }}\\nOpposite:')
    """
    lines = template.splitlines(keepends=True)
    for i, line in enumerate(lines):
        if "{{" in line or "{%" in line:
            return "".join(lines[:i]), "".join(lines[i:])
    return "", template


def _label(name: str) -> str:
    return re.sub(r"[_\W]+", " ", name).strip().capitalize() or "Input"


def write_template(fields: list[str], answer: str, input_name: str = "input") -> str:
    """A plain completion prompt over the item's fields, ending where the answer goes;
    each line is labelled with the field's name in the data (the input field's own name,
    e.g. ``country``, though the template reads it as ``input``).

    Example:
        >>> write_template(["input", "unit"], "capital", input_name="country")
        'Country: {{ input }}\\nUnit: {{ unit }}\\nCapital:'
    """
    lines = [f"{_label(input_name if f == 'input' else f)}: {{{{ {f} }}}}" for f in fields]
    return "\n".join(lines) + f"\n{_label(answer) if answer != 'answer' else 'Answer'}:"


def guess_metric(golds: list[Any]) -> str:
    """numeric when every gold answer is a number, else normalized (case, space, punctuation)."""
    texts = [str(g[0] if isinstance(g, list) and g else g) for g in golds if g is not None]
    if texts and all(last_number(t) is not None and re.fullmatch(r"\s*-?[\d.,]+\s*", t) for t in texts):
        return "numeric"
    return "normalized"


def task_space(
    dataset: Dataset,
    dataset_path: str,
    model: str,
    *,
    out_dir: str | Path,
    template: str | None = None,
    metric: str | None = None,
    input_field: str = "input",
    answer_field: str = "answer",
    budget_calls: int | None = None,
    trials: int | None = None,
    name: str | None = None,
) -> tuple[dict[str, Any], str]:
    """The default space for a task, as YAML data, and its name."""
    examples = list(dataset.examples)
    golds = [e.gold for e in examples]
    first = examples[0].fields if examples else {}
    hidden = {"input", input_field, "messages", "tests", "id", "idx", "index"}
    fields = ["input"] + [k for k, v in first.items() if k not in hidden and isinstance(v, (str, int, float))][:2]
    user_template = template
    template = template or write_template(fields, answer_field, input_field)
    prefix, query = split_template(template)
    answers = [str(g[0] if isinstance(g, list) and g else g) for g in golds if g is not None]
    multiline = any("\n" in a for a in answers)
    longest = max((len(a) for a in answers), default=8)
    max_tokens = int(min(256, max(8, longest // 2 + 8)))
    model_block: dict[str, Any] = {"model": model, "temperature": "${temperature}", "max_tokens": max_tokens}
    if not multiline:
        model_block["stop"] = ["\n"]
    sep = "" if query.endswith((" ", "\n")) else " "
    demo_format = query + sep + "{{ answer }}" + ("\n\n" if multiline else "\n")
    name = name or re.sub(r"[^A-Za-z0-9_-]+", "-", Path(dataset_path).stem) or "task"
    rel = os.path.relpath(Path(dataset_path).resolve(), Path(out_dir).resolve())
    n = len(examples)
    shots = demo_counts(examples, fields, max_tokens)
    if user_template is not None:
        baseline_template = user_template
    else:  # the written prompt with the first two train items (the defaults: shots 2, first)
        baseline_template = prefix + "${demos}" + query
    baseline_node: dict[str, Any] = {"op": "generate", "model": "m", "samples": 1, "template": baseline_template}
    space: dict[str, Any] = {
        "name": name,
        "description": f"Task-first space for {Path(dataset_path).name} on {model}, written by archon optimize "
        "--dataset: demonstrations (count, random or bootstrapped, seed) jointly with sampling and the reducer.",
        "pipeline": {
            "models": {"m": model_block},
            "nodes": {
                "samples": {
                    "op": "generate",
                    "model": "m",
                    "samples": "${n}",
                    "template": prefix + "${instruction}${demos}" + query,
                },
                "answer": {"op": "${reducer}", "model": "m", "inputs": ["samples"]},
            },
            "output": "answer",
        },
        "demos": {"format": demo_format, "count": "${shots}", "select": "${pick}", "seed": "${demo_seed}"},
        # instruction 0 is none (the baseline's); 1 and 2 are written by the model from train examples
        "instructions": {"candidates": [""], "propose": 2},
        "space": {
            "shots": {"choice": shots},
            "pick": {"choice": ["first", "random", "bootstrap", "similar"]},
            "demo_seed": {"choice": [0, 1, 2], "when": {"pick": {"in": ["random", "bootstrap"]}}, "default": 0},
            "n": {"choice": [1, 3, 5]},
            "temperature": {"choice": [0.5, 0.8], "when": {"n": {"not": 1}}, "default": 0.0},
            "reducer": {"choice": ["vote", "fuse"], "when": {"n": {"not": 1}}, "default": "vote"},
        },
        "baseline": {
            "models": {"m": {**model_block, "temperature": 0.0}},
            "nodes": {"answer": baseline_node},
            "output": "answer",
        },
        "dataset": {
            "path": rel,
            "input": input_field,
            "answer": answer_field,
            "train": 0.3 if n >= 20 else 0.4,
            "dev": 0.35 if n >= 20 else 0.3,
            "seed": 0,
        },
        "metric": metric or guess_metric(golds),
        "budget": {
            "per_query": {"calls": 6},
            # about what DSPy's MIPROv2 spends on the same task (benchmarks/quality_lift.py)
            "search": {"calls": budget_calls or max(300, 4 * n), "trials": trials or 20, "patience": 8},
        },
        # a trial that is clearly worse after a third of dev stops there
        "fidelity": {"rungs": [0.34, 1.0], "keep": 0.5},
        "strategy": "greedy",
        "objectives": ["score", "cost"],
    }
    return space, name


SHOTS = (2, 4, 8, 12, 16)
PROMPT_TOKENS = 1200  # demonstrations must fit in this (a local model's context is 2048 by default)


def demo_counts(examples: list[Any], fields: list[str], max_tokens: int) -> list[int]:
    """The demonstration counts worth searching: those whose demonstrations (at the items'
    mean length, ~4 characters a token, answers at most ``max_tokens``) fit in
    ``PROMPT_TOKENS`` (2 when none does: the baseline's count).

    Example:
        >>> from archon.evaluate import Example
        >>> demo_counts([Example(0, {"input": "cat"}, "cats")], ["input"], 8)
        [2, 4, 8, 12, 16]
        >>> demo_counts([Example(0, {"input": "x" * 300}, "y")], ["input"], 8)
        [2, 4, 8, 12]
        >>> demo_counts([Example(0, {"input": "x" * 1000}, "y")], ["input"], 8)
        [2]
    """
    sizes = [sum(len(str(e.fields.get(f, ""))) for f in fields) + len(str(e.gold)) for e in examples[:200]]
    per_demo = (sum(sizes) / len(sizes) if sizes else 0) / 4 + 4 * len(fields) + 2
    room = PROMPT_TOKENS - max_tokens - per_demo  # the query itself
    return [k for k in SHOTS if k * per_demo <= room] or [SHOTS[0]]


def dump_space(space: dict[str, Any]) -> str:
    """The space as YAML, with a header saying where it came from."""
    import copy
    import io

    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.representer.ignore_aliases = lambda *_: True
    yaml.width = 2**30  # never fold: ruamel 0.19 folds a quoted string with backslashes wrongly
    buf = io.StringIO()
    yaml.dump(copy.deepcopy(space), buf)
    head = "# Written by `archon optimize --dataset ...`; edit it and run `archon optimize THIS_FILE`.\n"
    return head + buf.getvalue()


def fields_note(space: dict[str, Any]) -> str:
    return json.dumps(space["space"], default=str)
