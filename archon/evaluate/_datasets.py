"""Datasets: the user's JSONL/CSV files with field mapping, and deterministic splits."""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from pathlib import Path
from typing import Any
from typing import Literal

from archon._files import MAX_DATASET_BYTES
from archon._files import FileTooLarge
from archon._files import NotUTF8
from archon._files import read_text_limited
from archon.errors import DatasetError
from archon.errors import Problem

Split = Literal["train", "dev", "test", "all"]


@dataclass(frozen=True, slots=True)
class Example:
    """One scored item: the fields the pipeline sees, and the gold answer it never sees."""

    index: int
    fields: Mapping[str, Any]
    gold: Any = None


@dataclass(frozen=True)
class Dataset:
    name: str
    examples: tuple[Example, ...]
    source: str = ""
    notes: tuple[str, ...] = field(default=())

    def __len__(self) -> int:
        return len(self.examples)

    def split(self, which: Split, dev_fraction: float = 0.5, seed: int = 0, train_fraction: float = 0.0) -> Dataset:
        """A deterministic split: the same seed and fractions always give the same items.

        The items are shuffled with ``seed``; the first ``train_fraction`` of them are the
        train split (where demonstrations come from), the next ``dev_fraction`` the dev
        split, the rest the test split. With no train share the dev/test split is the
        same as it always was.

        Example:
            >>> ds = Dataset("d", tuple(Example(i, {"input": str(i)}) for i in range(10)))
            >>> dev, test = ds.split("dev"), ds.split("test")
            >>> len(dev), len(test), set(e.index for e in dev.examples) & set(e.index for e in test.examples)
            (5, 5, set())
            >>> [len(ds.split(w, 0.4, 0, 0.3)) for w in ("train", "dev", "test")]
            [3, 4, 3]
        """
        if which == "all":
            return self
        if not 0 < dev_fraction < 1:
            raise ValueError(f"dev_fraction must be between 0 and 1, got {dev_fraction=}")
        if not 0 <= train_fraction < 1 or (train_fraction > 0 and train_fraction + dev_fraction >= 1):
            raise ValueError(f"need 0 <= train_fraction and train + dev < 1, got {train_fraction=}, {dev_fraction=}")
        order = list(range(len(self.examples)))
        random.Random(seed).shuffle(order)
        n_train = round(len(order) * train_fraction)
        n_dev = round(len(order) * dev_fraction)
        parts = {"train": order[:n_train], "dev": order[n_train : n_train + n_dev], "test": order[n_train + n_dev :]}
        chosen = sorted(parts[which])
        return Dataset(f"{self.name}:{which}", tuple(self.examples[i] for i in chosen), self.source, self.notes)

    def head(self, limit: int | None) -> Dataset:
        if limit is None:
            return self
        return Dataset(self.name, self.examples[:limit], self.source, self.notes)


def _surrogate(value: Any, field: str = "") -> tuple[str, str] | None:
    """The first (field, character) of a lone surrogate or a NUL in a row's text (neither
    can be stored as text by every database), else None."""
    if isinstance(value, str):
        bad = next((c for c in value if "\ud800" <= c <= "\udfff" or c == "\x00"), None)
        return (field, bad) if bad else None
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for k, v in items:
        if isinstance(k, str) and (hit := _surrogate(k, field)):
            return hit
        if hit := _surrogate(v, f"{field}.{k}" if field else str(k)):
            return hit
    return None


def _summarised(problems: list[Problem], shown: int = 20) -> list[Problem]:
    """One problem per kind (field, message, fix), the first row's, saying on how many more
    rows it recurs — a wrong ``--input-field`` is one error, not one per row —, at most
    ``shown`` kinds and a last line counting the rest."""
    kinds: dict[tuple[str, str, str], list[Problem]] = {}
    for q in problems:
        kinds.setdefault((q.field, q.message, q.fix), []).append(q)
    out = []
    for same in kinds.values():
        first = same[0]
        if len(same) > 1:
            lines = ", ".join(str(q.line) for q in same[1:4]) + (", ..." if len(same) > 4 else "")
            rows = f"{len(same) - 1} more row{'s' if len(same) > 2 else ''}"
            at = "lines" if len(same) > 2 else "line"
            first = replace(first, message=f"{first.message} — the same on {rows} ({at} {lines})")
        out.append(first)
    if len(out) > shown:
        rest = sum(len(v) for v in list(kinds.values())[shown:])
        last = out[shown]
        note = f"{rest} more problem{'s' if rest > 1 else ''} from here on"
        out = [*out[:shown], replace(last, field="", message=note, fix="fix the ones above and run again")]
    return out


def load_file(
    path: str | Path, input_field: str = "input", answer_field: str | None = "answer", *, require_answer: bool = True
) -> Dataset:
    """Reads a JSONL or CSV file (by extension; ``.jsonl``, ``.json`` lines or ``.csv``).

    Each row's ``input_field`` becomes ``input`` (all fields stay visible to templates
    except the answer field, which is kept apart as the gold answer).

    Raises:
        DatasetError: every bad row, located as ``file:line``.
    """
    p = Path(path)
    try:
        text = read_text_limited(p, MAX_DATASET_BYTES)
    except FileNotFoundError:
        raise DatasetError(Problem(str(p), 0, 0, "", "dataset file not found", "check the path")) from None
    except FileTooLarge as exc:
        raise DatasetError(
            Problem(str(p), 0, 0, "", f"the dataset file is {exc.strerror}", "give a .jsonl or .csv file")
        ) from None
    except NotUTF8 as exc:
        raise DatasetError(
            Problem(str(p), exc.line, exc.col, "", f"not UTF-8 text ({exc.reason})", "save the dataset as UTF-8")
        ) from None
    except (IsADirectoryError, OSError) as exc:
        raise DatasetError(
            Problem(str(p), 0, 0, "", f"cannot read: {exc}", "give a UTF-8 .jsonl or .csv file")
        ) from None
    rows: list[tuple[int, Any]] = []
    problems: list[Problem] = []
    if p.suffix.lower() == ".csv":
        reader = csv.DictReader(text.splitlines(), strict=True)
        try:
            for row in reader:
                rows.append((reader.line_num, dict(row)))
        except csv.Error as exc:  # an unclosed quote, a stray quote inside a field
            problems.append(
                Problem(
                    str(p),
                    max(1, reader.line_num),
                    1,
                    "",
                    f"invalid CSV: {exc}",
                    'quote fields with " and close every quote',
                )
            )
    else:
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                rows.append((n, json.loads(line)))
            except json.JSONDecodeError as exc:
                problems.append(
                    Problem(
                        str(p),
                        n,
                        exc.colno,
                        "",
                        f"invalid JSON: {exc.msg}",
                        'each line must be one JSON object, e.g. {"input": "...", "answer": "..."}',
                    )
                )
            except (ValueError, RecursionError) as exc:  # > 4300-digit integers, nesting past the stack
                what = "nests too deeply" if isinstance(exc, RecursionError) else str(exc).split(";")[0]
                problems.append(
                    Problem(str(p), n, 1, "", f"JSON that cannot be read: {what}", "write plain fields of text")
                )
    examples: list[Example] = []
    for n, row in rows:
        if isinstance(row, str):
            row = {"input": row}
        if not isinstance(row, dict):
            problems.append(
                Problem(
                    str(p),
                    n,
                    1,
                    "",
                    f"a row must be an object, got {type(row).__name__}",
                    'write {"input": "...", "answer": "..."}',
                )
            )
            continue
        try:
            bad = _surrogate(row)
        except RecursionError:
            bad = ("", "nesting")
        if bad == ("", "nesting"):
            problems.append(Problem(str(p), n, 1, "", "the row nests too deeply", "write plain fields of text"))
            continue
        if bad is not None:
            problems.append(
                Problem(
                    str(p),
                    n,
                    1,
                    bad[0],
                    "a NUL character is not text"
                    if bad[1] == "\x00"
                    else f"a lone UTF-16 surrogate ({bad[1]!r}) is not text",
                    "remove the \\u0000"
                    if bad[1] == "\x00"
                    else "fix that \\uXXXX escape: write the character itself or a surrogate pair",
                )
            )
            continue
        has_chat = isinstance(row.get("messages"), list)
        if input_field not in row and not has_chat:
            problems.append(
                Problem(
                    str(p),
                    n,
                    1,
                    input_field,
                    f"no field '{input_field}' (fields: {', '.join(row) or 'none'})",
                    "pass --input-field <the field holding the input>",
                )
            )
            continue
        if row.get(input_field, "") is None:
            problems.append(Problem(str(p), n, 1, input_field, f"'{input_field}' is null", "give every row an input"))
            continue
        gold = None
        if answer_field:
            if answer_field in row and row[answer_field] is None and require_answer:
                problems.append(
                    Problem(str(p), n, 1, answer_field, f"'{answer_field}' is null", "give every row a gold answer")
                )
                continue
            if answer_field in row:
                gold = row[answer_field]
            elif require_answer:
                problems.append(
                    Problem(
                        str(p),
                        n,
                        1,
                        answer_field,
                        f"no field '{answer_field}' (fields: {', '.join(row)})",
                        "pass --answer-field <the field holding the gold answer>",
                    )
                )
                continue
        fields = {k: v for k, v in row.items() if k != answer_field}
        if input_field in row:
            fields["input"] = row[input_field]
        examples.append(Example(len(examples), fields, gold))
    if problems:
        raise DatasetError(_summarised(problems))
    if not examples:
        raise DatasetError(Problem(str(p), 1, 1, "", "the dataset has no rows", "add one example per line"))
    return Dataset(p.stem, tuple(examples), str(p))
