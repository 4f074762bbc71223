"""What every exported module's program shares, archon-backed or standalone (inlined
there): ``run``/``arun``/``batch``/``abatch`` over ``aexecute``, a query's answer from
its output node's value, and the command line's printing."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any

from archon._typing import NodeValue
from archon._typing import Tests
from archon._typing import Usage

Item = str | Mapping[str, Any]


def answer_of(value: NodeValue, output: str) -> tuple[str | None, str | None]:
    """(answer, error) of a query from its output node's value."""
    if isinstance(value, Tests) or not value:
        return None, f"{output}: no candidates"
    return value[0].text, None


class Runner:
    """``run``/``arun``/``batch``/``abatch`` over ``aexecute`` (what a program defines)."""

    async def aexecute(self, flow: Any, items: Sequence[Item]) -> list[tuple[str | None, str | None, Usage]]:
        raise NotImplementedError

    def _sync(self, coro: Any) -> Any:
        return asyncio.run(coro)

    async def abatch(self, flow: Any, items: Sequence[Item]) -> list[str | None]:
        return [answer for answer, _, _ in await self.aexecute(flow, items)]

    async def arun(self, flow: Any, item: Item) -> str | None:
        return (await self.abatch(flow, [item]))[0]

    def batch(self, flow: Any, items: Sequence[Item]) -> list[str | None]:
        out: list[str | None] = self._sync(self.abatch(flow, items))
        return out

    def run(self, flow: Any, item: Item) -> str | None:
        out: str | None = self._sync(self.arun(flow, item))
        return out


def print_results(inputs: Sequence[str], results: Sequence[tuple[str | None, str | None, Usage]], as_json: bool) -> int:
    """One answer per line (errors on stderr), or one JSON object per input; 1 if any failed."""
    failed = 0
    for x, (answer, error, usage) in zip(inputs, results, strict=True):
        failed += answer is None
        if as_json:
            print(json.dumps({"input": x, "output": answer, "error": error, "usage": usage.as_dict()}))
        elif answer is None:
            print(f"error: {error}", file=sys.stderr)
        else:
            print(answer)
    return 1 if failed else 0
