"""Seeded mutations of valid inputs, for the malformed-input corpus (:mod:`.malformed`):
of a parsed YAML document (wrong types, out-of-range numbers, unknown or missing fields,
dangling references) and of raw bytes (truncation, stray syntax, bad encodings)."""

from __future__ import annotations

import copy
import io
import json
import random
from collections.abc import Iterator
from typing import Any

# values that are wrong for almost any field that held a number, a name or a flag
WRONG_FOR_SCALAR: tuple[Any, ...] = ({"x": 1}, [[1, 2]], {"nested": {"deep": [1, {"a": None}]}})
WRONG_FOR_NUMBER: tuple[Any, ...] = ("many", -7, 10**30, "", [], {"n": 1}, "1e999")
WRONG_FOR_STRING: tuple[Any, ...] = ({"x": 1}, [1, 2], {"a": [1]})
ANY_VALUE: tuple[Any, ...] = (
    None,
    "",
    0,
    -1,
    10**30,
    2.5,
    True,
    [],
    {},
    "x" * 5000,
    "{{ unclosed",
    "{% for %}",
    "\u0000",
    "../../../etc/passwd",
    "${undefined_param}",
)
JUNK = (
    "\t",
    ":",
    "- ",
    "{",
    "[",
    "]",
    "&a ",
    "*nope ",
    "!!python/object/apply:os.system ['true'] ",
    "\x00",
    "? ",
    "|",
    "'",
    '"',
    "%YAML 9.9\n---\n",
    "<<: *x\n",
    "\ufeff",
    "@",
    "`",
    "!!binary ",
)


def _yaml() -> Any:
    from ruamel.yaml import YAML

    y = YAML(typ="safe", pure=True)
    y.default_flow_style = False
    return y


def _load(text: str) -> Any:
    return _yaml().load(text)


def _dump(doc: Any) -> bytes:
    buf = io.StringIO()
    _yaml().dump(doc, buf)
    return buf.getvalue().encode()


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """Every (path, value) below the root, mappings and lists alike."""
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield (*prefix, k), v
            yield from _paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield (*prefix, i), v
            yield from _paths(v, (*prefix, i))


def _set(doc: Any, path: tuple[Any, ...], value: Any) -> None:
    for p in path[:-1]:
        doc = doc[p]
    doc[path[-1]] = value


def _delete(doc: Any, path: tuple[Any, ...]) -> None:
    for p in path[:-1]:
        doc = doc[p]
    del doc[path[-1]]


def _is_template(v: Any) -> bool:
    return isinstance(v, str) and ("${" in v or "{{" in v)


def mutate_document(doc: Any, rng: random.Random) -> tuple[Any, str, bool]:
    """One structural mutation of a parsed file: (new document, what was done, must it
    fail). ``must_fail`` is claimed only where the change is wrong whatever the field
    means: a mapping or a nested list where a scalar stood, a word where a number stood,
    an unknown key in a mapping that forbids them, a reference to a missing node."""
    doc = copy.deepcopy(doc)
    paths = [(p, v) for p, v in _paths(doc) if isinstance(p[-1], str)]
    kind = rng.choice(["retype", "retype", "number", "unknown-key", "delete", "any", "dangling", "rename"])
    if kind == "retype":
        scalars = [(p, v) for p, v in paths if isinstance(v, (int, float, str, bool)) and not _is_template(v)]
        if scalars:
            p, v = rng.choice(scalars)
            bad = rng.choice(WRONG_FOR_SCALAR)
            _set(doc, p, bad)
            # description/free-text fields may hold anything a string can; a mapping is still wrong there
            return doc, f"{'.'.join(map(str, p))}: {v!r} -> {bad!r}", p[-1] not in ("default", "choice")
    if kind == "number":
        numbers = [(p, v) for p, v in paths if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if numbers:
            p, v = rng.choice(numbers)
            bad = rng.choice(WRONG_FOR_NUMBER)
            _set(doc, p, bad)
            # a number field given a word, a list or a map is wrong; -7 or 10**30 is wrong for
            # counts and sizes (what most number fields are), not for every float
            sure = isinstance(bad, (str, list, dict)) or (isinstance(bad, int) and bad > 10**9)
            return doc, f"{'.'.join(map(str, p))}: {v!r} -> {bad!r}", sure and p[-1] not in ("low", "high", "seed")
    if kind == "unknown-key":
        maps = [(p, v) for p, v in paths if isinstance(v, dict) and v] + [((), doc)]
        p, m = rng.choice(maps)
        key = rng.choice(["bogus", "samplez", "modle", "inputs_", "__class__", "opp"])
        m[key] = 1
        # a space's 'space:' mapping takes any parameter name, a models mapping any model name
        free = bool(p) and p[-1] in ("space", "models", "nodes", "fields", "sampling", "extra_body", "vars")
        return doc, f"{'.'.join(map(str, p)) or '<top>'}: + {key}", not free and "space" not in p[:1]
    if kind == "dangling":
        refs = [(p, v) for p, v in paths if p[-1] in ("inputs", "output", "model") and v is not None]
        if refs:
            p, v = rng.choice(refs)
            bad = ["no_such_node"] if isinstance(v, list) else "no_such_thing"
            _set(doc, p, bad)
            return doc, f"{'.'.join(map(str, p))}: {v!r} -> {bad!r}", "${" not in json.dumps(v)
    if kind == "rename":
        keys = [(p, v) for p, v in paths if p[-1] in ("op", "nodes", "output", "models", "pipeline", "space")]
        if keys:
            p, v = rng.choice(keys)
            parent: Any = doc
            for q in p[:-1]:
                parent = parent[q]
            parent[str(p[-1]) + "x"] = parent.pop(p[-1])
            return doc, f"{'.'.join(map(str, p))} renamed", True
    if kind == "delete" and paths:
        p, v = rng.choice(paths)
        _delete(doc, p)
        return doc, f"{'.'.join(map(str, p))} deleted", p[-1] in ("op", "nodes", "output")
    if paths:
        p, v = rng.choice(paths)
        bad = rng.choice(ANY_VALUE)
        _set(doc, p, bad)
        return doc, f"{'.'.join(map(str, p))}: {v!r} -> {str(bad)[:40]!r}", False
    return doc, "unchanged", False


def _refused(data: bytes) -> bool:
    """Whether a YAML parser refuses the text (the oracle for raw edits: junk inside a
    quoted or block string, or a repeated line of text, is harmless)."""
    from ruamel.yaml import YAML

    try:
        YAML(typ="rt").load(data.decode("utf-8"))
    except Exception:
        return True
    return False


def mutate_bytes(data: bytes, rng: random.Random) -> tuple[bytes, str, bool]:
    """One raw mutation of a file's bytes: (new bytes, what was done, must it fail)."""
    kind = rng.choice(["truncate", "junk", "junk", "drop-line", "dup-line", "indent", "tab", "encoding", "whole"])
    lines = data.split(b"\n")
    if kind == "truncate":
        at = rng.randrange(1, max(2, len(data)))
        return data[:at], f"truncated at byte {at}", False
    if kind == "junk":
        at = rng.randrange(0, len(data) + 1)
        j = rng.choice(JUNK)
        new = data[:at] + j.encode() + data[at:]
        return new, f"{j!r} inserted at byte {at}", _refused(new)
    if kind == "drop-line" and len(lines) > 1:
        i = rng.randrange(len(lines))
        return b"\n".join(lines[:i] + lines[i + 1 :]), f"line {i + 1} dropped", False
    if kind == "dup-line" and len(lines) > 1:
        i = rng.randrange(len(lines))
        new = b"\n".join(lines[: i + 1] + [lines[i]] + lines[i + 1 :])
        return new, f"line {i + 1} repeated", _refused(new)
    if kind == "indent" and len(lines) > 2:
        i = rng.randrange(1, len(lines))
        if lines[i].strip() and not lines[i].lstrip().startswith(b"#"):
            n = rng.choice([1, 3])
            lines[i] = b" " * n + lines[i]
            return b"\n".join(lines), f"line {i + 1} indented by {n}", False
    if kind == "tab" and len(lines) > 2:
        i = rng.randrange(1, len(lines))
        if lines[i].startswith(b"  "):
            lines[i] = b"\t" + lines[i][2:]
            return b"\n".join(lines), f"tab indentation on line {i + 1}", True
    if kind == "encoding":
        how = rng.choice(["latin1-byte", "utf16", "nul"])
        if how == "latin1-byte":
            at = rng.randrange(0, len(data) + 1)
            return data[:at] + b"\xff\xfe\xc3" + data[at:], f"invalid UTF-8 at byte {at}", True
        if how == "utf16":
            return data.decode("utf-8", "replace").encode("utf-16"), "UTF-16 encoded", True
        return data.replace(b"\n", b"\x00\n", 1), "NUL byte on line 1", True
    whole = rng.choice([b"", b"null\n", b"[]\n", b"42\n", b"---\n---\n", b"# only a comment\n", b"a: 1\n---\nb: 2\n"])
    return whole, f"the whole file replaced by {whole!r}", True
