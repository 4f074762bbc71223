"""The blocks of a search-space file that are not the pipeline: its ``space:`` parameters,
``demos:`` (demonstration blocks) and ``instructions:`` (instruction variants), each
parsed to its value with located problems."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import replace
from typing import Any
from typing import Literal

from archon.search._demos import SELECT
from archon.search._demos import DemoBlock
from archon.search._demos import InstructionBlock
from archon.search._param import Param
from archon.spec import PARAM_RE


def parse_instructions(raw: Any, add: Any) -> InstructionBlock | None:
    """``instructions: {candidates: ["", "..."], propose: 2, model: m}``."""
    if not isinstance(raw, dict):
        add(
            ("instructions",),
            "instructions: must be a mapping",
            'write instructions: {candidates: ["", "..."], propose: 2}',
        )
        return None
    for key in sorted(set(raw) - {"candidates", "propose", "model", "shown"}):
        add(("instructions", key), f"unknown field '{key}' of instructions:", "use candidates, propose, model, shown")
    cands = raw.get("candidates", [""])
    if not isinstance(cands, list) or not cands or not all(isinstance(c, str) for c in cands):
        add(("instructions", "candidates"), "candidates must be a non-empty list of strings", 'write candidates: [""]')
        return None
    propose = raw.get("propose", 0)
    if not isinstance(propose, int) or isinstance(propose, bool) or not 0 <= propose <= 16:
        add(("instructions", "propose"), f"propose must be a whole number 0-16, got {propose!r}", "write propose: 2")
        return None
    shown = raw.get("shown", 5)
    if not isinstance(shown, int) or isinstance(shown, bool) or not 1 <= shown <= 32:
        add(("instructions", "shown"), f"shown must be a whole number 1-32, got {shown!r}", "write shown: 5")
        return None
    model = raw.get("model")
    if model is not None and not isinstance(model, str):
        add(("instructions", "model"), "model must be an alias of the pipeline's models", "write model: m")
        model = None
    if len(cands) + propose < 2:
        add(("instructions",), "one instruction is not a choice", "add candidates or propose: 2")
    return InstructionBlock(tuple(cands), propose, model, shown)


def parse_demos(raw: Any, params: list[Param], add: Any) -> list[DemoBlock]:
    """``demos: {format: ..., count: ..., select: ..., seed: ...}`` (defines ``${demos}``)
    or ``demos: {name: {format: ...}, ...}`` for several named blocks."""
    if not isinstance(raw, dict) or not raw:
        add(
            ("demos",),
            "demos: must be a mapping",
            'write demos: {format: "Q: {{ input }}\\nA: {{ answer }}\\n", count: 4}',
        )
        return []
    blocks = {"demos": raw} if "format" in raw else raw
    by_name = {p.name: p for p in params}
    out = []
    for name, spec in blocks.items():
        path = ("demos",) if "format" in raw else ("demos", str(name))
        if not isinstance(spec, dict) or not isinstance(spec.get("format"), str):
            add(
                path,
                "a demos block needs format: (Jinja2 over a train item's fields and answer)",
                'write format: "Q: {{ input }}\\nA: {{ answer }}\\n"',
            )
            continue
        unknown = set(spec) - {"format", "count", "select", "seed", "separator"}
        for key in sorted(unknown):
            add(path + (key,), f"unknown field '{key}' of a demos block", "use format, count, select, seed, separator")
        block = DemoBlock(
            str(name),
            spec["format"],
            spec.get("count", 4),
            spec.get("select", "random"),
            spec.get("seed", 0),
            str(spec.get("separator", "")),
        )
        checks: tuple[tuple[str, Callable[[Any], bool], str], ...] = (
            ("count", lambda v: isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 64, "a whole number 0-64"),
            ("select", lambda v: v in SELECT, " or ".join(SELECT)),
            ("seed", lambda v: isinstance(v, int) and not isinstance(v, bool), "a whole number"),
        )
        for key, ok, fix in checks:
            value = getattr(block, key)
            whole = PARAM_RE.fullmatch(value.strip()) if isinstance(value, str) else None
            ref = whole.group(1) if whole else None
            if ref is not None and ref not in by_name:
                add(path + (key,), f"{key}: ${{{ref}}} is not a parameter of the space", "declare it under space:")
            elif ref is not None:
                p = by_name[ref]
                values = p.grid() if p.kind != "float" else [p.low, p.high]
                bad = [v for v in values if not ok(v)]
                if bad:
                    add(
                        path + (key,),
                        f"{key} takes {fix}; parameter '{ref}' can be {bad[0]!r}",
                        f"make {ref}'s values {fix}",
                    )
            elif not ok(value):
                add(
                    path + (key,),
                    f"{key} must be {fix} or a ${{param}}, got {value!r}",
                    f"write {key}: {fix.split(' or ')[0]}",
                )
        try:
            import jinja2

            jinja2.Environment().parse(block.format)
        except jinja2.TemplateSyntaxError as exc:
            add(path + ("format",), f"Jinja2 template error: {exc.message}", "fix the format template")
            continue
        out.append(block)
    return out


def parse_params(raw: Any, add: Any) -> list[Param]:
    out: list[Param] = []
    if not isinstance(raw, dict) or not raw:
        add(("space",), "space: must map parameter names to ranges", "write space: {n: {int: [1, 8]}}")
        return out
    for name, spec in raw.items():
        path = ("space", str(name))
        if not isinstance(spec, dict):
            add(path, "a parameter must be a mapping", "write {int: [1, 8]}, {choice: [a, b]}, {bool: true}")
            continue
        when = spec.get("when")
        cond: tuple[str, Any] | None = None
        if isinstance(when, str):
            cond = (when, True)
        elif isinstance(when, dict) and len(when) == 1:
            cond = next(iter(when.items()))
            want = cond[1]
            if isinstance(want, dict) and (set(want) - {"not", "in"} or len(want) != 1):
                add(
                    path + ("when",),
                    f"when: {{{cond[0]}: ...}} takes a value, {{not: value}} or {{in: [values]}}",
                    f"write when: {{{cond[0]}: {{in: [a, b]}}}}",
                )
                cond = None
            elif isinstance(want, dict) and "in" in want and not isinstance(want["in"], list):
                add(path + ("when", str(cond[0]), "in"), "in: takes a list of values", "write in: [a, b]")
                cond = None
        elif when is not None:
            add(
                path + ("when",),
                "when: must name a bool parameter or be {param: value}, {param: {not: value}} or {param: {in: [...]}}",
                "write when: use_rank",
            )
        unknown = set(spec) - {"int", "float", "bool", "choice", "subset", "when", "log", "min", "max", "default"}
        for key in sorted(unknown):
            add(
                path + (key,),
                f"unknown field '{key}' of a parameter",
                "use int, float, bool, choice, subset, when, default",
            )
        kinds = [k for k in ("int", "float", "bool", "choice", "subset") if k in spec]
        if len(kinds) != 1:
            add(path, "give exactly one of int, float, bool, choice, subset", "write {int: [1, 8]}")
            continue
        kind = kinds[0]
        value = spec[kind]
        if kind in ("int", "float"):
            if not (
                isinstance(value, list)
                and len(value) == 2
                and all(isinstance(v, (int, float)) for v in value)
                and value[0] <= value[1]
            ):
                add(path + (kind,), f"{kind} needs [low, high] with low <= high", f"write {kind}: [1, 8]")
                continue
            numeric: Literal["int", "float"] = "int" if kind == "int" else "float"
            out.append(Param(str(name), numeric, value[0], value[1], bool(spec.get("log", False)), when=cond))
        elif kind == "bool":
            out.append(Param(str(name), "bool", when=cond))
        elif kind == "subset":
            if not isinstance(value, list) or not value or len(set(map(str, value))) != len(value):
                add(path + ("subset",), "subset needs a non-empty list of distinct items", "write subset: [m1, m2, m3]")
                continue
            lo, hi = spec.get("min", 1), spec.get("max", len(value))
            if not (isinstance(lo, int) and isinstance(hi, int) and 1 <= lo <= hi <= len(value)):
                add(path, f"subset sizes need 1 <= min <= max <= {len(value)}", "write {subset: [a, b, c], max: 2}")
                continue
            combos = tuple(c for size in range(lo, hi + 1) for c in itertools.combinations(value, size))
            out.append(Param(str(name), "subset", choices=combos, when=cond))
        else:
            if not isinstance(value, list) or not value:
                add(path + ("choice",), "choice needs a non-empty list", "write choice: [vote, fuse]")
                continue
            out.append(Param(str(name), "choice", choices=tuple(value), when=cond))
    for i, p in enumerate(out):
        raw_p = raw.get(p.name, {})
        if isinstance(raw_p, dict) and "default" in raw_p:
            out[i] = replace(p, inactive=(raw_p["default"],))
    known = {p.name for p in out}
    for p in out:
        if p.when and p.when[0] not in known:
            add(
                ("space", p.name, "when"),
                f"when: names unknown parameter '{p.when[0]}'",
                "name a parameter of the space",
            )
    return out
