"""Reading JSONL input files for ``archon run --dataset`` (errors name file:line)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from archon.errors import DatasetError
from archon.errors import Problem


def read_jsonl(path: str, input_field: str = "input", limit: int | None = None) -> list[dict[str, Any]]:
    """Items of a JSONL file; each gets ``input`` = its ``input_field`` value.

    A line may be a JSON object or a JSON string (then it is the input); an object with
    chat ``messages`` (a list of {role, content}) needs no input field. Blank lines are
    skipped.

    Raises:
        DatasetError: unreadable file, invalid JSON, a missing field (every bad line).
    """
    p = Path(path)
    try:
        lines = p.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise DatasetError(Problem(path, 0, 0, "", "dataset file not found", "check the path")) from None
    except UnicodeDecodeError as exc:
        raise DatasetError(
            Problem(path, 0, 0, "", f"not UTF-8 text ({exc.reason})", "save it as UTF-8 JSONL")
        ) from None
    except OSError as exc:
        raise DatasetError(Problem(path, 0, 0, "", f"cannot read: {exc.strerror}", "check the path")) from None
    items: list[dict[str, Any]] = []
    problems: list[Problem] = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(
                Problem(
                    path,
                    n,
                    exc.colno,
                    "",
                    f"invalid JSON: {exc.msg}",
                    'each line must be one JSON object, e.g. {"input": "..."}',
                )
            )
            continue
        if isinstance(value, str):
            value = {"input": value}
        if not isinstance(value, dict):
            problems.append(
                Problem(
                    path,
                    n,
                    1,
                    "",
                    f"a line must be a JSON object or string, got {type(value).__name__}",
                    'write {"input": "..."}',
                )
            )
            continue
        if input_field not in value and isinstance(value.get("messages"), list):
            items.append(dict(value))  # a chat item: its messages are the input
            if limit is not None and len(items) >= limit:
                break
            continue
        if input_field not in value:
            fields = ", ".join(value) or "none"
            problems.append(
                Problem(
                    path,
                    n,
                    1,
                    input_field,
                    f"no field '{input_field}' (fields: {fields})",
                    "pass --input-field <name of the field holding the input>",
                )
            )
            continue
        items.append({**value, "input": value[input_field]})
        if limit is not None and len(items) >= limit:
            break
    if problems:
        raise DatasetError(problems[:50])
    if not items:
        raise DatasetError(Problem(path, 0, 0, "", "the dataset has no items", "add one JSON object per line"))
    return items
