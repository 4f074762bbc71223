"""What ``archon export --format dspy`` programs run on (needs the ``dspy`` extra).

A generated program is a ``dspy.Module`` with one ``dspy.Predict`` per LLM node; its
``forward`` walks the graph with the functions below, one per operator, which keep
archon's semantics (samples as rollouts, rankings repaired, verdicts parsed, votes
normalized, code tests in the sandbox).

Each predictor's instructions are the node's prompt — archon's Jinja2 template — and
:class:`TemplateAdapter` renders them over the predictor's inputs as the user message,
taking the whole reply as the one output field: small models that never write DSPy's
``[[ ## field ## ]]`` markers still work. Once an optimizer rewrites the instructions as
plain text, the inputs are laid out after them (``Query: ...``) and the reply is read
the same way. Signatures with several outputs fall back to DSPy's ``ChatAdapter``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any

import dspy

from archon._typing import Candidate
from archon._typing import Tests
from archon.errors import ArchonError
from archon.operators import Prompter
from archon.operators._combine import by_tests
from archon.operators._combine import critiqued
from archon.operators._combine import fused
from archon.operators._combine import generated
from archon.operators._combine import judged_orders
from archon.operators._combine import judged_passes
from archon.operators._combine import majority_settled
from archon.operators._combine import pair_schedule
from archon.operators._combine import rank_needs_call
from archon.operators._combine import ranked
from archon.operators._combine import ranked_pairwise
from archon.operators._combine import sample_waves
from archon.operators._combine import suite_for
from archon.operators._combine import verified
from archon.operators._combine import voted
from archon.operators._combine import written_tests
from archon.operators._parsing import extract_code
from archon.sandbox import count_passed
from archon.sandbox import default_sandbox

__all__ = [
    "SIGNATURES",
    "Critique",
    "Fuse",
    "Generate",
    "Rank",
    "TemplateAdapter",
    "UnitTestGenerate",
    "UnitTestJudge",
    "Verify",
    "critique",
    "fuse",
    "generate",
    "has_template",
    "lm",
    "plain_template",
    "rank",
    "unit_test_evaluate",
    "unit_test_generate",
    "verify",
    "vote",
]

_PROMPTER = Prompter()


def _value(v: Any) -> Any:
    """Candidates as mappings (text, critique, ...) for templates and for DSPy's history."""
    if isinstance(v, Candidate):
        return dataclasses.asdict(v)
    if isinstance(v, (list, tuple)):
        return [_value(x) for x in v]
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

    def _single(self, signature: type[dspy.Signature]) -> str | None:
        outputs = list(signature.output_fields)
        return outputs[0] if len(outputs) == 1 else None

    def render(self, signature: type[dspy.Signature], inputs: Mapping[str, Any]) -> str:
        instructions = signature.instructions or ""
        values = {k: _value(v) for k, v in inputs.items() if k in signature.input_fields}
        variables = {**(values.pop("item", None) or {}), **values}
        if has_template(instructions):
            try:
                return _PROMPTER.render(instructions, variables, "dspy predictor")
            except ArchonError:  # an optimizer's text that only looks like a template
                pass
        return _PROMPTER.render(plain_template(signature, instructions), variables, "dspy predictor")

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


def _query(item: Mapping[str, Any], template: str | None) -> str:
    if template:
        return _PROMPTER.render(template, {"input": item.get("input", ""), **item}, "dspy program")
    return str(item.get("input", ""))


def generate(
    pred: dspy.Predict,
    item: Mapping[str, Any],
    node: str,
    lms: Sequence[tuple[str, dspy.LM]],
    samples: int,
    *,
    early_stop: float | None = None,
    wave: int = 4,
    normalize: str = "text",
) -> tuple[Candidate, ...]:
    """``samples`` answers from each model: rollout i is sample i (with ``early_stop``:
    in waves, stopping once the leading answer is settled, as archon's generate does)."""
    jobs: list[tuple[int, int]] = []
    texts: list[str] = []
    for batch in sample_waves(len(lms), samples, wave if early_stop else None):
        texts += [_call(pred, "answer", i, lms[m][1], item=dict(item)) for m, i in batch]
        jobs += batch
        if early_stop and majority_settled(texts, normalize, early_stop):
            break
    return generated(texts, jobs, node, [alias for alias, _ in lms])


def rank(
    pred: dspy.Predict,
    item: Mapping[str, Any],
    cands: Sequence[Candidate],
    top_k: int,
    template: str | None = None,
    *,
    method: str = "list",
    pairs: int | None = None,
) -> tuple[Candidate, ...]:
    if method == "pairwise" and rank_needs_call(cands):
        schedule = pair_schedule(len(cands), pairs)
        query = _query(item, template)
        replies = [
            _call(pred, "better", item=dict(item), query=query, first=cands[a], second=cands[b])
            for a, b in judged_orders(schedule)
        ]
        return ranked_pairwise(cands, schedule, replies, top_k)
    reply = None
    if rank_needs_call(cands):
        reply = _call(pred, "ranking", item=dict(item), query=_query(item, template), candidates=list(cands))
    return ranked(cands, reply, top_k)


def fuse(
    pred: dspy.Predict,
    item: Mapping[str, Any],
    cands: Sequence[Candidate],
    node: str,
    alias: str,
    samples: int = 1,
    template: str | None = None,
) -> tuple[Candidate, ...]:
    if not cands:
        return ()
    query = _query(item, template)
    texts = [_call(pred, "answer", i, item=dict(item), query=query, candidates=list(cands)) for i in range(samples)]
    return fused(cands, texts, node, alias)


def critique(
    pred: dspy.Predict, item: Mapping[str, Any], cands: Sequence[Candidate], template: str | None = None
) -> tuple[Candidate, ...]:
    if not cands:
        return ()
    return critiqued(
        cands, _call(pred, "critiques", item=dict(item), query=_query(item, template), candidates=list(cands))
    )


def verify(
    pred: dspy.Predict,
    item: Mapping[str, Any],
    cands: Sequence[Candidate],
    on_none: str = "keep_all",
    template: str | None = None,
) -> tuple[Candidate, ...]:
    query = _query(item, template)
    return verified(cands, [_call(pred, "verdict", item=dict(item), query=query, candidate=c) for c in cands], on_none)


def vote(cands: Sequence[Candidate], normalize: str = "text") -> tuple[Candidate, ...]:
    return voted(cands, normalize)


def unit_test_generate(
    pred: dspy.Predict, item: Mapping[str, Any], kind: str, count: int, template: str | None = None
) -> Tests:
    return written_tests(_call(pred, "tests", item=dict(item), query=_query(item, template), count=count), kind, count)


def unit_test_evaluate(
    pred: dspy.Predict | None,
    item: Mapping[str, Any],
    cands: Sequence[Candidate],
    tests: Sequence[Tests],
    *,
    top_k: int | None = None,
    tests_field: str | None = None,
    tests_kind: str = "code",
    timeout_s: float = 10.0,
    memory_mb: int = 512,
    template: str | None = None,
) -> tuple[Candidate, ...]:
    """Code tests run in archon's sandbox; text tests are judged by ``pred``."""
    merged = suite_for(tests, item, tests_field, tests_kind)
    if merged is None or not merged.items:
        return by_tests(cands, None, 0, top_k)
    counts: list[int] = []
    for c in cands:
        if merged.kind == "code":
            sandbox = default_sandbox()
            code = extract_code(c.text)
            counts.append(
                asyncio.run(count_passed(sandbox, code, merged.items, timeout_s=timeout_s, memory_mb=memory_mb))
            )
        else:
            if pred is None:
                raise ArchonError("text tests need a judge predictor")
            reply = _call(
                pred, "results", item=dict(item), query=_query(item, template), candidate=c, tests=merged.items
            )
            counts.append(judged_passes(reply, len(merged.items)))
    return by_tests(cands, counts, len(merged.items), top_k)
