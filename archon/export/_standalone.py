"""``archon export --standalone``: a module that runs without archon.

The module inlines :mod:`archon.export._standalone_runtime` — its ``from archon...``
imports replaced by the source of those modules (value types, output parsers, the
sandbox) or by the constants they name — then the pipeline: the operators' prompts, the
models, one ``Node`` per node, and the same ``flow`` as the archon-runtime export.
It needs jinja2, litellm for remote models and llama-cpp-python for ``local/`` ones.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import sys
from collections.abc import Mapping
from typing import Any

from archon.backends import Limits
from archon.backends import backend_class
from archon.errors import ConfigurationError
from archon.export import _standalone_runtime
from archon.export._python import ENTRY_POINTS
from archon.export._python import _ident
from archon.export._python import _py
from archon.export._python import docstring
from archon.export._python import flow_lines
from archon.export._python import node_params
from archon.graph import build_graph
from archon.operators import operator_types
from archon.plan import make_plan
from archon.spec import NodeSpec
from archon.spec import PipelineSpec

# modules whose source goes into the file, in dependency order
_INLINED = (
    "archon.errors",
    "archon.backends._budget",
    "archon.backends._local_model",
    "archon._cachekey",
    "archon._templates",
    "archon._typing",
    "archon.operators._core",
    "archon.operators._parsing",
    "archon.operators._combine",
    "archon.sandbox._base",
    "archon.sandbox._subprocess",
    "archon.sandbox._bwrap",
    "archon.sandbox._judge",
    "archon.export._runner",
)

_USE = (
    'Use: run("text"), await arun("text"), batch([...]), await abatch([...]) — or',
    'python this_file.py "text" [--json] [--db PATH]. Needs no archon: jinja2, litellm for',
    "remote models, llama-cpp-python for local/ ones. Calls are cached in SQLite ($ARCHON_DB",
    "or archon's own cache file) under archon's keys: what archon paid for costs nothing here.",
)


class _Imports:
    """Import statements gathered from the inlined sources, written in isort's style."""

    def __init__(self) -> None:
        self.plain: set[str] = set()
        self.names: dict[str, set[str]] = {}

    def add(self, node: ast.Import | ast.ImportFrom) -> None:
        if isinstance(node, ast.Import):
            self.plain.update(a.name for a in node.names)
        else:
            assert node.module is not None
            self.names.setdefault(node.module, set()).update(
                a.name if a.asname is None else f"{a.name} as {a.asname}" for a in node.names
            )

    def lines(self) -> list[str]:
        def third(module: str) -> bool:
            return module.split(".")[0] not in sys.stdlib_module_names

        out: list[str] = []
        for section in (False, True):
            block = [f"import {m}" for m in sorted(self.plain) if third(m) == section]
            for module in sorted(m for m in self.names if third(m) == section):
                names = sorted(self.names[module], key=lambda n: (not n.isupper(), not n[:1].isupper(), n))
                line = f"from {module} import {', '.join(names)}"
                block += [line] if len(line) <= 88 else [f"from {module} import (", *[f"    {n}," for n in names], ")"]
            if block:
                out += [*block, ""]
        return out


def _body(
    module_name: str,
    imports: _Imports,
    constants: dict[str, Any],
    inlined: set[str],
    aliases: dict[str, str] | None = None,
) -> str:
    """A module's source after its imports (docstring, ``__all__`` and imports dropped);
    its non-archon imports go to ``imports``, the string constants it imports from archon
    modules that are not inlined go to ``constants``; names defined in an inlined module
    are already in the file.

    An operator's module (one defining a ``BaseOperator``) loses what only archon needs:
    its parameter classes (``NodeSpec`` subclasses) and each operator's ``spec_type``; with
    ``aliases``, an ``OpContext`` it imports (archon's context) becomes the file's ``Context``.

    Raises:
        ConfigurationError: the module needs something from archon that a module without
            archon cannot have.
    """
    module = importlib.import_module(module_name)
    source = inspect.getsource(module)
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    drop: list[tuple[int, int]] = []

    def refuse(what: str) -> ConfigurationError:
        return ConfigurationError(
            f"{module_name} uses {what}, which a module without archon cannot have — export without --standalone"
        )

    def is_spec(name: str) -> bool:
        value = getattr(module, name, None)
        return isinstance(value, type) and issubclass(value, NodeSpec)

    for stmt in tree.body:
        span = (stmt.lineno - 1, stmt.end_lineno or stmt.lineno)
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and stmt is tree.body[0]:
            drop.append(span)
        elif isinstance(stmt, ast.Import):
            drop.append(span)
            if any(a.name.split(".")[0] == "archon" for a in stmt.names):
                raise refuse("'import archon'")
            imports.add(stmt)
        elif isinstance(stmt, ast.ImportFrom):
            drop.append(span)
            mod = stmt.module
            if mod == "__future__":
                continue
            if mod and mod.split(".")[0] == "archon":
                if mod in inlined:
                    continue
                for alias in stmt.names:
                    value = getattr(importlib.import_module(mod), alias.name)
                    if isinstance(value, str):
                        constants[alias.asname or alias.name] = value
                    elif getattr(value, "__module__", None) in inlined and alias.asname is None:
                        continue  # defined in the file already
                    elif isinstance(value, type) and issubclass(value, NodeSpec):
                        continue  # an operator's parameters: archon's only
                    elif alias.name == "OpContext" and alias.asname is None and aliases is not None:
                        aliases["OpContext"] = "Context"
                    else:
                        raise refuse(f"{alias.name} from {mod}")
                continue
            imports.add(stmt)
        elif isinstance(stmt, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in stmt.targets):
            drop.append(span)
        elif isinstance(stmt, ast.ClassDef) and any(isinstance(b, ast.Name) and is_spec(b.id) for b in stmt.bases):
            if stmt.decorator_list:
                span = (stmt.decorator_list[0].lineno - 1, span[1])
            drop.append(span)  # a NodeSpec subclass
        elif isinstance(stmt, ast.ClassDef):
            for inner in stmt.body:
                targets = inner.targets if isinstance(inner, ast.Assign) else []
                if any(isinstance(t, ast.Name) and t.id == "spec_type" for t in targets):
                    drop.append((inner.lineno - 1, inner.end_lineno or inner.lineno))
    keep = [True] * len(lines)
    for a, b in drop:
        for i in range(a, b):
            keep[i] = False
    text = "".join(line for line, k in zip(lines, keep, strict=True) if k)
    return text.strip("\n") + "\n"


def _top_names(body: str) -> set[str]:
    """The names a module body defines at its top level."""
    names: set[str] = set()
    for stmt in ast.parse(body).body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(stmt.name)
        elif isinstance(stmt, (ast.Assign, ast.AnnAssign)):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
    return names


def _call(const: str, cls: str, args: list[str]) -> str:
    """``CONST = Cls(a, b)`` on one line, or one argument per line when long."""
    line = f"{const} = {cls}({', '.join(args)})"
    if len(line) <= 100:
        return line
    return "\n".join([f"{const} = {cls}(", *[f"    {a}," for a in args], ")"])


def _tuple(items: Any) -> str:
    return "(" + "".join(f"{_py(x)}, " for x in items).rstrip(" ") + ")" if items else "()"


def _model_settings(spec: Any) -> tuple[str, str, int]:
    """(cache endpoint, mode, concurrency) exactly as archon's backend for ``spec`` has them."""
    backend = backend_class(spec.model, spec)(spec)
    return backend.endpoint, backend.mode, spec.concurrency or backend.default_concurrency


def export_standalone(spec: PipelineSpec, *, source_text: str = "", provenance: Mapping[str, Any] | None = None) -> str:
    """The standalone Python module for ``spec`` (see the module docstring).

    Raises:
        ConfigurationError: a node or model a module without archon cannot run (a custom
            operator, ``vllm/`` or ``synthetic/`` models).
    """
    graph = build_graph(spec)
    plan = make_plan(graph)
    ops = operator_types()
    for nid, planned in plan.nodes.items():
        for bound in planned.models:
            prefix = bound.model.split("/", 1)[0]
            if prefix in ("vllm", "synthetic"):
                raise ConfigurationError(
                    f"node '{nid}': {bound.model} cannot run standalone ({prefix}/ models need archon) — "
                    "export without --standalone, or serve the model and use hosted_vllm/ with api_base"
                )

    imports = _Imports()
    imports.add(ast.ImportFrom(module="typing", names=[ast.alias("Any")], level=0))
    imports.add(ast.ImportFrom(module="collections.abc", names=[ast.alias("Mapping"), ast.alias("Sequence")], level=0))
    imports.add(ast.Import(names=[ast.alias("sys")]))
    runtime_constants: dict[str, Any] = {}
    inlined = set(_INLINED)
    bodies = [_body(m, imports, runtime_constants, inlined) for m in _INLINED]
    # the pipeline's operators: their own modules, as archon runs them
    used = {ops[n.spec.op] for n in plan.nodes.values()}
    op_modules = list(dict.fromkeys(cls.__module__ for cls in ops.values() if cls in used))
    aliases: dict[str, str] = {}
    op_bodies = [_body(m, imports, runtime_constants, inlined | set(op_modules), aliases) for m in op_modules]
    runtime_body = _body(_standalone_runtime.__name__, imports, runtime_constants, inlined)
    seen: dict[str, str] = {}
    for module, body in zip((*_INLINED, *op_modules), (*bodies, *op_bodies), strict=True):
        for name in _top_names(body):
            if name in seen and seen[name] != module:
                raise ConfigurationError(
                    f"{module} and {seen[name]} both define '{name}': a standalone module is one namespace — "
                    "rename one, or export without --standalone"
                )
            seen[name] = module
    op_names = {op: ops[op].__name__ for op in dict.fromkeys(n.spec.op for n in plan.nodes.values())}

    taken: set[str] = set(runtime_constants) | set(seen) | {"OPERATORS"}
    prompt_lines: list[str] = []
    by_value: dict[str, str] = {}  # one constant per distinct prompt text

    def text_const(name: str, value: str) -> str:
        if value not in by_value:
            by_value[value] = _ident(name, taken)
            prompt_lines.append(f"{by_value[value]} = {_py(value)}")
        return by_value[value]

    # models: one constant per alias (or model string) a node calls
    model_lines: list[str] = []
    model_const: dict[str, str] = {}
    for planned in plan.nodes.values():
        for bound in planned.models:
            if bound.name in model_const:
                continue
            m = bound.spec
            endpoint, mode, concurrency = _model_settings(m)
            price = bound.price()
            kwargs: dict[str, Any] = {"model": m.model, "endpoint": endpoint, "mode": mode}
            if m.api_base:
                kwargs["api_base"] = m.api_base
            if m.api_key_env:
                kwargs["api_key_env"] = m.api_key_env
            kwargs |= {"context": m.context, "timeout_s": m.timeout_s, "max_retries": m.max_retries}
            kwargs["concurrency"] = concurrency
            const = _ident(bound.name.upper().replace("/", "_") + "_MODEL", taken)
            model_const[bound.name] = const
            args = [f"{k}={_py(v)}" for k, v in kwargs.items()]
            if price is not None:
                args.append(f"price_per_1k=({price.prompt!r}, {price.completion!r})")
            model_lines.append(_call(const, "Model", args))

    node_lines: list[str] = []
    node_const: dict[str, str] = {}
    var: dict[str, str] = {}
    var_taken: set[str] = set()
    for nid, planned in plan.nodes.items():
        node = planned.spec
        const = _ident(nid.upper(), taken)
        node_const[nid] = const
        var[nid] = _ident(nid.lower(), var_taken)
        parts = [f"id={_py(nid)}", f"op={_py(node.op)}"]
        if planned.models:
            calls = ", ".join(
                f"({_py(b.name)}, {model_const[b.name]}, Sampling({_py(b.sampling.temperature)}, "
                f"{_py(b.sampling.top_p)}, {b.sampling.max_tokens}, {_tuple(b.sampling.stop)}))"
                for b in planned.models
            )
            parts.append(f"models=({calls},)")
        for fieldname in ("prompt", "template", "system"):  # the node's own (the operator's: its PROMPTS)
            value = getattr(node, fieldname, None)
            if value:
                parts.append(f"{fieldname}={text_const(f'{const}_{fieldname.upper()}', value)}")
        params = node_params(node)
        if params:
            parts.append(f"params={_py(params)}")
        node_lines.append(_call(const, "Node", parts))

    flow, _ = flow_lines(plan, var, "NodeValue")  # the runtime imports asyncio
    limits = Limits.of(spec.budget.per_query if spec.budget is not None else None)
    budget = f"Limits({_py(limits.calls)}, {_py(limits.tokens)}, {_py(limits.usd)})"

    out = [docstring(spec, plan, source_text, provenance, _USE), "", "from __future__ import annotations", ""]
    out += imports.lines()
    rule = "# " + "-" * 86
    out += [rule, "# The runtime (inlined from archon): value types, parsers, sandbox, call cache, operators", rule]
    for name, value in runtime_constants.items():
        out.append(f"{name} = {_py(value)}")
    for body in bodies:
        out += ["", "", body.rstrip("\n")]
    out += [""] + [f"{name} = {value}" for name, value in aliases.items()]
    for body in op_bodies:
        out += ["", "", body.rstrip("\n")]
    out += ["", "", runtime_body.rstrip("\n")]
    out += ["", "", rule, f"# The pipeline: {spec.name or 'pipeline'}", rule]
    out += [f"NAME = {_py(spec.name or 'pipeline')}", ""]
    if prompt_lines:
        out += ["# Prompts (Jinja2 over the input item's fields)", *prompt_lines, ""]
    out += ["# Models", *model_lines, "", "# Nodes, in topological order", *node_lines, ""]
    out += ["NODES = {" + ", ".join(f"{_py(n)}: {node_const[n]}" for n in plan.nodes) + "}"]
    out += [
        f"OUTPUT = {_py(plan.graph.output)}",
        f"BUDGET = {budget}  # per query: calls, tokens, dollars (None: no cap)",
    ]
    out += ["OPERATORS: dict[str, BaseOperator] = {" + ", ".join(f"{_py(k)}: {v}()" for k, v in op_names.items()) + "}"]
    out += ["", "", *flow, "", ""]
    out += [
        "def program(db: str | None = None) -> Program:",
        '    """The pipeline on a cache database (default: $ARCHON_DB or archon\'s own)."""',
        "    return Program(NODES, OUTPUT, OPERATORS, budget=BUDGET, db=db)",
        "",
        "",
        "_program: Program | None = None",
        "",
        "",
        "def _default() -> Program:",
        "    global _program",
        "    if _program is None:",
        "        _program = program()",
        "    return _program",
        "",
        "",
        *ENTRY_POINTS,
    ]
    return "\n".join(out)
