"""archon's side of the operator interface: the :class:`OpContext` its executor and Python
export give operators, and the :class:`Prompter` that renders their templates. The
interface itself (``BaseOperator``, ``Context``) is :mod:`archon.operators._core`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from typing import Any

import jinja2

from archon._templates import environment
from archon._typing import Query
from archon._typing import Usage
from archon.backends import ClientSession
from archon.backends import QueryBudget
from archon.errors import TemplateError
from archon.operators._core import BaseOperator
from archon.operators._core import Context
from archon.operators._core import NodeInputs
from archon.operators._core import all_of
from archon.operators._core import snake
from archon.plan import BoundModel
from archon.plan import PlannedNode
from archon.sandbox import BaseSandbox
from archon.sandbox import count_passed
from archon.spec import NodeSpec

__all__ = ["BaseOperator", "Context", "NodeInputs", "OpContext", "Prompter", "all_of", "snake"]


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


@dataclass
class OpContext(Context):
    """archon's context for one (node, item): its backends, cache, budget and sandbox."""

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

    @property
    def node_id(self) -> str:  # type: ignore[override]
        return self.node.id

    @property
    def model_names(self) -> tuple[str, ...]:  # type: ignore[override]
        return tuple(m.name for m in self.node.models)

    def render(self, template: str, **extra: Any) -> str:
        variables = {"input": self.query.text, **self.query.fields, **extra}
        return self.prompter.render(template, variables, f"node '{self.node.id}'")

    async def complete(
        self,
        prompt: str,
        *,
        sample: int = 0,
        model: int | BoundModel = 0,
        conversation: tuple[tuple[str, str], ...] | None = None,
    ) -> str:
        bound = self.node.models[model] if isinstance(model, int) else model
        system = getattr(self.spec, "system", None)
        turns = conversation if conversation is not None else (("user", prompt),)
        messages = ((("system", system),) if system else ()) + turns
        out = await self.session.complete(bound, messages, sample, self.budget, self.usage)
        return out.text.strip()

    async def run_tests(self, code: str, tests: tuple[str, ...], *, timeout_s: float, memory_mb: int) -> int:
        return await count_passed(self.sandbox, code, tests, timeout_s=timeout_s, memory_mb=memory_mb)
