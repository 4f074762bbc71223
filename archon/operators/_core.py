"""The operator interface every runtime shares: an operator's ``run`` over a :class:`Context`.

An operator (built in or registered by entry point) is written once, against
:class:`Context`; each runtime supplies one: archon's executor and Python export
(:class:`archon.operators.OpContext`: backends, cache, budget), the standalone export
(this module and the operator's own are inlined into the file) and the DSPy program (each
call through the node's ``dspy.Predict``). So an operator exports wherever it runs.

This module imports nothing from archon but the value types: the standalone export
copies it verbatim.
"""

from __future__ import annotations

import asyncio
import re
from abc import ABC
from abc import abstractmethod
from collections.abc import Awaitable
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any
from typing import ClassVar
from typing import TypeVar

from archon._typing import Candidate
from archon._typing import NodeValue
from archon._typing import Query
from archon._typing import Tests
from archon.errors import TemplateError
from archon.operators._combine import escalates
from archon.operators._combine import gate_node

T = TypeVar("T")


async def all_of(aws: Iterable[Awaitable[T]]) -> list[T]:
    """Awaits every one, then raises the first failure: a sibling sample already being
    paid for finishes and is cached instead of being abandoned mid-call."""
    results = await asyncio.gather(*aws, return_exceptions=True)
    for r in results:
        if isinstance(r, BaseException):
            raise r
    return results  # type: ignore[return-value]


async def first_of(aws: Iterable[Awaitable[T]], k: int) -> list[tuple[int, T]]:
    """The first ``k`` to finish, as (position, result) in finish order; the rest are
    cancelled (a call still waiting for a slot is never sent). A failure is skipped while
    ``k`` can still succeed, else the first failure is raised."""
    tasks = [asyncio.ensure_future(a) for a in aws]
    position = {t: i for i, t in enumerate(tasks)}
    out: list[tuple[int, T]] = []
    failure: BaseException | None = None
    pending = set(tasks)
    try:
        while pending and len(out) < k:
            finished, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for t in sorted(finished, key=position.__getitem__):
                exc = t.exception()
                if exc is not None:
                    failure = failure or exc
                elif len(out) < k:
                    out.append((position[t], t.result()))
    finally:
        for t in pending:
            t.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
    if len(out) < min(k, len(tasks)):
        assert failure is not None
        raise failure
    return out


def snake(name: str) -> str:
    """``UnitTestGenerate`` → ``unit_test_generate``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


@dataclass(frozen=True, slots=True)
class NodeInputs:
    """What a node receives: the union of its inputs' candidates and tests, in order."""

    candidates: tuple[Candidate, ...] = ()
    tests: tuple[Tests, ...] = ()


def split_inputs(inputs: Iterable[NodeValue]) -> NodeInputs:
    """A node's input values (in the order the graph lists them) as :class:`NodeInputs`."""
    cands: list[Candidate] = []
    tests: list[Tests] = []
    for v in inputs:
        if isinstance(v, Tests):
            tests.append(v)
        else:
            cands.extend(v)
    return NodeInputs(tuple(cands), tuple(tests))


class Context(ABC):
    """What an operator may use for one (node, item), in any runtime.

    ``spec`` is the node's parameters (its ``NodeSpec`` in archon; an object with the
    same attributes elsewhere), ``query`` the item, ``node_id`` and ``model_names`` the
    node's id and the names of the models it calls, in order.
    """

    node_id: str
    query: Query
    model_names: tuple[str, ...]
    recorded: Mapping[str, Any] = MappingProxyType({})  # what the operator recorded; replaced, never mutated

    @property
    @abstractmethod
    def spec(self) -> Any:
        """The node's parameters."""

    @abstractmethod
    def render(self, template: str, **extra: Any) -> str:
        """``template`` (Jinja2) rendered over the item's fields and ``extra``."""

    @abstractmethod
    async def complete(
        self,
        prompt: str,
        *,
        sample: int = 0,
        model: int = 0,
        conversation: tuple[tuple[str, str], ...] | None = None,
    ) -> str:
        """One call of model ``model`` (an index into the node's models): the node's
        system prompt, then ``prompt`` as the user message (or the given conversation);
        sample ``sample`` of that request. Returns the stripped answer text."""

    @abstractmethod
    async def run_tests(self, code: str, tests: tuple[str, ...], *, timeout_s: float, memory_mb: int) -> int:
        """How many of the ``assert`` lines ``tests`` pass after ``code``, in the sandbox."""

    def record(self, key: str, value: Any) -> None:
        """Keeps ``value`` about this (node, item) in ``recorded`` for whoever runs the
        pipeline to read (``archon eval`` reads verify's ``verdicts``)."""
        self.recorded = {**self.recorded, key: value}

    def query_text(self) -> str:
        """The node's template rendered over the item (default: the input text)."""
        tpl = getattr(self.spec, "template", None)
        return self.render(tpl) if tpl else self.query.text

    def instructions(self, default: str, **extra: Any) -> str:
        """The operator's prompt (or the node's ``prompt:`` override) rendered with ``query``
        and ``extra``."""
        tpl = getattr(self.spec, "prompt", None) or default
        return self.render(tpl, query=self.query_text(), **extra)

    def conversation(self) -> tuple[tuple[str, str], ...] | None:
        """The item's own chat ``messages`` (a list of {role, content}), when it has them
        and the node has no template: a multi-turn item is sent as the conversation it is."""
        raw = self.query.fields.get("messages")
        if getattr(self.spec, "template", None) or not isinstance(raw, list) or not raw:
            return None
        try:
            return tuple((str(m["role"]), str(m["content"])) for m in raw)
        except (KeyError, TypeError):
            raise TemplateError(
                f"node '{self.node_id}': the item's messages must be a list of {{role, content}} objects"
            ) from None


async def run_node(
    operator: BaseOperator, inputs: NodeInputs, ctx: Context, values: Mapping[str, NodeValue] | None = None
) -> NodeValue:
    """What every runtime calls to run one node for one item: the operator, unless the
    node's ``when:`` says the item is easy (:func:`escalates` on its gate node's value,
    looked up in ``values``, what the item's earlier nodes yielded) — then nothing: no
    candidates, no call. A gate that is missing counts as hard: the node runs."""
    when = getattr(ctx.spec, "when", None)
    if when is not None:
        gate = (values or {}).get(gate_node(when), ())
        if not isinstance(gate, Tests) and not escalates(when, gate):
            return ()
    return await operator.run(inputs, ctx)


class BaseOperator(ABC):
    """An operator: (inputs, parameters, models) → outputs.

    Subclasses set ``spec_type`` (their parameters, a ``NodeSpec`` subclass whose ``op``
    default equals the key), ``PROMPTS`` (their prompt templates by name, when they call
    a model) and implement :meth:`run` against :class:`Context` only. The YAML key is the
    snake_case of the class name: ``class UnitTestGenerate`` → ``op: unit_test_generate``.
    """

    key: ClassVar[str]
    spec_type: ClassVar[Any]
    PROMPTS: ClassVar[Mapping[str, str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.key = snake(cls.__name__)
        fields = getattr(getattr(cls, "spec_type", None), "model_fields", None)
        if fields is not None:
            op_default = fields["op"].default
            if op_default != cls.key:
                raise TypeError(f"{cls.__name__}.spec_type.op defaults to {op_default!r}, expected {cls.key!r}")

    @classmethod
    def prompt_name(cls, spec: Any) -> str | None:
        """Which of ``PROMPTS`` a node with parameters ``spec`` uses (None: no prompt)."""
        return next(iter(cls.PROMPTS), None)

    @classmethod
    def default_prompt(cls, spec: Any) -> str | None:
        """The operator's own prompt for ``spec`` (a node's ``prompt:`` replaces it)."""
        name = cls.prompt_name(spec)
        return cls.PROMPTS[name] if name is not None else None

    @abstractmethod
    async def run(self, inputs: NodeInputs, ctx: Context) -> NodeValue:
        """Computes the node's output for one item."""
