"""``synthetic/<name>``: SIMULATED models, seeded, for optimizer tests and search
benchmarks only — never a default, and never a stand-in for a real model's quality.

How a simulated model behaves (all draws come from the request's seed, so sample i of
a request is reproducible and differs from sample j):

- **Items.** :func:`make_dataset` writes questions ``q<seed>-<i>``; each has a hidden gold
  answer ``a<hash>`` and a difficulty in [0, 1], both functions of the question text.
- **Skill.** ``synthetic/small`` 0.35, ``medium`` 0.55, ``large`` 0.75, ``oracle`` 0.98, or
  ``synthetic/<anything>-<skill>`` (e.g. ``synthetic/m1-0.62``).
- **generate** answers right with probability ``sigmoid(8 (skill - difficulty))``; wrong
  answers come from three per-item decoys with weights 6:3:1, so wrong votes collide as
  real ones do.
- **rank** (``Rank the``): with probability ``skill`` a right candidate is put first
  (when there is one), else a random order.
- **fuse** (``Final answer:``): right with probability ``share·(0.6+0.4·skill) +
  (1-share)·0.3·skill``, where share is the share of right inputs; else the most common
  wrong input.
- **verify** (``Verdict``) and **critique**: the right judgement with probability ``skill``.
- Tokens: a quarter of the characters; price from ``price_per_1k`` or by preset.
- Latency: none, unless ``$ARCHON_SYNTHETIC_LATENCY_S`` sets seconds per call (for
  tests that need a search to be slow enough to interrupt).
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import os
import random
import re
from collections import Counter
from typing import ClassVar
from typing import Literal

from archon.backends._base import BaseBackend
from archon.backends._base import Completion
from archon.backends._base import Request
from archon.errors import ConfigurationError

PRESETS = {"small": 0.35, "medium": 0.55, "large": 0.75, "oracle": 0.98}
PRICES = {"small": 0.0002, "medium": 0.001, "large": 0.005, "oracle": 0.02}


def _h(text: str, salt: str = "") -> int:
    return int(hashlib.sha256(f"{salt}|{text}".encode()).hexdigest()[:12], 16)


def gold_answer(question: str) -> str:
    """The hidden right answer of a synthetic question."""
    return f"a{_h(question, 'gold') % 100000:05d}"


def difficulty(question: str) -> float:
    return (_h(question, "difficulty") % 10000) / 10000


def decoys(question: str) -> list[str]:
    return [f"w{_h(question, f'decoy{j}') % 100000:05d}" for j in range(3)]


def make_dataset(n: int, seed: int = 0) -> list[dict[str, str]]:
    """``n`` synthetic items ``{input, answer}`` (for optimizer tests and benchmarks)."""
    return [{"input": f"q{seed}-{i}", "answer": gold_answer(f"q{seed}-{i}")} for i in range(n)]


def skill_of(name: str) -> float:
    if name in PRESETS:
        return PRESETS[name]
    m = re.search(r"-(0?\.\d+|1(?:\.0+)?)$", name)
    if m:
        return float(m.group(1))
    raise ConfigurationError(
        f"synthetic/{name}: unknown simulated model — use synthetic/small|medium|large|oracle or synthetic/<name>-<skill>"
    )


_QUESTION = re.compile(r"(?:Question|Task):\n(.*?)\n\n", re.S)
_CANDIDATE = re.compile(r"^(?:\[(\d+)\]|Answer (\d+):) (.*)$", re.M)


class SyntheticBackend(BaseBackend):
    """A SIMULATED model (see the module docstring); labelled as such in every result."""

    prefix: ClassVar[str] = "synthetic"
    default_concurrency: ClassVar[int] = 256
    default_mode: ClassVar[Literal["chat", "text"]] = "text"

    @property
    def name(self) -> str:
        return self.spec.model.split("/", 1)[1]

    @property
    def endpoint(self) -> str:
        return "synthetic:"

    def check(self) -> None:
        skill_of(self.name)

    def price_per_1k(self) -> tuple[float, float] | None:
        own = super().price_per_1k()
        if own is not None:
            return own
        p = PRICES.get(self.name, 0.001)
        return (p, p)

    def max_prompt_tokens(self, request: Request) -> int:
        return len(request.as_text()) // 4 + 1

    async def complete(self, request: Request, seed: int) -> Completion:
        delay = float(os.environ.get("ARCHON_SYNTHETIC_LATENCY_S", "0") or 0)
        if delay > 0:
            await asyncio.sleep(delay)
        prompt = request.as_text()
        rng = random.Random(seed)
        skill = skill_of(self.name)
        text = self._answer(prompt, rng, skill)
        pt = len(prompt) // 4 + 1
        ct = min(request.sampling.max_tokens, len(text) // 4 + 1)
        return self.completion(text, pt, ct, "stop")

    def _answer(self, prompt: str, rng: random.Random, skill: float) -> str:
        m = _QUESTION.search(prompt)
        lines = prompt.strip().splitlines()
        question = m.group(1).strip() if m else (lines[-1].strip() if lines else "")
        gold = gold_answer(question)
        cands = [c[2].strip() for c in _CANDIDATE.findall(prompt)]
        if "Rank the" in prompt:
            order = list(range(len(cands)))
            rng.shuffle(order)
            correct = [i for i in order if cands[i] == gold]
            if correct and rng.random() < skill:
                order.remove(correct[0])
                order.insert(0, correct[0])
            return " > ".join(f"[{i + 1}]" for i in order)
        if "Final answer:" in prompt:
            share = sum(c == gold for c in cands) / len(cands) if cands else 0.0
            if rng.random() < share * (0.6 + 0.4 * skill) + (1 - share) * 0.3 * skill:
                return gold
            wrong = Counter(c for c in cands if c != gold)
            return wrong.most_common(1)[0][0] if wrong else rng.choices(decoys(question), [6, 3, 1])[0]
        if "Verdict" in prompt:
            shown = re.search(r"^Answer: (.*)$", prompt, re.M)
            is_right = bool(shown and shown.group(1).strip() == gold)
            judged = is_right if rng.random() < skill else not is_right
            return "Verdict: correct" if judged else "Verdict: incorrect"
        if "critique" in prompt:
            lines = []
            for i, c in enumerate(cands):
                seems_right = c == gold if rng.random() < skill else c != gold
                lines.append(f"[{i + 1}] {'looks right' if seems_right else 'this is wrong'}")
            return "\n".join(lines)
        p = 1 / (1 + math.exp(-8 * (skill - difficulty(question))))
        return gold if rng.random() < p else rng.choices(decoys(question), [6, 3, 1])[0]
