"""What ``archon export --format dspy`` programs run on (needs the ``dspy`` extra).

A generated program is a ``dspy.Module`` with one ``dspy.Predict`` per LLM node; its
``forward`` walks the graph with :func:`step`, which runs archon's own operator for each
node (built in or registered by entry point) on a :class:`DSPyContext`: every call goes
through the node's predictor (samples as rollouts), code tests through archon's sandbox.

Each predictor's instructions are the node's prompt — archon's Jinja2 template — and
:class:`TemplateAdapter` renders them over the predictor's inputs as the user message,
taking the whole reply as the one output field: small models that never write DSPy's
``[[ ## field ## ]]`` markers still work. Once an optimizer rewrites the instructions as
plain text, the inputs are laid out after them (``Query: ...``) and the reply is read
the same way. Signatures with several outputs fall back to DSPy's ``ChatAdapter``.
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import functools
import os
from collections.abc import Coroutine
from collections.abc import Mapping
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from typing import Any
from typing import TypeVar

import dspy

from archon._typing import Candidate
from archon._typing import NodeValue
from archon._typing import Query
from archon.errors import ArchonError
from archon.operators import BaseOperator
from archon.operators import Context
from archon.operators import Prompter
from archon.operators import operator_types
from archon.operators import run_node
from archon.operators import split_inputs
from archon.sandbox import count_passed
from archon.sandbox import default_sandbox

T = TypeVar("T")

__all__ = [
    "SIGNATURES",
    "Critique",
    "DSPyContext",
    "Fuse",
    "Generate",
    "PairwiseRank",
    "Rank",
    "Step",
    "TemplateAdapter",
    "UnitTestGenerate",
    "UnitTestJudge",
    "Verify",
    "has_template",
    "lm",
    "plain_template",
    "signature_for",
    "step",
]


def _value(v: Any) -> Any:
    """Candidates as mappings (text, critique, ...) for templates and for DSPy's history."""
    if isinstance(v, Candidate):
        return dataclasses.asdict(v)
    if isinstance(v, (list, tuple)):
        return [_value(x) for x in v]
    if isinstance(v, Mapping):
        return {k: _value(x) for k, x in v.items()}
    return v


def has_template(text: str) -> bool:
    return "{{" in text or "{%" in text


def plain_template(signature: type[dspy.Signature], instructions: str) -> str:
    """Plain-text instructions (an optimizer's) as the Jinja2 template the adapter sends:
    the instructions, then each input laid out, then the output's name. Written back to a
    pipeline YAML it renders the same prompt in archon (``candidates`` and ``candidate``
    there are archon's candidates, with ``.text``)."""
    text = instructions.strip()
    if has_template(text):  # shown as written, not rendered
        text = "{% raw %}" + text.replace("{% endraw %}", "") + "{% endraw %}"
    parts = [text] if text else []
    for name, info in signature.input_fields.items():
        title = name.replace("_", " ").capitalize()
        annotation = str(getattr(info, "annotation", ""))
        if name == "item":
            if "query" not in signature.input_fields:  # the query already is the input, rendered
                parts.append("Input: {{ input }}")
        elif annotation.startswith("list"):
            item = "{{ x.text if x.text is defined else x }}"
            parts.append(f"{title}:\n{{% for x in {name} %}}[{{{{ loop.index }}}}] {item}\n{{% endfor %}}")
        elif name == "candidate":
            parts.append(f"{title}: {{{{ {name}.text }}}}")
        else:
            parts.append(f"{title}: {{{{ {name} }}}}")
    out = next(iter(signature.output_fields), "answer")
    return "\n\n".join(parts) + f"\n\n{out.replace('_', ' ').capitalize()}:"


class TemplateAdapter(dspy.ChatAdapter):
    """One output field: the instructions (a Jinja2 template over the inputs, or plain
    text followed by the inputs) are the user message and the whole reply is the output.
    Anything else: DSPy's ChatAdapter."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.prompter = Prompter()  # its compiled templates

    def _single(self, signature: type[dspy.Signature]) -> str | None:
        outputs = list(signature.output_fields)
        return outputs[0] if len(outputs) == 1 else None

    def render(self, signature: type[dspy.Signature], inputs: Mapping[str, Any]) -> str:
        instructions = signature.instructions or ""
        values = {k: _value(v) for k, v in inputs.items() if k in signature.input_fields}
        variables = {**(values.pop("item", None) or {}), **(values.pop("context", None) or {}), **values}
        if has_template(instructions):
            try:
                return self.prompter.render(instructions, variables, "dspy predictor")
            except ArchonError:  # an optimizer's text that only looks like a template
                pass
        return self.prompter.render(plain_template(signature, instructions), variables, "dspy predictor")

    def format(
        self, signature: type[dspy.Signature], demos: list[dict[str, Any]], inputs: dict[str, Any]
    ) -> list[dict[str, Any]]:
        out = self._single(signature)
        if out is None:
            return super().format(signature, demos, inputs)  # type: ignore[no-any-return]
        return [{"role": "user", "content": self.shots(signature, demos) + self.render(signature, inputs)}]

    def shots(self, signature: type[dspy.Signature], demos: list[Any]) -> str:
        """The demos as few-shot text before the prompt: each rendered prompt, a space, its
        answer, a blank line (one message: small base models follow it; archon writes the
        same text into a tuned pipeline's prompt)."""
        return "".join(f"{prompt} {answer}\n\n" for prompt, answer in self.demo_turns(signature, demos))

    def demo_turns(self, signature: type[dspy.Signature], demos: list[Any]) -> list[tuple[str, str]]:
        """(prompt, answer) of each usable demo: a predictor's own trace, or a labeled
        dataset example (its fields are the item's) when the predictor reads only the item."""
        out = self._single(signature)
        turns = []
        for raw in demos:
            demo = dict(raw.items()) if hasattr(raw, "items") else dict(raw)
            if out is None or demo.get(out) is None:
                continue
            if "item" in signature.input_fields and "item" not in demo and set(signature.input_fields) == {"item"}:
                demo = {"item": {k: v for k, v in demo.items() if k not in (out, "archon_index")}, out: demo[out]}
            if all(k in demo for k in signature.input_fields):
                turns.append((self.render(signature, demo), str(demo[out])))
        return turns

    def _call_postprocess(
        self,
        processed_signature: type[dspy.Signature],
        original_signature: type[dspy.Signature],
        outputs: list[dict[str, Any] | str],
        lm: dspy.BaseLM,
        lm_kwargs: dict[str, Any],
    ) -> list[dict[str, Any]]:
        out = self._single(original_signature)
        if out is None:
            return super()._call_postprocess(  # type: ignore[no-any-return]
                processed_signature, original_signature, outputs, lm, lm_kwargs
            )
        # an empty reply is an empty answer (archon's operators handle it), not a parse error
        return [{out: str((o.get("text") if isinstance(o, dict) else o) or "").strip()} for o in outputs]

    def parse(self, signature: type[dspy.Signature], completion: str) -> dict[str, Any]:
        out = self._single(signature)
        if out is None:
            return super().parse(signature, completion)  # type: ignore[no-any-return]
        return {out: (completion or "").strip()}


class Generate(dspy.Signature):
    """{{ input }}"""

    item: dict[str, Any] = dspy.InputField(desc="the input item's fields")
    answer: str = dspy.OutputField()


class Rank(dspy.Signature):
    """Rank the candidate answers, best first."""

    item: dict[str, Any] = dspy.InputField(desc="the input item's fields")
    query: str = dspy.InputField()
    candidates: list[Any] = dspy.InputField()
    ranking: str = dspy.OutputField(desc="like [2] > [1] > [3]")


class PairwiseRank(dspy.Signature):
    """Which of two answers is better? Reply A or B."""

    item: dict[str, Any] = dspy.InputField(desc="the input item's fields")
    query: str = dspy.InputField()
    first: Any = dspy.InputField()
    second: Any = dspy.InputField()
    better: str = dspy.OutputField(desc="A or B")


class Fuse(dspy.Signature):
    """Merge the candidate answers into one better answer."""

    item: dict[str, Any] = dspy.InputField(desc="the input item's fields")
    query: str = dspy.InputField()
    candidates: list[Any] = dspy.InputField()
    answer: str = dspy.OutputField()


class Critique(dspy.Signature):
    """Critique each candidate answer."""

    item: dict[str, Any] = dspy.InputField(desc="the input item's fields")
    query: str = dspy.InputField()
    candidates: list[Any] = dspy.InputField()
    critiques: str = dspy.OutputField(desc="one block per answer: [1] ...")


class Verify(dspy.Signature):
    """Decide whether the answer is correct."""

    item: dict[str, Any] = dspy.InputField(desc="the input item's fields")
    query: str = dspy.InputField()
    candidate: Any = dspy.InputField()
    verdict: str = dspy.OutputField(desc="ends with 'Verdict: correct' or 'Verdict: incorrect'")


class UnitTestGenerate(dspy.Signature):
    """Write tests a correct answer must pass, one per line."""

    item: dict[str, Any] = dspy.InputField(desc="the input item's fields")
    query: str = dspy.InputField()
    count: int = dspy.InputField()
    tests: str = dspy.OutputField()


class UnitTestJudge(dspy.Signature):
    """Check the answer against each test."""

    item: dict[str, Any] = dspy.InputField(desc="the input item's fields")
    query: str = dspy.InputField()
    candidate: Any = dspy.InputField()
    tests: list[str] = dspy.InputField()
    results: str = dspy.OutputField(desc="one line per test: Test <n>: Passed|Failed")


class Step(dspy.Signature):
    """{{ prompt }}"""

    item: dict[str, Any] = dspy.InputField(desc="the input item's fields")
    query: str = dspy.InputField()
    context: dict[str, Any] = dspy.InputField(desc="what the operator rendered its prompt over")
    answer: str = dspy.OutputField()


# a built-in operator's signature by op (or op:prompt, for an operator with several
# prompts); any other operator (one registered by entry point) runs on Step
SIGNATURES: dict[str, type[dspy.Signature]] = {
    "generate": Generate,
    "rank": Rank,
    "rank:pairwise": PairwiseRank,
    "fuse": Fuse,
    "critique": Critique,
    "verify": Verify,
    "unit_test_generate": UnitTestGenerate,
    "unit_test_evaluate": UnitTestJudge,
}


def signature_for(op: str, prompt: str | None) -> type[dspy.Signature]:
    """The signature of a node's predictor: its operator's (``op:prompt``, else ``op``),
    else the generic :class:`Step`."""
    return SIGNATURES.get(f"{op}:{prompt}") or SIGNATURES.get(op) or Step


def lm(
    model: str,
    *,
    api_base: str | None = None,
    api_key_env: str | None = None,
    mode: str = "chat",
    **kwargs: Any,
) -> dspy.LM:
    """A ``dspy.LM`` on the litellm engine; the API key is read from ``api_key_env`` now
    (DSPy never saves it)."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    extra: dict[str, Any] = {}
    if api_base:
        extra["api_base"] = api_base
        extra["api_key"] = (os.environ.get(api_key_env) if api_key_env else None) or "none"
    elif api_key_env and os.environ.get(api_key_env):
        extra["api_key"] = os.environ[api_key_env]
    return dspy.LM(model, model_type=mode, engine="litellm", num_retries=3, **extra, **kwargs)


def _call(pred: dspy.Predict, out: str, sample: int = 0, lm: dspy.LM | None = None, **inputs: Any) -> str:
    config: dict[str, Any] = {"rollout_id": sample} if sample else {}
    kwargs: dict[str, Any] = {"config": config}
    if lm is not None:
        kwargs["lm"] = lm
    prediction = pred(**inputs, **kwargs)
    return str(getattr(prediction, out) or "").strip()


class _Prompt(str):
    """An operator's rendered prompt that remembers what it was rendered over, so the
    predictor can render its own (possibly optimized) instructions over the same inputs."""

    inputs: dict[str, Any]


class DSPyContext(Context):
    """What an operator gets in a DSPy program: each call goes through the node's
    ``dspy.Predict`` (its instructions are the node's prompt, which DSPy optimizers
    rewrite), code tests through archon's sandbox."""

    def __init__(
        self,
        pred: dspy.Predict | None,
        item: Mapping[str, Any],
        node: str,
        params: Mapping[str, Any],
        models: Sequence[tuple[str, dspy.LM | None]],
    ) -> None:
        self.pred = pred
        self.item = dict(item)
        self.query = Query.of(self.item)
        self.node_id = node
        self.model_names = tuple(alias for alias, _ in models)
        # the program's adapter compiles each template once; a fresh Prompter outside one
        self.prompter = getattr(dspy.settings.adapter, "prompter", None) or Prompter()
        self.lms = [lm for _, lm in models]
        # the prompt and system prompt live in the predictor's instructions
        self._spec = SimpleNamespace(**{"template": None, **params, "prompt": None, "system": None})

    @property
    def spec(self) -> Any:
        return self._spec

    def render(self, template: str, **extra: Any) -> str:
        variables = {"input": self.query.text, **self.item, **{k: _value(v) for k, v in extra.items()}}
        return self.prompter.render(template, variables, f"node '{self.node_id}'")

    def instructions(self, default: str, **extra: Any) -> str:
        prompt = _Prompt(super().instructions(default, **extra))
        prompt.inputs = extra
        return prompt

    async def complete(
        self,
        prompt: str,
        *,
        sample: int = 0,
        model: int = 0,
        conversation: tuple[tuple[str, str], ...] | None = None,
    ) -> str:
        if self.pred is None:
            raise ArchonError(f"node '{self.node_id}' calls a model but has no predictor")
        signature = self.pred.signature
        out = next(iter(signature.output_fields))
        lm = self.lms[model] if model < len(self.lms) else None
        inputs: dict[str, Any] = {"item": self.item}
        if "query" in signature.input_fields:
            inputs["query"] = self.query_text()
        extra = prompt.inputs if isinstance(prompt, _Prompt) else {"prompt": str(prompt)}
        if "context" in signature.input_fields:  # an operator without a signature of its own: Step
            inputs["context"] = extra
        elif isinstance(prompt, _Prompt):
            inputs |= {k: list(v) if isinstance(v, tuple) else v for k, v in extra.items()}
        # on a worker thread (with DSPy's settings): the samples of a node run at once, and
        # first-finish keeps those that finish first
        return await asyncio.to_thread(_call, self.pred, out, sample, lm, **inputs)

    async def run_tests(self, code: str, tests: tuple[str, ...], *, timeout_s: float, memory_mb: int) -> int:
        return await count_passed(default_sandbox(), code, tests, timeout_s=timeout_s, memory_mb=memory_mb)


def _run(coro: Coroutine[Any, Any, T]) -> T:
    """Runs an operator to the end from synchronous DSPy code (on a helper thread, with
    DSPy's settings, when this thread already runs an event loop)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    context = contextvars.copy_context()
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(context.run, asyncio.run, coro).result()


def step(
    op: str,
    node: str,
    params: Mapping[str, Any],
    pred: dspy.Predict | None,
    item: Mapping[str, Any],
    *inputs: NodeValue,
    models: Sequence[tuple[str, dspy.LM | None]] = (),
    values: Mapping[str, NodeValue] | None = None,
) -> NodeValue:
    """Runs node ``node`` (operator ``op`` with ``params``) over its inputs' values for one
    item: archon's own operator, its calls through ``pred``. ``models`` are the node's
    (alias, LM) pairs in order (None: the predictor's own LM); ``values`` what earlier
    nodes yielded that its ``when:`` reads."""
    ctx = DSPyContext(pred, item, node, params, models)
    return _run(run_node(_operator_class(op)(), split_inputs(inputs), ctx, values))


@functools.cache
def _operator_class(op: str) -> type[BaseOperator]:
    """The operator class for ``op`` (the registry, entry points included, read once per
    process instead of once per node and item)."""
    return operator_types()[op]
