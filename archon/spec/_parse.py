"""Pipeline YAML → a validated :class:`PipelineSpec` (every problem reported at once)."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path as FsPath
from typing import Any

from pydantic import BaseModel
from pydantic import ValidationError

from archon._files import MAX_SPEC_BYTES
from archon._files import FileTooLarge
from archon._files import NotUTF8
from archon._files import read_text_limited
from archon.errors import Problem
from archon.errors import SpecError
from archon.spec._models import BudgetSpec
from archon.spec._models import DatasetSpec
from archon.spec._models import ModelSpec
from archon.spec._models import NodeSpec
from archon.spec._yaml import Locations
from archon.spec._yaml import Path
from archon.spec._yaml import dotted
from archon.spec._yaml import load_yaml
from archon.spec._yaml import locate

TOP_LEVEL = ("name", "description", "models", "nodes", "layers", "output", "budget", "dataset", "metric")
PARAM_RE = re.compile(r"\$\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}")


@dataclass(frozen=True)
class PipelineSpec:
    """A parsed, field-validated pipeline. Graph checks (edges, cycles) come next."""

    name: str
    description: str
    models: Mapping[str, ModelSpec]
    nodes: Mapping[str, NodeSpec]
    output: str
    budget: BudgetSpec | None = None
    dataset: DatasetSpec | None = None
    metric: str | None = None
    file: str = "<string>"
    locations: Locations = field(default_factory=dict, repr=False, compare=False)

    def where(self, *path: str | int) -> tuple[int, int]:
        return locate(self.locations, path)

    def problem(self, path: Path, message: str, fix: str = "") -> Problem:
        line, col = locate(self.locations, path)
        return Problem(self.file, line, col, dotted(path), message, fix)


class Collector:
    def __init__(self, file: str, locations: Locations) -> None:
        self.file = file
        self.locations = locations
        self.problems: list[Problem] = []
        self.silenced: set[Path] = set()  # paths already reported (e.g. an unresolved ${param})
        self.ambiguous_layers = False

    def unknown_keys(self, data: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
        """Reports top-level keys that are not ``allowed``, with a did-you-mean."""
        for key in data:
            if key not in allowed:
                close = difflib.get_close_matches(str(key), allowed, n=1)
                self.add(
                    (str(key),),
                    f"unknown top-level field '{key}'",
                    (f"did you mean '{close[0]}'? " if close else "") + "allowed: " + ", ".join(allowed),
                )

    def block(self, model: type[BaseModel], raw: Any, path: Path) -> Any:
        """``model`` validated from ``raw`` (None when absent); problems are recorded, None returned."""
        if raw is None:
            return None
        try:
            return model.model_validate(raw)
        except ValidationError as exc:
            self.pydantic(exc, path, model)
            return None

    def add(self, path: Path, message: str, fix: str = "", value: bool = False) -> None:
        if tuple(path) in self.silenced:
            return
        target = tuple(path) + ("<value>",) if value and tuple(path) + ("<value>",) in self.locations else tuple(path)
        line, col = locate(self.locations, target)
        self.problems.append(Problem(self.file, line, col, dotted(path), message, fix))

    def pydantic(self, exc: ValidationError, prefix: Path, model: type[BaseModel]) -> None:
        allowed = sorted(model.model_fields)
        for err in exc.errors():
            loc = tuple(prefix) + tuple(err["loc"])
            kind = err["type"]
            name = str(err["loc"][-1]) if err["loc"] else ""
            if kind == "extra_forbidden":
                close = difflib.get_close_matches(name, allowed, n=1)
                hint = f"did you mean '{close[0]}'? " if close else ""
                self.add(loc, f"unknown parameter '{name}'", f"{hint}allowed: {', '.join(allowed)}")
            elif kind == "missing":
                self.add(loc[:-1], f"required field '{name}' is missing", f"add {name}: ...")
            elif kind == "literal_error":
                self.add(
                    loc, f"{err['msg'].lower()}, got {err.get('input')!r}", "use one of the listed values", value=True
                )
            elif name == "api_base" and kind == "value_error":  # never echo it: it may hold a password
                self.add(loc, err["msg"].removeprefix("Value error, "), "fix api_base", value=True)
            elif name == "api_key_env":  # never echo it: a pasted key is the likeliest mistake
                self.add(
                    loc,
                    "api_key_env must name an environment variable (letters, digits, _), not hold the key",
                    "write api_key_env: OPENAI_API_KEY and export the key in that variable",
                    value=True,
                )
            else:
                got = err.get("input")
                shown = f", got {_clip(got)}" if not isinstance(got, (dict, list)) else ""
                self.add(loc, f"{err['msg'].lower()}{shown}", _fix_for(kind, name), value=True)


def _clip(value: Any) -> str:
    text = repr(value) if not isinstance(value, int) or abs(value) < 10**60 else "a huge number"
    return text if len(text) <= 80 else text[:77] + "..."


def _fix_for(kind: str, name: str) -> str:
    if kind in ("less_than", "less_than_equal"):
        return f"{name} is far above any sensible value: lower it"
    if kind in ("greater_than", "greater_than_equal") and name in ("samples", "top_k", "count"):
        return f"{name} must be a whole number of at least 1"
    if kind.startswith(("int_", "float_", "bool_", "string_", "list_", "dict_", "model_")):
        return f"give {name} a value of the right type (see docs/pipeline-yaml.md)"
    return "see docs/pipeline-yaml.md"


def find_params(data: Any, path: Path, out: list[tuple[Path, str]]) -> None:
    if isinstance(data, dict):
        for k, v in data.items():
            find_params(v, path + (str(k),), out)
    elif isinstance(data, list):
        for i, v in enumerate(data):
            find_params(v, path + (i,), out)
    elif isinstance(data, str):
        for m in PARAM_RE.finditer(data):
            out.append((path, m.group(1)))


def parse_pipeline(
    text: str, file: str = "<string>", node_types: Mapping[str, type[NodeSpec]] | None = None
) -> PipelineSpec:
    """Parses and field-validates a pipeline file's text.

    Args:
        text: the YAML text.
        file: the name used in error messages.
        node_types: operator key → its parameter model; default: the built-in operators.

    Raises:
        SpecError: with every problem found, each located.
    """
    if node_types is None:
        from archon.spec._nodes import BUILTIN_NODE_TYPES

        node_types = BUILTIN_NODE_TYPES
    data, locations = load_yaml(text, file)
    col = Collector(file, locations)
    if not isinstance(data, dict):
        col.add(
            (),
            f"the file must be a mapping (name:, models:, nodes:, output:), got a {type(data).__name__}",
            "start with 'name: ...' and 'nodes:' at the top level (see docs/quickstart.md)",
        )
        raise SpecError(col.problems)

    col.unknown_keys(data, TOP_LEVEL)
    params: list[tuple[Path, str]] = []
    find_params(data, (), params)
    for path, name in params:
        col.add(
            path,
            f"unresolved parameter ${{{name}}}",
            "${...} parameters belong in optimizer space files (archon optimize); put a value here",
            value=True,
        )
        col.silenced.add(tuple(path))

    name = data.get("name", "")
    if not isinstance(name, str):
        col.add(("name",), "name must be a string", "quote it", value=True)
        name = str(name)
    description = data.get("description", "") or ""
    if not isinstance(description, str):
        col.add(("description",), "description must be a string", "quote it", value=True)
        description = str(description)

    models = _parse_models(data.get("models"), col)
    raw_nodes, output = _raw_nodes(data, col)
    nodes: dict[str, NodeSpec] = {}
    for nid, raw in raw_nodes.items():
        spec = _parse_node(nid, raw, node_types, col)
        if spec is not None:
            nodes[nid] = spec

    budget = col.block(BudgetSpec, data.get("budget"), ("budget",))
    dataset = col.block(DatasetSpec, data.get("dataset"), ("dataset",))
    metric = data.get("metric")
    if metric is not None and not isinstance(metric, str):
        col.add(
            ("metric",),
            "metric must be a name (exact, numeric, math, ...) or module:function",
            "write metric: exact",
            value=True,
        )
        metric = None

    if output is None and raw_nodes and not col.ambiguous_layers:
        col.add(
            (),
            "no output: the pipeline does not say which node gives the answer",
            "add 'output: <node id>' at the top level" + (f" (nodes: {', '.join(raw_nodes)})" if raw_nodes else ""),
        )
    elif output is None:
        pass
    elif not isinstance(output, str):
        col.add(("output",), "output must be a node id (a string)", "write output: <node id>", value=True)
    elif raw_nodes and output not in raw_nodes:
        close = difflib.get_close_matches(output, list(raw_nodes), n=1)
        col.add(
            ("output",),
            f"output names unknown node '{output}'",
            (f"did you mean '{close[0]}'? " if close else "") + f"nodes: {', '.join(raw_nodes)}",
            value=True,
        )
    if col.problems:
        raise SpecError(col.problems)
    assert isinstance(output, str)  # every other case added a problem above
    return PipelineSpec(
        name=name,
        description=description,
        models=models,
        nodes=nodes,
        output=output,
        budget=budget,
        dataset=dataset,
        metric=metric,
        file=file,
        locations=locations,
    )


def _parse_models(raw: Any, col: Collector) -> dict[str, ModelSpec]:
    models: dict[str, ModelSpec] = {}
    if raw is None:
        return models
    if not isinstance(raw, dict):
        col.add(
            ("models",),
            "models must be a mapping of alias → {model: ..., ...}",
            "write e.g. models: {gemma: {model: local/gemma-3-270m}}",
        )
        return models
    for alias, spec in raw.items():
        if isinstance(spec, str):
            spec = {"model": spec}
        if not isinstance(spec, dict):
            col.add(
                ("models", str(alias)),
                f"model alias '{alias}' must be a mapping or a model string",
                "write {model: <provider/name>, temperature: ...}",
            )
            continue
        try:
            models[str(alias)] = ModelSpec.model_validate(spec)
        except ValidationError as exc:
            col.pydantic(exc, ("models", str(alias)), ModelSpec)
    return models


def _raw_nodes(data: dict[str, Any], col: Collector) -> tuple[dict[str, Any], Any]:
    output = data.get("output")
    has_nodes, has_layers = data.get("nodes") is not None, data.get("layers") is not None
    if has_nodes and has_layers:
        col.add(("layers",), "both nodes: and layers: are given", "use one of them")
        return {}, output
    if not has_nodes and not has_layers:
        col.add((), "no nodes: and no layers:", "add nodes: (a graph) or layers: (a list of layers)")
        return {}, output
    if has_nodes:
        raw = data["nodes"]
        if not isinstance(raw, dict) or not raw:
            col.add(
                ("nodes",),
                "nodes must be a non-empty mapping of node id → {op: ..., ...}",
                "write nodes: {answer: {op: generate, model: ...}}",
            )
            return {}, output
        return {str(k): v for k, v in raw.items()}, output
    return _expand_layers(data["layers"], col, output)


def _expand_layers(raw: Any, col: Collector, output: Any) -> tuple[dict[str, Any], Any]:
    if not isinstance(raw, list) or not raw:
        col.add(
            ("layers",),
            "layers must be a non-empty list of layers (each a list of nodes)",
            "write layers: [[{op: generate, ...}], [{op: fuse, ...}]]",
        )
        return {}, output
    nodes: dict[str, Any] = {}
    previous: list[str] = []
    for i, (where, layer) in enumerate(_repeat_layers(raw, col)):
        if isinstance(layer, dict):
            layer = [layer]
        if not isinstance(layer, list) or not layer:
            col.add(where, f"layer {i} must be a non-empty list of nodes", "write - [{op: ..., ...}]")
            continue
        current: list[str] = []
        for j, entry in enumerate(layer):
            path = (*where, j)
            if not isinstance(entry, dict):
                col.add(path, "a layer entry must be a mapping {op: ..., ...}", "write {op: generate, model: ...}")
                continue
            entry = dict(entry)
            nid = entry.pop("id", None)
            if nid is None:
                op = entry.get("op", "node")
                nid = f"layer{i}_{op}" if len(layer) == 1 else f"layer{i}_{op}_{j}"
            nid = str(nid)
            if nid in nodes:
                col.add(path + ("id",), f"duplicate node id '{nid}'", "give each node a different id")
                continue
            if "inputs" not in entry and previous:
                entry["inputs"] = list(previous)
            # Errors inside this node are reported at the layer entry's own location.
            for p, loc in list(col.locations.items()):
                if p[: len(path)] == path:
                    col.locations[("nodes", nid) + p[len(path) :]] = loc
            nodes[nid] = entry
            current.append(nid)
        previous = current
    if output is None:
        if len(previous) == 1:
            output = previous[0]
        elif previous:
            col.ambiguous_layers = True
            col.add(
                ("layers", len(raw) - 1),
                f"the last layer has {len(previous)} nodes, so the output is ambiguous",
                "end with a one-node layer (e.g. a fuse) or add output: <node id>",
            )
    return nodes, output


def _repeat_layers(raw: list[Any], col: Collector) -> list[tuple[Path, Any]]:
    """Expands ``{repeat: N, layer: [...]}`` entries into N copies of the layer."""
    out: list[tuple[Path, Any]] = []
    for i, layer in enumerate(raw):
        if not (isinstance(layer, dict) and "repeat" in layer):
            out.append((("layers", i), layer))
            continue
        count, body = layer.get("repeat"), layer.get("layer")
        extra = sorted(set(layer) - {"repeat", "layer"})
        if extra:
            col.add(
                ("layers", i, extra[0]), f"unknown field '{extra[0]}' in a repeat", "write {repeat: 3, layer: [...]}"
            )
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            col.add(
                ("layers", i, "repeat"),
                f"repeat must be a whole number ≥ 0, got {count!r}",
                "write repeat: 3",
                value=True,
            )
            continue
        if body is None:
            col.add(("layers", i), "a repeat needs layer: [nodes]", "write {repeat: 3, layer: [{op: fuse, ...}]}")
            continue
        out.extend((("layers", i, "layer"), body) for _ in range(count))
    return out


def _parse_node(nid: str, raw: Any, node_types: Mapping[str, type[NodeSpec]], col: Collector) -> NodeSpec | None:
    path: Path = ("nodes", nid)
    if not isinstance(raw, dict):
        col.add(path, f"node '{nid}' must be a mapping {{op: ..., ...}}", "write e.g. {op: generate, model: m}")
        return None
    op = raw.get("op")
    if op is None:
        col.add(path, f"node '{nid}' has no op", f"add op: one of {', '.join(sorted(node_types))}")
        return None
    if not isinstance(op, str) or op not in node_types:
        close = difflib.get_close_matches(str(op), list(node_types), n=1)
        col.add(
            path + ("op",),
            f"unknown operator '{op}'",
            (f"did you mean '{close[0]}'? " if close else "") + f"operators: {', '.join(sorted(node_types))}",
            value=True,
        )
        return None
    model = node_types[op]
    if isinstance(raw.get("inputs"), str):
        raw = {**raw, "inputs": [raw["inputs"]]}
    try:
        spec = model.model_validate(raw)
    except ValidationError as exc:
        col.pydantic(exc, path, model)
        return None
    _check_templates(spec, path, col)
    return spec


def _check_templates(spec: NodeSpec, path: Path, col: Collector) -> None:
    import jinja2

    from archon._templates import environment

    env = environment()  # as the operators render
    for name in ("template", "prompt", "system"):
        text = getattr(spec, name, None)
        if not isinstance(text, str):
            continue
        try:
            env.from_string(text)  # compiled, not only parsed: an unknown filter or test is found here
        except jinja2.TemplateSyntaxError as exc:
            col.add(
                path + (name,),
                f"Jinja2 template error on its line {exc.lineno}: {exc.message}",
                "fix the template (variables are {{ field }}, blocks are {% ... %})",
                value=True,
            )


def parse_pipeline_file(path: str | FsPath, node_types: Mapping[str, type[NodeSpec]] | None = None) -> PipelineSpec:
    """Reads and parses a pipeline file; an unreadable file is a :class:`SpecError`."""
    return parse_pipeline(read_source(path), str(path), node_types)


def read_source(path: str | FsPath) -> str:
    """A YAML file's text; an unreadable file is a located :class:`SpecError`."""
    p = FsPath(path)
    try:
        return read_text_limited(p, MAX_SPEC_BYTES)
    except FileNotFoundError:
        raise SpecError(Problem(str(p), 0, 0, "", "file not found", "check the path")) from None
    except IsADirectoryError:
        raise SpecError(Problem(str(p), 0, 0, "", "is a directory, not a YAML file", "pass a .yaml file")) from None
    except NotUTF8 as exc:
        raise SpecError(
            Problem(str(p), exc.line, exc.col, "", f"not UTF-8 text ({exc.reason})", "save the file as UTF-8")
        ) from None
    except FileTooLarge as exc:
        raise SpecError(Problem(str(p), 0, 0, "", f"the file is {exc.strerror}", "pass a YAML file")) from None
    except OSError as exc:
        raise SpecError(
            Problem(str(p), 0, 0, "", f"cannot read: {exc.strerror}", "check the path and permissions")
        ) from None
