"""Per-item results written as JSON lines while a run goes on."""

from __future__ import annotations

import json
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def jsonl_writer(path: str | None) -> Iterator[Callable[[dict[str, Any]], None]]:
    """A function that appends one row to ``path`` and flushes it (a no-op without a path)."""
    if path is None:
        yield lambda row: None
        return
    with open(path, "w", encoding="utf-8") as f:

        def write(row: dict[str, Any]) -> None:
            f.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
            f.flush()

        yield write
