"""YAML text → plain Python data plus a map of every value's location."""

from __future__ import annotations

import re
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.comments import CommentedSeq
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.error import YAMLError

from archon._files import locate as _offset_location
from archon.errors import Problem
from archon.errors import SpecError

Path = tuple[str | int, ...]
Locations = dict[Path, tuple[int, int]]

#: Bounds on what one YAML file may expand to: aliases are expanded into plain data, so a
#: 1 KB file of nested aliases ("billion laughs") would otherwise expand to GBs.
MAX_VALUES = 200_000
MAX_DEPTH = 64
MAX_BYTES = 8 * 1024 * 1024


class _TooBig(Exception):
    def __init__(self, what: str, path: Path) -> None:
        self.what = what
        self.path = path


def load_yaml(text: str, file: str) -> tuple[Any, Locations]:
    """Parses YAML, keeping the 1-based (line, col) of every key and value.

    Raises:
        SpecError: on a syntax error, a duplicate key or an empty document.

    Example:
        >>> data, locs = load_yaml("a:\\n  b: 1\\n", "x.yaml")
        >>> data, locs[("a", "b")]
        ({'a': {'b': 1}}, (2, 3))
    """
    if len(text) > MAX_BYTES:
        raise SpecError(
            Problem(file, 0, 0, "", f"the file is larger than {MAX_BYTES // (1024 * 1024)} MiB", "pass a YAML file")
        )
    deep = _flow_depth(text) or _block_depth(text)
    if deep is not None:
        raise SpecError(
            Problem(file, deep[0], deep[1], "", f"the YAML nests more than {MAX_DEPTH} levels", "nest less deeply")
        )
    yaml = YAML(typ="rt")
    try:
        raw = yaml.load(text)
    except RecursionError:
        line = max(
            range(len(lines := text.splitlines())), key=lambda i: len(lines[i]) - len(lines[i].lstrip()), default=0
        )
        raise SpecError(
            Problem(file, line + 1, 1, "", "the YAML nests too deeply", f"nest at most {MAX_DEPTH} levels")
        ) from None
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        what = (exc.problem or "invalid YAML").strip()
        fix = "fix the YAML syntax at this place"
        if "duplicate key" in what or "found duplicate key" in str(exc):
            what = "duplicate key" + (
                f" {exc.problem.split('with value')[0].split('key')[-1].strip()}" if exc.problem else ""
            )
            fix = "each key may appear once in a mapping: rename or remove one"
        elif "\\t" in what or "\t" in what:
            what = "a tab character (YAML indents with spaces only)"
            fix = "indent with spaces, not tabs"
        raise SpecError(Problem(file, line, col, "", f"YAML syntax error: {what}", fix)) from None
    except YAMLError as exc:  # a reader error: a character YAML forbids (NUL, control bytes)
        pos = getattr(exc, "position", None)
        line, col = _offset_location(text, pos) if isinstance(pos, int) else (1, 1)
        raise SpecError(
            Problem(file, line, col, "", f"YAML error: {_short(exc).splitlines()[0]}", "fix the YAML syntax")
        ) from None
    except ValueError as exc:  # e.g. an integer of more than 4300 digits
        digits = re.search(r"\d{4000,}", text)
        line, col = _offset_location(text, digits.start()) if digits else (1, 1)
        what = "an integer of more than 4300 digits" if digits else _short(exc)
        raise SpecError(Problem(file, line, col, "", f"a value YAML cannot read: {what}", "fix that value")) from None
    if raw is None:
        raise SpecError(Problem(file, 1, 1, "", "the file is empty", "write a pipeline: see docs/quickstart.md"))
    locations: Locations = {(): (1, 1)}
    try:
        return _plain(raw, (), locations, [0]), locations
    except _TooBig as exc:
        line, col = locate(locations, exc.path)
        fix = (
            "write the values out instead of nesting aliases (&/*)"
            if exc.what.startswith("more than")
            else f"nest at most {MAX_DEPTH} levels"
        )
        raise SpecError(Problem(file, line, col, dotted(exc.path), f"the YAML expands to {exc.what}", fix)) from None


def _flow_depth(text: str) -> tuple[int, int] | None:
    """Where ``[``/``{`` flow collections first nest past :data:`MAX_DEPTH` (line, col),
    found in one pass before the parser recurses that deep; None when they do not."""
    depth, quote, line, col = 0, "", 1, 0
    for ch in text:
        col += 1
        if ch == "\n":
            line, col = line + 1, 0
            if not depth:  # outside flow collections a quote (an apostrophe in prose) ends with its line
                quote = ""
            continue
        if quote:
            if ch == quote:
                quote = ""
            continue
        if ch in "'\"":
            quote = ch
        elif ch in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return line, col
        elif ch in "]}" and depth:
            depth -= 1
    return None


def _block_depth(text: str) -> tuple[int, int] | None:
    """Where indented (block) mappings first nest past :data:`MAX_DEPTH` levels, by the
    indentation of each line, in one pass; None when they do not."""
    stack: list[int] = []
    for n, line in enumerate(text.splitlines(), 1):
        body = line.lstrip(" ")
        if not body or body.startswith("#"):
            continue
        indent = len(line) - len(body)
        while stack and stack[-1] >= indent:
            stack.pop()
        stack.append(indent)
        if len(stack) > MAX_DEPTH:
            return n, indent + 1
    return None


def _short(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) <= 300 else text[:300] + "…"


def _plain(node: Any, path: Path, locs: Locations, count: list[int]) -> Any:
    count[0] += 1
    if count[0] > MAX_VALUES:
        raise _TooBig(f"more than {MAX_VALUES:,} values", path)
    if len(path) > MAX_DEPTH:
        raise _TooBig(f"more than {MAX_DEPTH} levels of nesting", path)
    if isinstance(node, CommentedMap):
        out: dict[Any, Any] = {}
        for key in node:
            try:
                kline, kcol = node.lc.key(key)
                locs[path + (str(key),)] = (kline + 1, kcol + 1)
                vline, vcol = node.lc.value(key)
                locs[path + (str(key), "<value>")] = (vline + 1, vcol + 1)
            except (KeyError, TypeError, AttributeError):
                pass
            out[str(key) if not isinstance(key, (str, int, float, bool)) else key] = _plain(
                node[key], path + (str(key),), locs, count
            )
        return out
    if isinstance(node, CommentedSeq):
        items = []
        for i, item in enumerate(node):
            try:
                line, col = node.lc.item(i)
                locs[path + (i,)] = (line + 1, col + 1)
            except (KeyError, TypeError, AttributeError):
                pass
            items.append(_plain(item, path + (i,), locs, count))
        return items
    if isinstance(node, str):
        return str(node)
    if isinstance(node, bool):
        return bool(node)
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    return node


def locate(locations: Locations, path: Path) -> tuple[int, int]:
    """The location of ``path``, or of its nearest located parent."""
    path = tuple(path)
    while path:
        if path in locations:
            return locations[path]
        path = path[:-1]
    return locations.get((), (0, 0))


def dotted(path: Path) -> str:
    """``("nodes", "rank", "top_k")`` → ``nodes.rank.top_k``; list items as ``[i]``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out
