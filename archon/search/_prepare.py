"""Before the first trial: the power ranking of an ``archon:`` space's models, the
baseline (one greedy call with the user's prompt) scored on dev — and on train, when a
trial first draws demonstrations bootstrapped from its correct answers — and the
instructions a model proposes. Each is paid from the search budget once per study; a
resumed search or a worker reads it back.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from archon._pipeline import Pipeline
from archon.backends import Limits
from archon.backends import ModelClient
from archon.errors import ArchonError
from archon.errors import ConfigurationError
from archon.evaluate import Dataset
from archon.evaluate import Example
from archon.evaluate import Metric
from archon.evaluate import aevaluate
from archon.evaluate import bootstrap_ci
from archon.search._archon_space import Ranking
from archon.search._baseline import item_scores
from archon.search._demos import DemoPool
from archon.search._halving import all_failed
from archon.search._halving import paid_spend
from archon.search._halving import worst_case
from archon.search._ledger import BASE_ROW
from archon.search._ledger import PROPOSE_ROW
from archon.search._ledger import RANK_ROW
from archon.search._ledger import Ledger
from archon.search._ledger import Spend
from archon.search._space import SearchSpace
from archon.search._space import _dump
from archon.spec import parse_pipeline
from archon.store import Store


async def _ranked(
    space: SearchSpace,
    dev: Dataset,
    client: ModelClient,
    store: Store,
    ledger: Ledger,
    caps: Limits,
) -> Ranking:
    """The stored power ranking of an archon: space's models, or a new one paid from the
    search budget."""
    from archon.search._power_ranking import arank_models
    from archon.search._power_ranking import rank_items
    from archon.search._power_ranking import rank_worst_case
    from archon.search._power_ranking import stored_ranking

    ranking = stored_ranking(space, store)
    if ranking is not None:
        return ranking
    why = ledger.reserve(RANK_ROW, rank_worst_case(space, len(rank_items(space, dev))), caps)
    if why is not None:
        raise ConfigurationError(f"ranking the models (archon rank-models) does not fit the search budget: {why}")
    with ledger.tagged(RANK_ROW):
        ranking, paid = await arank_models(space, dev, client, store)
    ledger.settle(RANK_ROW, paid, final=True)
    return ranking


@dataclass(frozen=True)
class BaselineRun:
    """The baseline's per-item dev scores and, where demonstrations are bootstrapped, the
    train items it answered correctly with its answers."""

    pipeline: Pipeline
    dev_items: tuple[float, ...]
    bootstrapped: tuple[tuple[Example, str], ...] | None
    dev_score: float
    dev_ci95: tuple[float, float]


async def _baseline(
    space: SearchSpace,
    study: Any,
    pipe: Pipeline,
    train: Dataset,
    dev: list[Example],
    metric: Metric,
    ledger: Ledger,
    caps: Limits,
    pq: Any,
    role: str,
) -> BaselineRun:
    """Scores the baseline on dev once per study, paid from the search budget; a resumed
    search or a worker reads it back (a worker does not wait for it: it needs it only to
    pick the winner, which the leader does). Demonstrations bootstrapped from its train
    answers are scored later, by :func:`_bootstrap`, when a trial first needs them — or
    read back here from a study that has them."""
    by_index = {e.index: e for e in train.examples}
    saved = study.user_attrs.get("baseline")
    if saved is None and role != "main":
        return BaselineRun(pipe, (), _saved_bootstrap(study, by_index), 0.0, (0.0, 0.0))
    if saved is not None:
        dev_items = tuple(float(x) for x in saved["dev_items"])
        return BaselineRun(
            pipe,
            dev_items,
            _saved_bootstrap(study, by_index),
            sum(dev_items) / max(1, len(dev_items)),
            bootstrap_ci(dev_items),
        )
    items = len(dev)
    why = ledger.reserve(BASE_ROW, worst_case(pipe, pq, items), caps)
    if why is not None:
        raise ConfigurationError(
            f"scoring the baseline (one greedy call on {items} items) does not fit the search budget: {why} — "
            "raise budget.search or shrink the dataset"
        )
    paid = Spend()
    try:
        with ledger.tagged(BASE_ROW):
            res = await aevaluate(pipe, Dataset("dev", tuple(dev)), metric)
        paid = paid + paid_spend(res.usage)
    finally:
        ledger.settle(BASE_ROW, paid, final=True)
    failed = all_failed(res)
    if failed:
        raise ArchonError(f"the baseline (one greedy call) failed on every dev item: {failed}")
    dev_items = item_scores(res)
    study.set_user_attr("baseline", {"dev_items": list(dev_items)})
    return BaselineRun(pipe, dev_items, _saved_bootstrap(study, by_index), res.score, res.ci95)


def _saved_bootstrap(study: Any, by_index: dict[int, Example]) -> tuple[tuple[Example, str], ...] | None:
    """The bootstrapped demonstrations a study holds (None: not scored yet); a study of an
    earlier version kept them in its baseline."""
    kept = study.user_attrs.get("bootstrapped")
    if kept is None:
        kept = (study.user_attrs.get("baseline") or {}).get("bootstrapped")
    if kept is None:
        return None
    return tuple((by_index[int(i)], str(a)) for i, a in kept if int(i) in by_index)


async def _bootstrap(
    study: Any,
    pipe: Pipeline,
    train: Dataset,
    metric: Metric,
    ledger: Ledger,
    caps: Limits,
    pq: Any,
    row: int,
) -> tuple[tuple[tuple[Example, str], ...] | None, str | None]:
    """(the train items the baseline answered correctly, each with its answer; why not):
    DSPy's BootstrapFewShot idea, scored once per study when the first trial that draws
    ``bootstrap`` demonstrations comes — so a search that never gets there never pays for
    it. Paid on that trial's ledger ``row`` (``caps``: what is left for it, the test
    re-score's share kept back), so a kill or a second worker is accounted for like any
    trial's calls; cached, and read back by a resumed search or another worker."""
    by_index = {e.index: e for e in train.examples}
    saved = _saved_bootstrap(study, by_index)
    if saved is not None:
        return saved, None
    why = ledger.reserve(row, worst_case(pipe, pq, len(train)), caps)
    if why is not None:
        return (
            None,
            f"bootstrapping demonstrations (the baseline on {len(train)} train items) would put the search at {why}",
        )
    paid = Spend()
    try:
        with ledger.tagged(row):
            res = await aevaluate(pipe, train, metric)
        paid = paid_spend(res.usage)
    finally:
        ledger.settle(row, paid, final=False)  # the trial's own steps follow on the same row
    boot = tuple(
        (by_index[i.index], (i.output or "").strip()) for i in res.items if i.score is not None and i.score >= 1
    )
    study.set_user_attr("bootstrapped", [[e.index, a] for e, a in boot])
    return boot, None


async def _proposals(
    space: SearchSpace,
    study: Any,
    train: Dataset,
    client: ModelClient,
    limits: Limits,
    ledger: Ledger,
    caps: Limits,
    pq: Any,
    role: str,
) -> tuple[str, ...]:
    """The instructions the space's proposer model writes from train demonstrations (one
    sample each, temperature 1), once per study: paid from the search budget, cached, and
    read back by a resumed search or a worker."""

    block = space.instructions
    if block is None or block.propose == 0:
        return ()
    for _ in range(1200):
        saved = study.user_attrs.get("instructions")
        if saved is not None or role == "main":
            break
        await asyncio.sleep(0.5)  # a worker waits for the leader's proposals
    if saved is not None:
        return tuple(str(x) for x in saved)
    models = dict(space.pipeline_data({}).get("models") or {})
    alias = block.model or next(iter(models), None)
    if alias not in models:
        raise ConfigurationError(
            f"instructions: model '{alias}' is not an alias of the pipeline's models ({', '.join(models)})"
        )
    fmt = space.demos[0].format if space.demos else "Input: {{ input }}\nAnswer: {{ answer }}\n"
    from archon.search._demos import PROPOSER_PROMPT
    from archon.search._demos import DemoBlock
    from archon.search._demos import render_block

    examples = render_block(DemoBlock("shown", fmt), DemoPool(train.examples), block.shown, "first", 0)
    model = {**models[alias], "temperature": 1.0, "max_tokens": 48, "stop": ["\n"]}
    data = {
        "name": f"{space.name}-proposer",
        "models": {"proposer": model},
        "nodes": {
            "propose": {
                "op": "generate",
                "model": "proposer",
                "samples": block.propose,
                "template": PROPOSER_PROMPT.replace("{examples}", examples),
            }
        },
        "output": "propose",
    }
    pipe = Pipeline(parse_pipeline(_dump(data), f"{space.file}#instructions"), limits=limits, client=client)
    why = ledger.reserve(PROPOSE_ROW, worst_case(pipe, pq, 1), caps)
    if why is not None:
        raise ConfigurationError(f"proposing {block.propose} instructions does not fit the search budget: {why}")
    with ledger.tagged(PROPOSE_ROW):
        run = await pipe.aexecute([{"input": ""}])  # a crash leaves the reservation counted (over, never under)
    ledger.settle(PROPOSE_ROW, paid_spend(run.usage), final=True)
    texts = [c.text.strip() for item in run.items for c in item.candidates][: block.propose]
    texts += [""] * (block.propose - len(texts))
    study.set_user_attr("instructions", texts)
    return tuple(texts)
