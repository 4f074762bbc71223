"""The operator extension point: one class per operator, its key derived from its name."""

from __future__ import annotations

import asyncio
import re
from abc import ABC
from abc import abstractmethod
from collections.abc import Awaitable
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from typing import ClassVar
from typing import TypeVar

import jinja2

from archon._templates import environment
from archon._typing import Candidate
from archon._typing import NodeValue
from archon._typing import Query
from archon._typing import Tests
from archon._typing import Usage
from archon.backends import ClientSession
from archon.backends import QueryBudget
from archon.errors import TemplateError
from archon.plan import BoundModel
from archon.plan import PlannedNode
from archon.sandbox import BaseSandbox
from archon.spec import NodeSpec

T = TypeVar("T")


async def all_of(aws: Iterable[Awaitable[T]]) -> list[T]:
    """Awaits every one, then raises the first failure: a sibling sample already being
    paid for finishes and is cached instead of being abandoned mid-call."""
    results = await asyncio.gather(*aws, return_exceptions=True)
    for r in results:
        if isinstance(r, BaseException):
            raise r
    return results  # type: ignore[return-value]


def snake(name: str) -> str:
    """``UnitTestGenerate`` → ``unit_test_generate``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class Prompter:
    """Compiles each Jinja2 template once per run and renders it over an item's fields."""

    def __init__(self) -> None:
        self.env = environment()
        self._compiled: dict[str, jinja2.Template] = {}

    def render(self, template: str, variables: Mapping[str, Any], where: str) -> str:
        tpl = self._compiled.get(template)
        if tpl is None:
            tpl = self._compiled[template] = self.env.from_string(template)
        try:
            return tpl.render(**variables)
        except jinja2.UndefinedError as exc:
            fields = ", ".join(sorted(k for k in variables if not k.startswith("_")))
            raise TemplateError(f"{where}: {exc.message} (available: {fields})") from None
        except jinja2.TemplateError as exc:
            raise TemplateError(f"{where}: {exc}") from None


@dataclass(frozen=True, slots=True)
class NodeInputs:
    """What a node receives: the union of its inputs' candidates and tests, in order."""

    candidates: tuple[Candidate, ...] = ()
    tests: tuple[Tests, ...] = ()


@dataclass
class OpContext:
    """Everything an operator may use for one (node, item)."""

    node: PlannedNode
    query: Query
    session: ClientSession
    budget: QueryBudget
    usage: Usage
    sandbox: BaseSandbox
    prompter: Prompter
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def spec(self) -> NodeSpec:
        return self.node.spec

    def render(self, template: str, **extra: Any) -> str:
        variables = {"input": self.query.text, **self.query.fields, **extra}
        return self.prompter.render(template, variables, f"node '{self.node.id}'")

    def query_text(self) -> str:
        """The node's template rendered over the item (default: the input text)."""
        tpl = getattr(self.spec, "template", None)
        return self.render(tpl) if tpl else self.query.text

    def instructions(self, default: str, **extra: Any) -> str:
        """The operator's prompt (or the node's ``prompt:`` override) rendered with ``query``."""
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
                f"node '{self.node.id}': the item's messages must be a list of {{role, content}} objects"
            ) from None

    async def complete(
        self,
        prompt: str,
        *,
        sample: int = 0,
        model: BoundModel | None = None,
        conversation: tuple[tuple[str, str], ...] | None = None,
    ) -> str:
        """One call: the node's system prompt, then ``prompt`` as the user message (or the
        given conversation); returns the stripped answer text."""
        model = model or self.node.models[0]
        system = getattr(self.spec, "system", None)
        turns = conversation if conversation is not None else (("user", prompt),)
        messages = ((("system", system),) if system else ()) + turns
        out = await self.session.complete(model, messages, sample, self.budget, self.usage)
        return out.text.strip()


class BaseOperator(ABC):
    """An operator: (inputs, parameters, backends) → outputs.

    Subclasses set ``spec_type`` (their parameters, a :class:`NodeSpec` subclass whose
    ``op`` default equals the key) and implement :meth:`run`. The YAML key is the
    snake_case of the class name: ``class UnitTestGenerate`` → ``op: unit_test_generate``.
    """

    key: ClassVar[str]
    spec_type: ClassVar[type[NodeSpec]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.key = snake(cls.__name__)
        spec_type = getattr(cls, "spec_type", None)
        if spec_type is not None:
            op_default = spec_type.model_fields["op"].default
            if op_default != cls.key:
                raise TypeError(f"{cls.__name__}.spec_type.op defaults to {op_default!r}, expected {cls.key!r}")

    @abstractmethod
    async def run(self, inputs: NodeInputs, ctx: OpContext) -> NodeValue:
        """Computes the node's output for one item."""
