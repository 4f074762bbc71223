"""Demonstrations as search parameters.

A space's ``demos:`` block defines a value ``${demos}`` (or several named values) that the
pipeline template uses like any parameter. Its text is a few solved examples drawn from
the dataset's **train** split only — never from the dev or test items being scored —
rendered with the block's ``format`` when the space is instantiated, so a trial's pipeline
(best.yaml, every export) holds plain text and needs nothing at run time.

``count``, ``select`` and ``seed`` may themselves be ``${param}`` references, so how many
demonstrations, which ones and in what order are searched jointly with the architecture:

- ``first``: the first ``count`` train items (in the split's order);
- ``random``: ``count`` train items drawn with ``seed`` (a new seed, another draw and order);
  when the answers are a few labels (a classification task), the draw goes round-robin
  over the labels, so the demonstrations cover them evenly (:func:`balanced`);
- ``bootstrap``: like ``random``, but drawn from the train items the baseline answered
  correctly, each shown with the model's own answer (DSPy's BootstrapFewShot idea, on
  archon's cache and budget: the baseline's train pass is paid, on the search ledger, by
  the first trial that draws bootstrapped demonstrations),
  balanced over labels in the same way; when fewer than ``count`` were answered right,
  labeled train items fill the rest (as BootstrapFewShot's ``max_labeled_demos`` do);
- ``similar``: per input, the ``count`` train items most similar to it, the most similar
  last (``archon._templates.nearest``). The text is then a ``nearest(input, POOL, count)``
  call whose pool — the train items' demonstrations, rendered — is written into the
  template as a literal, so every runtime that renders archon templates picks the same
  demonstrations for the same input; ``seed`` does not matter.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from archon._templates import MAX_POOL
from archon._templates import literal
from archon.evaluate import Example

SELECT = ("first", "random", "bootstrap", "similar")
_JINJA = re.compile(r"\{\{|\{%|\{#|\$\{")


@dataclass(frozen=True)
class DemoBlock:
    """One ``demos:`` block: the ``${name}`` it defines and how its text is made."""

    name: str
    format: str  # Jinja2 over a train item's fields and ``answer``
    count: Any = 4  # int, or a ${param} reference resolved per trial
    select: Any = "random"
    seed: Any = 0
    separator: str = ""


@dataclass(frozen=True)
class DemoPool:
    """Where demonstrations come from: the train split, and the items of it the baseline
    answered correctly with the answers it gave (None until bootstrapped)."""

    train: tuple[Example, ...] = ()
    bootstrapped: tuple[tuple[Example, str], ...] | None = None


def choose(block: DemoBlock, pool: DemoPool, count: int, select: str, seed: int) -> list[tuple[Example, Any]]:
    """The (example, answer shown) pairs of one block for resolved parameter values.

    Example:
        >>> pool = DemoPool(tuple(Example(i, {"input": str(i)}, str(i * 2)) for i in range(6)))
        >>> [e.index for e, _ in choose(DemoBlock("d", ""), pool, 3, "first", 0)]
        [0, 1, 2]
        >>> len(choose(DemoBlock("d", ""), pool, 9, "random", 1))
        6
    """
    if count <= 0:
        return []
    if select == "similar":  # the candidates; which of them per input is decided at render time
        return [(e, e.gold) for e in pool.train[:MAX_POOL]]
    if select == "first":
        return [(e, e.gold) for e in pool.train[:count]]
    if select == "bootstrap":
        source: Sequence[tuple[Example, Any]] = pool.bootstrapped or ()
    else:
        source = [(e, e.gold) for e in pool.train]
    picked = list(source)
    random.Random(seed).shuffle(picked)
    if select == "bootstrap" and len(picked) < count:  # too few answered right: labeled items fill the rest
        used = {e.index for e, _ in picked}
        rest = [(e, e.gold) for e in pool.train if e.index not in used]
        random.Random(seed).shuffle(rest)
        picked += rest[: count - len(picked)]
    if categorical([e.gold for e in pool.train]):
        picked = balanced(picked)
    return picked[:count]


def categorical(golds: Sequence[Any]) -> bool:
    """Whether the answers are a few labels (a classification task): at most 12
    distinct ones, each seen at least twice on average.

    Example:
        >>> categorical(["Asia", "Europe", "Asia", "Africa", "Europe", "Asia"])
        True
        >>> categorical(["cold", "small", "slow", "sad"])
        False
    """
    labels = {_text(g).strip().lower() for g in golds}
    return 1 < len(labels) <= 12 and len(golds) >= 2 * len(labels)


def balanced(picked: Sequence[tuple[Example, Any]]) -> list[tuple[Example, Any]]:
    """The same demonstrations reordered round-robin over their answers' labels, in the
    order each label first appears: any first ``count`` of them cover as many labels as
    there are, as evenly as the draw allows — so a skewed train split (or a baseline
    that is right mostly on one label, for ``bootstrap``) does not fill the prompt with
    one answer.

    Example:
        >>> ex = [(Example(i, {"input": str(i)}, g), g) for i, g in enumerate("AAAABBC")]
        >>> [a for _, a in balanced(ex)]
        ['A', 'B', 'C', 'A', 'B', 'A', 'A']
    """
    by_label: dict[str, list[tuple[Example, Any]]] = {}
    for pair in picked:
        by_label.setdefault(_text(pair[1]).strip().lower(), []).append(pair)
    queues = list(by_label.values())
    out: list[tuple[Example, Any]] = []
    for i in range(max((len(q) for q in queues), default=0)):
        out += [q[i] for q in queues if i < len(q)]
    return out


def render_block(block: DemoBlock, pool: DemoPool, count: int, select: str, seed: int) -> str:
    """The demonstrations' text, made safe to sit inside a Jinja2 template (a demo that
    contains ``{{``, ``{%`` or ``${`` is escaped so it renders as itself)."""
    import jinja2
    from jinja2.sandbox import SandboxedEnvironment

    env = SandboxedEnvironment(undefined=jinja2.ChainableUndefined, autoescape=False, keep_trailing_newline=True)
    tpl = env.from_string(block.format)
    parts = []
    chosen = choose(block, pool, count, select, seed)
    for ex, answer in chosen:
        parts.append(tpl.render(**{**dict(ex.fields), "answer": _text(answer)}))
    if select == "similar":
        if not parts:
            return ""
        entries = [[str(ex.fields.get("input", "")), part] for (ex, _), part in zip(chosen, parts, strict=True)]
        return "{{ nearest(input, " + literal(entries) + f", {count}, " + literal(block.separator) + ") }}"
    text = block.separator.join(parts)
    return escape_template(text)


def escape_template(text: str) -> str:
    """Literal text for a Jinja2 template: each brace or dollar of a Jinja/``${}`` marker
    becomes an expression printing it.

    Example:
        >>> escape_template("plain"), escape_template("a {{ b }}")
        ('plain', "a {{ '{' }}{{ '{' }} b {{ '}' }}{{ '}' }}")
    """
    if not _JINJA.search(text):
        return text
    return re.sub(r"[{}$]", lambda m: "{{ '" + m.group() + "' }}", text)


def _text(answer: Any) -> str:
    if isinstance(answer, list) and answer:
        return str(answer[0])
    return "" if answer is None else str(answer)


def resolve(value: Any, values: Mapping[str, Any]) -> Any:
    """A block field that is a whole ``${param}`` reference, resolved."""
    from archon.spec import PARAM_RE

    if isinstance(value, str):
        whole = PARAM_RE.fullmatch(value.strip())
        if whole:
            return values[whole.group(1)]
    return value


@dataclass(frozen=True)
class InstructionBlock:
    """``instructions:``: instruction variants searched as the parameter ``instruction``
    (an index; ``${instruction}`` in the template is its text). ``candidates`` are the
    user's (the first is the baseline's, "" for none); ``propose`` more are written by
    ``model`` from train demonstrations before the first trial, as MIPROv2's proposer does,
    paid from the search budget and cached."""

    candidates: tuple[str, ...] = ("",)
    propose: int = 0
    model: str | None = None  # an alias of the pipeline's models; None: the first
    shown: int = 5  # train demonstrations the proposer sees

    @property
    def size(self) -> int:
        return len(self.candidates) + self.propose


PROPOSER_PROMPT = (
    "Here are examples of a task: each input with its correct answer.\n\n{examples}\n"
    "Write one short instruction that tells someone how to do this task.\nInstruction:"
)


def instruction_text(text: str) -> str:
    """A proposed or written instruction as it goes in front of the prompt (one line,
    ending in a newline; empty stays empty), made template-safe."""
    line = " ".join(text.split())
    return escape_template(line + "\n") if line else ""
