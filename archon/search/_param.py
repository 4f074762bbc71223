"""One parameter of a search space."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from typing import Literal


@dataclass(frozen=True)
class Param:
    """One parameter: ``kind`` int|float|bool|choice|subset, its range or choices, and
    ``when``. A subset's choices are every combination (a list) of its items within its
    sizes, smallest first."""

    name: str
    kind: Literal["int", "float", "bool", "choice", "subset"]
    low: float = 0
    high: float = 0
    log: bool = False
    choices: tuple[Any, ...] = ()
    when: tuple[str, Any] | None = None  # (param, value that activates this one)
    inactive: tuple[Any, ...] = ()  # ``default:`` in the file: the value while inactive (one item)

    @property
    def default(self) -> Any:
        """The value used when the parameter is inactive (its ``when`` is false): the
        file's ``default:``, else the lowest value / first choice / False."""
        if self.inactive:
            return self.inactive[0]
        if self.kind == "int":
            return int(self.low)
        if self.kind == "float":
            return float(self.low)
        if self.kind == "bool":
            return False
        if self.kind == "subset":
            return list(self.choices[0])
        return self.choices[0]

    def is_active(self, values: Mapping[str, Any]) -> bool:
        """``when: x`` / ``{x: value}``: x equals the value; ``{x: {not: value}}``: it differs;
        ``{x: {in: [a, b]}}``: it is one of them."""
        if self.when is None:
            return True
        other, want = self.when
        if isinstance(want, dict) and set(want) == {"not"}:
            return bool(values.get(other) != want["not"])
        if isinstance(want, dict) and set(want) == {"in"} and isinstance(want["in"], list):
            return values.get(other) in want["in"]
        return bool(values.get(other) == want)

    def grid(self) -> list[Any]:
        if self.kind == "int":
            return list(range(int(self.low), int(self.high) + 1))
        if self.kind == "bool":
            return [False, True]
        if self.kind == "choice":
            return list(self.choices)
        if self.kind == "subset":
            return [list(c) for c in self.choices]
        raise ValueError(f"a float parameter has no grid: {self.name=}")
