"""Search strategies: how the next architecture is proposed.

``STRATEGIES`` is the one table of names (the space parser, its error message and
``--help`` read it). Optuna's samplers drive ``tpe``, ``random``, ``grid`` and ``nsga2``;
``greedy`` (coordinate ascent with restarts) enqueues each trial's parameters itself.
"""

from __future__ import annotations

import json
import random
from dataclasses import replace
from typing import TYPE_CHECKING
from typing import Any

from archon.search._param import Param
from archon.search._records import TrialRecord
from archon.search._strategy_names import STRATEGIES as STRATEGIES

if TYPE_CHECKING:
    from archon.search._space import SearchSpace


def _suggest(trial: Any, params: tuple[Param, ...], grid: bool) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for p in params:
        if not grid and not p.is_active(values):
            continue
        if p.kind == "int":
            values[p.name] = trial.suggest_int(p.name, int(p.low), int(p.high), log=p.log)
        elif p.kind == "float":
            values[p.name] = trial.suggest_float(p.name, float(p.low), float(p.high), log=p.log)
        elif p.kind == "bool":
            values[p.name] = trial.suggest_categorical(p.name, [False, True])
        elif p.kind == "subset":  # optuna's choices are scalars: each combination as JSON
            values[p.name] = json.loads(trial.suggest_categorical(p.name, [json.dumps(c) for c in p.grid()]))
        else:
            values[p.name] = trial.suggest_categorical(p.name, list(p.choices))
    return values


def _sampler(space: SearchSpace, trials: int = 0) -> Any:
    """The strategy's sampler, seeded by the space's seed and the number of trials so far:
    a resumed search (or a second worker) proposes what an unkilled one would at that
    point, instead of replaying the first proposals of the seed."""
    import optuna

    seed = (space.seed * 1_000_003 + trials) % 2**32 if trials else space.seed
    space = replace(space, seed=seed)

    if space.strategy in ("random", "greedy"):  # greedy enqueues every trial's parameters itself
        return optuna.samplers.RandomSampler(seed=space.seed)
    if space.strategy == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=space.seed, population_size=max(4, min(20, _grid_cap(space))))
    if space.strategy == "grid":

        class AskTellGrid(optuna.samplers.GridSampler):
            # GridSampler calls study.stop() when the grid is done, which only works inside
            # study.optimize; with ask/tell archon counts the grid points itself.
            def after_trial(self, *args: Any, **kwargs: Any) -> None:
                return None

        grid = {p.name: [json.dumps(v) for v in p.grid()] if p.kind == "subset" else p.grid() for p in space.params}
        return AskTellGrid(grid, seed=space.seed)
    return optuna.samplers.TPESampler(seed=space.seed, multivariate=True)


def _neighbours(p: Param, value: Any) -> list[Any]:
    if p.kind == "choice" and value in p.choices and all(_number(c) for c in p.choices):
        # an ordered scale (counts, sizes), searched as a line: the values next to this one
        # (a climb goes on from whichever wins); from its default at an end of the scale,
        # where a climb starts, the other end first — a bracket: a hand-picked ladder's far
        # rung shows a trend clearly on few items, and single steps pay a trial a rung
        at = list(p.choices).index(value)
        out = [p.choices[i] for i in (at - 1, at + 1) if 0 <= i < len(p.choices)]
        last = len(p.choices) - 1
        if value == p.default and at in (0, last) and last > 1:
            out.insert(0, p.choices[last - at])
        return out
    if p.kind in ("bool", "choice", "subset"):
        return [v for v in p.grid() if v != value]
    if p.kind == "int":  # a line search along the coordinate: every value of a small range, nearest first
        lo, hi = int(p.low), int(p.high)
        if hi - lo <= 8:
            return sorted((v for v in range(lo, hi + 1) if v != value), key=lambda v: (abs(v - value), v))
        step = max(1, (hi - lo) // 4)
        near = (value - 1, value + 1, value - step, value + step, lo, hi)
        return list(dict.fromkeys(v for v in near if lo <= v <= hi and v != value))
    width = (p.high - p.low) / 10
    return [v for v in (value - width, value + width) if p.low <= v <= p.high]


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _encode(space: SearchSpace, values: dict[str, Any]) -> dict[str, Any]:
    """Parameter values as optuna stores them (a subset as its JSON)."""
    kinds = {p.name: p.kind for p in space.params}
    return {k: json.dumps(v) if kinds.get(k) == "subset" else v for k, v in values.items()}


def _best(records: list[TrialRecord], sideways: bool = False) -> TrialRecord | None:
    """The complete trial with the highest score, the cheaper one on a tie (the top-by-dev
    finalist; the search's winner is :func:`select_winner`'s). ``sideways``: the later one
    on a full tie — the point greedy climbs from, so the climb crosses a plateau instead of
    stopping at its first point."""
    done = [r for r in records if r.state == "complete"]
    later = 1 if sideways else -1
    return max(done, key=lambda r: (r.score or 0, -(r.cost or 0), later * r.number), default=None)


def _greedy_next(
    space: SearchSpace, records: list[TrialRecord], busy: list[dict[str, Any]] | None = None
) -> dict[str, Any] | None:
    """Coordinate ascent with restarts: an untried neighbour of the best architecture so
    far (one parameter changed, and each value of a parameter the change wakes: see
    :func:`_move`) — the cheapest per query first, so a costly change (more samples,
    another layer) is paid for only after the cheap ones are known —, the defaults
    first. When every neighbour
    of the best was tried (a local optimum), an untried architecture drawn at random —
    seeded by the space's seed and the number of trials, so a resumed search draws the
    same — and the climb goes on from whichever is best. None when no untried
    architecture is found. ``busy``: architectures other workers are trying now (not
    proposed again)."""
    records = [r for r in records if r.state != "failed"]  # a dead worker's trial evaluated nothing
    tried = [space.active(r.params) for r in records] + [space.active(b) for b in busy or []]
    best = _best(records, sideways=True)
    current = space.active(best.params) if best else None
    if current is None:
        start = space.active({p.name: p.default for p in space.params})
        if start not in tried:
            return start
    else:
        untried: list[dict[str, Any]] = []
        for p in space.params:
            if not p.is_active(current):
                continue
            for v in _neighbours(p, current[p.name]):
                for proposal in _move(space, current, p.name, v):
                    if proposal not in tried and proposal not in untried:
                        untried.append(proposal)
        if untried:  # the cheapest per query first; among equals, parameter and neighbour order
            return min(untried, key=space.static_calls)
    rng = random.Random(f"{space.seed}:{len(records)}")
    for _ in range(500):
        values: dict[str, Any] = {}
        for p in space.params:
            if p.kind == "float":
                values[p.name] = rng.uniform(float(p.low), float(p.high))
            else:
                values[p.name] = rng.choice(list(p.grid()))
        proposal = space.active(values)
        if proposal not in tried:
            return proposal
    return None


def _move(space: SearchSpace, current: dict[str, Any], name: str, value: Any) -> list[dict[str, Any]]:
    """The architectures one move away: ``name`` set to ``value`` and, when that wakes
    parameters that were inactive (a demonstration seed once the pick is random, a
    temperature once there are several samples), each value of those too, one woken
    parameter at a time. A woken parameter's starting value is arbitrary — the seed of a
    random draw most of all —, so a move is judged on its values, not on the first alone.

    So from ``pick: first`` the move to ``random`` is ``random`` with seed 0, 1 and 2.
    """
    moved = _repair(space, space.active({**current, name: value}))
    out = [moved]
    for p in space.params:
        if p.is_active(moved) and not p.is_active(current):
            for w in _neighbours(p, moved[p.name]):
                out.append(_repair(space, space.active({**moved, p.name: w})))
    return out


def _repair(space: SearchSpace, values: dict[str, Any]) -> dict[str, Any]:
    """A parameter that a change made active keeps its inactive default only if that is
    one of its values; else it starts at its first value (the lowest)."""
    out = dict(values)
    for p in space.params:
        if not p.is_active(out):
            continue
        v = out.get(p.name)
        if p.kind == "float":
            out[p.name] = min(max(float(v if v is not None else p.low), float(p.low)), float(p.high))
        elif v not in p.grid():
            out[p.name] = p.grid()[0]
    return space.active(out)


def _grid_cap(space: SearchSpace) -> int:
    try:
        return _grid_size(space)
    except ValueError:  # a float parameter: unbounded
        return 20


def _grid_size(space: SearchSpace) -> int:
    size = 1
    for p in space.params:
        size *= len(p.grid())
    return size
