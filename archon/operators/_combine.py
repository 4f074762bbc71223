"""What every operator does with its model's replies: the one definition of it.

An operator is a prompt, some calls, and a rule that turns the replies into candidates.
The rules live here, as plain functions of values (no model, no backend, no I/O), and
every runtime calls them: archon's operators (``archon.operators``), the standalone
export (which inlines this module's source) and the DSPy program
(``archon.export.dspy``). A runtime only decides how it makes the calls.

Example:
    >>> from archon._typing import Candidate
    >>> cands = tuple(Candidate(t, "g", sample=i) for i, t in enumerate(["Paris", "Lyon", "paris."]))
    >>> [(c.text, c.score) for c in voted(cands, "text")]
    [('Paris', 0.6666666666666666), ('paris.', 0.6666666666666666), ('Lyon', 0.3333333333333333)]
    >>> [c.text for c in ranked(cands, "[2] > [1]", 2)]
    ['Lyon', 'Paris']
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any
from typing import Literal

from archon._typing import Candidate
from archon._typing import Tests
from archon._typing import Verdict
from archon.operators._parsing import normalize_answer
from archon.operators._parsing import parse_blocks
from archon.operators._parsing import parse_choice
from archon.operators._parsing import parse_ranking
from archon.operators._parsing import parse_test_lines
from archon.operators._parsing import parse_test_results
from archon.operators._parsing import parse_verdict


def sample_waves(models: int, samples: int, wave: int | None) -> list[list[tuple[int, int]]]:
    """generate's requests in waves of ``wave`` samples per model (one wave of all of
    them when ``wave`` is None): the first wave is samples 0..wave-1 of every model, the
    next the following ones, so stopping after any wave leaves the first samples of each
    model — what a fixed run with fewer samples has drawn (and cached).

    Example:
        >>> sample_waves(2, 3, 2)
        [[(0, 0), (0, 1), (1, 0), (1, 1)], [(0, 2), (1, 2)]]
        >>> sample_waves(1, 3, None)
        [[(0, 0), (0, 1), (0, 2)]]
    """
    step = max(1, samples if wave is None else wave)
    return [
        [(m, i) for m in range(models) for i in range(lo, min(lo + step, samples))] for lo in range(0, samples, step)
    ]


def majority_settled(texts: Sequence[str], normalize: str, confidence: float) -> bool:
    """Adaptive sampling's stopping rule: with ``a`` samples for the leading answer and
    ``b`` for the runner-up (empty answers not counted), the leader's share of the two
    has the posterior Beta(a+1, b+1) under a uniform prior; sampling stops once the
    probability that it is over one half — the leader is the true majority of the two —
    reaches ``confidence`` (Adaptive-Consistency's Beta criterion, Aggarwal et al. 2023).
    For whole numbers, P(p <= 1/2) for p ~ Beta(a+1, b+1) is P(X >= a+1) for
    X ~ Binomial(a+b+1, 1/2), computed exactly.

    Example:
        >>> majority_settled(["4", "4", "4", "4"], "text", 0.95)  # 1 - 1/32
        True
        >>> majority_settled(["4", "4", "4", "5"], "text", 0.95)  # 1 - 6/32
        False
        >>> majority_settled(["", "", ""], "text", 0.5001)
        False
    """
    counts: dict[str, int] = {}
    for t in texts:
        key = normalize_answer(t, normalize)
        if key:
            counts[key] = counts.get(key, 0) + 1
    if not counts:
        return False
    top = sorted(counts.values(), reverse=True)
    a, b = top[0], top[1] if len(top) > 1 else 0
    n = a + b + 1
    tail = sum(math.comb(n, k) for k in range(a + 1, n + 1)) / (1 << n)
    return 1.0 - tail >= confidence


def leader_share(texts: Sequence[str], normalize: str) -> float:
    """The leading answer's share of all answers (empty answers count against it).

    Example:
        >>> leader_share(["Paris", "paris.", "Lyon", ""], "text")
        0.5
    """
    counts: dict[str, int] = {}
    for t in texts:
        key = normalize_answer(t, normalize)
        if key:
            counts[key] = counts.get(key, 0) + 1
    return max(counts.values()) / len(texts) if counts else 0.0


def escalates(when: Any, gate: Sequence[Candidate]) -> bool:
    """Whether a node gated by ``when`` (its ``when:``: a ``Condition`` or its dict) runs,
    given the candidates of the gate node: when they agree less than ``agreement_below``
    (the leading answer's share, :func:`leader_share`), or, with ``unverified``, when none
    is verified correct. No candidates at all is the hardest case: it runs.

    Example:
        >>> from archon._typing import Candidate
        >>> two = (Candidate("4", "g"), Candidate("5", "g"))
        >>> escalates({"agreement_below": 0.75}, two), escalates({"agreement_below": 0.5}, two)
        (True, False)
        >>> escalates({"unverified": True}, (Candidate("4", "g", verdict="correct"),))
        False
    """

    if not gate:
        return True
    if _condition(when, "unverified", False):
        return not any(c.verdict == "correct" for c in gate)
    below = _condition(when, "agreement_below", None)
    return below is not None and leader_share([c.text for c in gate], _condition(when, "normalize", "text")) < below


def gate_node(when: Any) -> str:
    """The node a ``when:`` (a ``Condition`` or its dict) reads its signal from."""
    return str(_condition(when, "node", ""))


def _condition(when: Any, name: str, default: Any) -> Any:
    return when.get(name, default) if isinstance(when, Mapping) else getattr(when, name, default)


def generated(
    texts: Sequence[str], jobs: Sequence[tuple[int, int]], node: str, names: Sequence[str | None]
) -> tuple[Candidate, ...]:
    """One candidate per reply of :func:`sample_waves` drawn, named
    after its model, in job order: every sample of the first model, then the next."""
    pairs = sorted(zip(jobs, texts, strict=True), key=lambda p: p[0])
    return tuple(Candidate(text=t, node=node, model=names[m], sample=i) for (m, i), t in pairs)


def rank_needs_call(cands: Sequence[Candidate]) -> bool:
    """One candidate (or none) is its own ranking: no call."""
    return len(cands) > 1


def ranked(cands: Sequence[Candidate], reply: str | None, top_k: int) -> tuple[Candidate, ...]:
    """The best ``top_k`` in the order the reply gives (repaired when partial: see
    :func:`~archon.operators._parsing.parse_ranking`), each scored by its place; without
    a reply (:func:`rank_needs_call` said no) the first ``top_k`` as they are."""
    if reply is None:
        return tuple(cands[:top_k])
    n = len(cands)
    order = parse_ranking(reply, n)
    return tuple(dataclasses.replace(cands[i], score=(n - r) / n) for r, i in enumerate(order[:top_k]))


def pair_schedule(n: int, pairs: int | None) -> list[tuple[int, int]]:
    """The pairs a pairwise rank compares: all ``n(n-1)/2`` of them (``pairs`` None or
    enough), else the first ``pairs`` of a balanced schedule — every candidate against its
    neighbour on a cycle, then the one two places on, and so on — so each candidate meets
    others as evenly as the budget allows. Each pair is judged twice, in both orders.

    Example:
        >>> pair_schedule(3, None)
        [(0, 1), (0, 2), (1, 2)]
        >>> pair_schedule(5, 5)
        [(0, 1), (1, 2), (2, 3), (3, 4), (0, 4)]
    """
    every = [(i, j) for i in range(n) for j in range(i + 1, n)]
    if pairs is None or pairs >= len(every):
        return every
    out: list[tuple[int, int]] = []
    for gap in range(1, n // 2 + 1):
        for i in range(n):
            a, b = sorted((i, (i + gap) % n))
            if (a, b) not in out:
                out.append((a, b))
    return out[:pairs]


def judged_orders(schedule: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """The (A, B) order of each judgment: every scheduled pair twice, as (i, j) then
    (j, i) — the order :func:`ranked_pairwise` reads the replies in.

    Example:
        >>> judged_orders([(0, 1), (0, 2)])
        [(0, 1), (1, 0), (0, 2), (2, 0)]
    """
    return [(a, b) for i, j in schedule for a, b in ((i, j), (j, i))]


def bradley_terry(n: int, wins: Sequence[tuple[int, int]], iterations: int = 200) -> list[float]:
    """Strengths of ``n`` candidates from ``(winner, loser)`` outcomes under the
    Bradley–Terry model, P(i beats j) = s_i / (s_i + s_j), fitted by Hunter's MM updates;
    every pair that met also gets half a win each way (a prior that keeps a candidate
    that never won finite). The strengths sum to 1.

    Example:
        >>> [round(s, 3) for s in bradley_terry(3, [(0, 1), (0, 1), (0, 2), (1, 2)])]
        [0.676, 0.209, 0.115]
    """
    if n == 0:
        return []
    won = [0.0] * n
    met: dict[tuple[int, int], float] = {}
    for w, lo in wins:
        won[w] += 1.0
        key = (min(w, lo), max(w, lo))
        met[key] = met.get(key, 0.0) + 1.0
    for (i, j), k in list(met.items()):
        won[i] += 0.5
        won[j] += 0.5
        met[(i, j)] = k + 1.0
    s = [1.0 / n] * n
    for _ in range(iterations):
        new = []
        for i in range(n):
            denom = sum(k / (s[a] + s[b]) for (a, b), k in met.items() if i in (a, b))
            new.append(won[i] / denom if denom > 0 else s[i])
        total = sum(new)
        s = [x / total for x in new]
    return s


def ranked_pairwise(
    cands: Sequence[Candidate], schedule: Sequence[tuple[int, int]], replies: Sequence[str], top_k: int
) -> tuple[Candidate, ...]:
    """The best ``top_k`` by Bradley–Terry strength (ties: the earlier candidate) from
    two judgments per scheduled pair — ``replies[2k]`` saw pair k as (A=i, B=j),
    ``replies[2k+1]`` as (A=j, B=i), so a judge that always picks the first answer cancels
    out; a reply that names neither counts for neither. Scores are the strengths.

    Example:
        >>> from archon._typing import Candidate
        >>> cs = (Candidate("x", "g"), Candidate("y", "g"))
        >>> [c.text for c in ranked_pairwise(cs, [(0, 1)], ["B", "A"], 2)]  # y won both orders
        ['y', 'x']
        >>> [c.text for c in ranked_pairwise(cs, [(0, 1)], ["A", "A"], 2)]  # position bias: a tie
        ['x', 'y']
    """
    wins: list[tuple[int, int]] = []
    for (first, second), reply in zip(judged_orders(schedule), replies, strict=True):
        choice = parse_choice(reply)
        if choice == "A":
            wins.append((first, second))
        elif choice == "B":
            wins.append((second, first))
    strength = bradley_terry(len(cands), wins)
    order = sorted(range(len(cands)), key=lambda i: (-round(strength[i], 9), i))
    return tuple(dataclasses.replace(cands[i], score=strength[i]) for i in order[:top_k])


def fused(cands: Sequence[Candidate], texts: Sequence[str], node: str, model: str | None) -> tuple[Candidate, ...]:
    """One candidate per fused reply (sample i); an empty reply falls back to the first
    input candidate, so a weak model never turns an answer into nothing."""
    return tuple(
        Candidate(text=t, node=node, model=model, sample=i)
        if t
        else Candidate(text=cands[0].text, node=node, model=cands[0].model, sample=i)
        for i, t in enumerate(texts)
    )


def critiqued(cands: Sequence[Candidate], reply: str) -> tuple[Candidate, ...]:
    """Each candidate with its block of the reply attached (None when the model wrote
    none); a lone candidate takes a reply without numbered blocks whole."""
    blocks = parse_blocks(reply, len(cands))
    if len(cands) == 1 and blocks[0] is None and reply:
        blocks[0] = reply
    return tuple(dataclasses.replace(c, critique=b) for c, b in zip(cands, blocks, strict=True))


def judged_k_of_m(replies: Sequence[str], k: int) -> Verdict:
    """One candidate's verdict from its ``m`` judgments: ``correct`` when at least ``k``
    say correct, ``incorrect`` when so many say incorrect that ``k`` can no longer be
    reached, else ``unknown`` (too many replies without a verdict).

    Example:
        >>> judged_k_of_m(["Verdict: correct", "Verdict: incorrect", "Verdict: correct"], 2)
        'correct'
        >>> judged_k_of_m(["Verdict: correct", "Verdict: incorrect", "?"], 2)
        'unknown'
    """
    verdicts = [parse_verdict(r) for r in replies]
    if sum(v == "correct" for v in verdicts) >= k:
        return "correct"
    if sum(v == "incorrect" for v in verdicts) > len(verdicts) - k:
        return "incorrect"
    return "unknown"


def k_of(judgments: int, min_correct: int | None) -> int:
    """The k of verify's k-of-m rule: ``min_correct``, else a majority of the judgments.

    Example:
        >>> k_of(1, None), k_of(3, None), k_of(4, None), k_of(5, 5)
        (1, 2, 3, 5)
    """
    return min_correct if min_correct is not None else judgments // 2 + 1


def with_verdicts(
    cands: Sequence[Candidate], replies: Sequence[str], judgments: int = 1, k: int = 1
) -> tuple[Candidate, ...]:
    """Each candidate with its verdict: ``replies`` are ``judgments`` per candidate, in
    candidate order (candidate i's are ``replies[i*judgments:(i+1)*judgments]``), combined
    by :func:`judged_k_of_m`."""
    if len(replies) != len(cands) * judgments:
        raise ValueError(f"{len(replies)} replies for {len(cands)} candidates x {judgments} judgments")
    return tuple(
        dataclasses.replace(c, verdict=judged_k_of_m(replies[i * judgments : (i + 1) * judgments], k))
        for i, c in enumerate(cands)
    )


def verified(
    cands: Sequence[Candidate], replies: Sequence[str], on_none: str, judgments: int = 1, k: int = 1
) -> tuple[Candidate, ...]:
    """Each candidate with its verdict (:func:`with_verdicts`); those judged correct pass, in
    order. When none is: ``keep_all`` passes all, ``keep_best`` the first.

    Example:
        >>> from archon._typing import Candidate
        >>> cs = (Candidate("4", "g"), Candidate("5", "g"))
        >>> [c.text for c in verified(cs, ["Verdict: incorrect", "no idea"], "keep_best")]
        ['4']
    """
    return kept_by_verdict(with_verdicts(cands, replies, judgments, k), on_none)


def kept_by_verdict(judged: Sequence[Candidate], on_none: str) -> tuple[Candidate, ...]:
    """The candidates judged correct, in order; when none is, ``keep_all`` keeps all and
    ``keep_best`` the first."""
    every = tuple(judged)
    kept = tuple(c for c in every if c.verdict == "correct")
    if kept:
        return kept
    return every if on_none == "keep_all" else every[:1]


def voted(cands: Sequence[Candidate], normalize: str) -> tuple[Candidate, ...]:
    """Candidates grouped by their normalized answer, the groups by size (ties: the
    group seen first); each candidate scored by its group's share; empty answers last."""
    groups: dict[str, list[Candidate]] = {}
    for c in cands:
        groups.setdefault(normalize_answer(c.text, normalize), []).append(c)
    n = len(cands) or 1
    order = sorted(groups.items(), key=lambda kv: (kv[0] == "", -len(kv[1])))
    return tuple(dataclasses.replace(c, score=len(members) / n) for _, members in order for c in members)


def written_tests(reply: str, kind: str, count: int) -> Tests:
    """unit_test_generate's tests from its reply: lines that are not tests dropped."""
    k: Literal["code", "text"] = "text" if kind == "text" else "code"
    return Tests(k, parse_test_lines(reply, k, count))


def suite_for(
    tests: Sequence[Tests], fields: Mapping[str, Any], tests_field: str | None, tests_kind: str
) -> Tests | None:
    """unit_test_evaluate's tests: those its test nodes wrote, merged in order (the
    first one's kind); else the item's ``tests_field`` (a list, or a text of lines)."""
    if tests:
        return Tests(tests[0].kind, tuple(t for ts in tests for t in ts.items))
    raw = fields.get(tests_field) if tests_field else None
    if raw is None:
        return None
    items = raw.splitlines() if isinstance(raw, str) else [str(x) for x in raw]
    k: Literal["code", "text"] = "text" if tests_kind == "text" else "code"
    return Tests(k, tuple(i for i in items if i.strip()))


def judged_passes(reply: str, n: int) -> int:
    """Tests a judge's reply says passed (an unreported test fails)."""
    return sum(1 for r in parse_test_results(reply, n) if r)


def by_tests(
    cands: Sequence[Candidate], passed: Sequence[int] | None, total: int, top_k: int | None
) -> tuple[Candidate, ...]:
    """Candidates ordered by tests passed (ties keep the input order), the best
    ``top_k`` if set; ``passed`` None: there were no tests, every count is 0 of 0."""
    if passed is None:
        scored = [dataclasses.replace(c, tests_passed=0, tests_total=0) for c in cands]
    else:
        scored = [dataclasses.replace(c, tests_passed=p, tests_total=total) for c, p in zip(cands, passed, strict=True)]
    ordered = sorted(scored, key=lambda c: -(c.tests_passed or 0))
    return tuple(ordered[:top_k] if top_k else ordered)
