"""``archon export --format dspy``: a compiled pipeline as a ``dspy.Module`` program.

One ``dspy.Predict`` per LLM node (instructions = the node's prompt, its model set on
the predictor), ``forward`` walking the graph in topological order with the operator
functions of :mod:`archon.export.dspy`. The program's state (``prog.save()``: every
predictor's instructions, demos and LM settings, never an API key) is written next to
the module and loaded by ``program()``.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from archon.backends import backend_class
from archon.errors import ConfigurationError
from archon.export._python import _ident
from archon.export._python import _py
from archon.export._python import docstring
from archon.export._python import node_params
from archon.graph import build_graph
from archon.operators import operator_types
from archon.plan import BoundModel
from archon.plan import make_plan
from archon.spec import PipelineSpec

DEFAULT_LOCAL_API_BASE = "http://127.0.0.1:8080/v1"
_USE = (
    'Use: prog = program(); prog(input="text").answer — or python this_file.py "text".',
    "program(lms={alias: dspy.LM(...)}) replaces models; tune it further with any DSPy optimizer.",
    f"local/ models are reached at $ARCHON_LOCAL_API_BASE (default {DEFAULT_LOCAL_API_BASE}): start",
    "the server with: archon serve local/NAME --port 8080 (llama.cpp; chat = archon's plain prompt).",
)


def instructions_of(spec: PipelineSpec, node_id: str) -> str:
    """The instructions of a node's predictor: its own prompt (``template`` for generate)
    or the operator's, after its system prompt."""
    node = spec.nodes[node_id]
    if node.op == "generate":
        text = getattr(node, "template", None) or "{{ input }}"
    else:
        text = getattr(node, "prompt", None) or operator_types()[node.op].default_prompt(node) or "{{ prompt }}"
    system = getattr(node, "system", None)
    return f"{system}\n\n{text}" if system else str(text)


def _lm_args(bound: BoundModel, local_api_base: str | None) -> list[str]:
    m = bound.spec
    prefix = m.model.split("/", 1)[0]
    if prefix in ("vllm", "synthetic"):
        raise ConfigurationError(
            f"{m.model}: a DSPy program reaches models through litellm — serve a vllm/ model with "
            "'vllm serve' and use hosted_vllm/<name> with api_base; synthetic/ models are simulations"
        )
    backend = backend_class(m.model, m)(m)
    mode = backend.mode
    if prefix == "local":
        name = Path(m.model.split("/", 1)[1]).stem
        args = [_py("openai/" + name), "api_base=local_api_base"]  # archon serve: chat = the plain prompt
        mode = "chat"
    else:
        args = [_py(m.model)]
        if m.api_base:
            args.append(f"api_base={_py(m.api_base)}")
    if m.api_key_env:
        args.append(f"api_key_env={_py(m.api_key_env)}")
    s = bound.sampling
    args += [f"mode={_py(mode)}", f"temperature={_py(s.temperature)}", f"top_p={_py(s.top_p)}"]
    args.append(f"max_tokens={s.max_tokens}")
    if s.stop:
        args.append(f"stop={_py(list(s.stop))}")
    return args


def _class_name(name: str) -> str:
    words = re.findall(r"[A-Za-z0-9]+", name) or ["Pipeline"]
    out = "".join(w[:1].upper() + w[1:] for w in words)
    return out if out[0].isalpha() else "P" + out


def export_dspy(spec: PipelineSpec, *, source_text: str = "", provenance: Mapping[str, Any] | None = None) -> str:
    """The DSPy program module for ``spec`` (see the module docstring)."""
    graph = build_graph(spec)
    plan = make_plan(graph)
    ops = operator_types()
    taken: set[str] = {"NAME", "LOCAL_API_BASE", "ADAPTER", "STATE", "PREDICTORS"}
    texts: list[str] = []
    by_value: dict[str, str] = {}

    def const(name: str, value: Any) -> str:
        text = _py(value)
        if text not in by_value:
            by_value[text] = _ident(name, taken)
            texts.append(f"{by_value[text]} = {text}")
        return by_value[text]

    # one LM per (alias, sampling) a node calls: the alias's own, or the node's overrides
    lm_lines: list[str] = []
    lm_key: dict[tuple[str, Any], str] = {}
    for planned in plan.nodes.values():
        for b in planned.models:
            key = (b.name, b.sampling)
            if key not in lm_key:
                base = b.name if not any(k[0] == b.name for k in lm_key) else f"{b.name}@{planned.id}"
                lm_key[key] = base
                lm_lines.append(f"        {_py(base)}: ops.lm({', '.join(_lm_args(b, None))}),")
    init: list[str] = []
    llm: set[str] = set()  # nodes with a predictor
    use: list[str] = []
    body: list[str] = []
    var: dict[str, str] = {}
    var_taken: set[str] = {"item", "self", "input", "fields", "ops", "dspy"}
    for nid, planned in plan.nodes.items():
        node = planned.spec
        v = var[nid] = _ident(nid.lower(), var_taken)
        args = [_py(node.op), _py(nid)]
        params = node_params(node, keep=("template",))  # the query: the node's template, rendered
        args.append(const(nid.upper() + "_PARAMS", params) if len(_py(params)) > 60 else _py(params))
        if planned.models:  # a predictor, its model set on it
            llm.add(nid)
            instr = const(nid.upper() + "_INSTRUCTIONS", instructions_of(spec, nid))
            sig = f"ops.signature_for({_py(node.op)}, {_py(ops[node.op].prompt_name(node))})"
            init.append(f"        self.{v} = dspy.Predict({sig}.with_instructions({instr}))")
            first = planned.models[0]
            use.append(f"        self.{v}.lm = self.lms[{_py(lm_key[(first.name, first.sampling)])}]")
            args.append(f"self.{v}")
            models = ", ".join(
                f"({_py(b.name)}, None)"
                if i == 0
                else f"({_py(b.name)}, self.lms[{_py(lm_key[(b.name, b.sampling)])}])"
                for i, b in enumerate(planned.models)
            )
        else:  # vote, unit_test_evaluate on code tests: no model
            args.append("None")
            models = ""
        args += ["item", *(var[s] for s in planned.inputs)]
        if models:
            args.append(f"models=[{models}]")
        if node.when is not None:
            args.append(f"values={{{_py(node.when.node)}: {var[node.when.node]}}}")
        body.append(f"{v} = ops.step({', '.join(args)})")
    out_var = var[plan.graph.output]
    cls = _class_name(spec.name or "pipeline")
    doc = docstring(spec, plan, source_text, provenance, _USE)
    lines = [doc, "", "from __future__ import annotations", ""]
    lines += ["import os", "import sys", "from collections.abc import Mapping", "from pathlib import Path", ""]
    lines += [
        "import dspy  # type: ignore[import-untyped, unused-ignore]",
        "",
        "from archon.export import dspy as ops",
        "",
    ]
    lines += [f"NAME = {_py(spec.name or 'pipeline')}"]
    lines += ['LOCAL_API_BASE = os.environ.get("ARCHON_LOCAL_API_BASE", ' + _py(DEFAULT_LOCAL_API_BASE) + ")"]
    lines += ['STATE = Path(__file__).with_suffix(".json")  # prog.save(): instructions, demos, LM settings']
    lines += ["ADAPTER = ops.TemplateAdapter()", ""]
    lines += [
        "# Each predictor's instructions (Jinja2 over its inputs; DSPy optimizers rewrite them), node parameters",
        *texts,
    ]
    lines += [
        "# The node each predictor stands for",
        "PREDICTORS = {" + ", ".join(f"{_py(v)}: {_py(n)}" for n, v in var.items() if n in llm) + "}",
    ]
    lines += ["", "", "def default_lms(local_api_base: str = LOCAL_API_BASE) -> dict[str, dspy.LM]:"]
    lines += ['    """One dspy.LM per model (litellm engine); local/ models at ``local_api_base``."""']
    lines += ["    return {", *lm_lines, "    }", "", ""]
    lines += [f"class {cls}(dspy.Module):  # type: ignore[misc, unused-ignore]"]
    lines += [f'    """{(spec.description or spec.name or "pipeline").strip().splitlines()[0]}"""', ""]
    lines += ["    def __init__(self, lms: Mapping[str, dspy.LM] | None = None) -> None:"]
    lines += ["        super().__init__()", *init, "        self.use({**default_lms(), **(lms or {})})", ""]
    lines += ["    def use(self, lms: Mapping[str, dspy.LM]) -> None:"]
    lines += ['        """Sets the model of every predictor from {name: dspy.LM}."""', "        self.lms = dict(lms)"]
    lines += [*use, ""]
    lines += ['    def forward(self, input: str = "", **fields: object) -> dspy.Prediction:']
    lines += ['        """One query through the graph, node by node in topological order."""']
    lines += ['        item = {"input": input, **fields}', "        with dspy.context(adapter=ADAPTER):"]
    lines += [f"            {b}" for b in body]
    lines += [f"        if isinstance({out_var}, tuple) and {out_var}:"]
    lines += [f"            return dspy.Prediction(answer={out_var}[0].text, candidates=[c.text for c in {out_var}])"]
    lines += ["        return dspy.Prediction(answer=None, candidates=[])", "", ""]
    lines += [f"def program(lms: Mapping[str, dspy.LM] | None = None, state: Path | None = STATE) -> {cls}:"]
    lines += ['    """The program with its saved state (instructions, demos) when there is one; its', "    models are"]
    lines += ['    default_lms() with ``lms`` on top."""', f"    prog = {cls}(lms)"]
    lines += ["    if state is not None and state.exists():", "        prog.load(str(state))"]
    lines += ["        prog.use(prog.lms)  # saved LM settings carry no API key: the models come from here"]
    lines += ["    return prog"]
    lines += ["", "", 'if __name__ == "__main__":', "    prog = program()", "    for x in sys.argv[1:]:"]
    lines += ["        print(prog(input=x).answer)", ""]
    return "\n".join(lines)


def load_program_module(path: Path) -> Any:
    """Imports a generated program module from its file."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    if spec is None or spec.loader is None:
        raise ConfigurationError(f"cannot import {path}")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def write_dspy(
    spec: PipelineSpec, out: Path, *, source_text: str = "", provenance: Mapping[str, Any] | None = None
) -> Path:
    """Writes the program module to ``out`` and its saved state next to it (``.json``)."""
    try:
        importlib.import_module("dspy")
    except ImportError:
        raise ConfigurationError("--format dspy needs DSPy: pip install 'archon[dspy]'") from None
    out.write_text(export_dspy(spec, source_text=source_text, provenance=provenance), encoding="utf-8")
    mod = load_program_module(out)
    state = out.with_suffix(".json")
    prog = mod.program(state=None)
    for _, predictor in prog.named_predictors():
        predictor.lm = None  # the models live in the module (default_lms), never a key or a URL in the state
    prog.save(str(state))
    return state
