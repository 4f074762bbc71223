"""``archon rank-models``: Archon's step 1 — a power ranking of the models as generators
(one sample each) and as fusers (fusing one sample of every model), on a dev sample.

Rankings are stored in the archon database under the hash of what was ranked and reused
by every later search of the same space; their calls go through the shared cache, and
within a search they count against its budget.
"""

from __future__ import annotations

import hashlib
import json
import random
from typing import Any

from sqlalchemy import Table
from sqlalchemy import delete
from sqlalchemy import select

from archon._pipeline import Pipeline
from archon.backends import Limits
from archon.backends import ModelClient
from archon.errors import ConfigurationError
from archon.evaluate import Dataset
from archon.evaluate import aevaluate
from archon.evaluate import get_metric
from archon.operators import operator_types
from archon.search._archon_space import Ranking
from archon.search._archon_space import model_aliases
from archon.search._ledger import Spend
from archon.search._space import SearchSpace
from archon.search._space import _dump
from archon.spec import parse_pipeline
from archon.store import ModelRankRecord
from archon.store import Store
from archon.store import utc_now


def ranking_key(space: SearchSpace) -> str:
    assert space.archon is not None
    a = space.archon
    what = {
        "models": a.models,
        "dataset": [space.dataset.model_dump(), str(space.dataset_path() or "")],
        "metric": space.metric,
        "items": a.rank_items,
        "sampling": [a.max_tokens, a.temperature, a.template],
    }
    return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()


def stored_ranking(space: SearchSpace, store: Store) -> Ranking | None:
    """The stored ranking of this space's models, or None if they were never ranked."""
    key = ranking_key(space)
    with store.engine.connect() as conn:
        rows = conn.execute(select(ModelRankRecord.__table__).where(ModelRankRecord.key == key)).all()
    if not rows:
        return None
    return _ranking(_scores(list(rows)), rows[0].items)


def _scores(rows: list[Any]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for r in rows:
        out.setdefault(r.role, {})[r.model] = float(r.score)
    return out


def _ranking(scores: dict[str, dict[str, float]], items: int) -> Ranking:
    def order(role: str) -> tuple[str, ...]:
        s = scores.get(role, {})
        return tuple(sorted(s, key=lambda m: -s[m]))  # stable: ties keep the listed order

    return Ranking(order("generator"), order("fuser"), scores, items)


def rank_worst_case(space: SearchSpace, items: int) -> Spend:
    """The most a ranking can spend: n generator runs and n fuser runs (each generating
    n samples and fusing them) on ``items`` queries."""
    assert space.archon is not None
    n = len(space.archon.models)
    pq = space.budget.per_query
    calls = n * items + n * (n + 1) * items
    return Spend(calls, (pq.tokens or 0) * 2 * n * items, (pq.usd or 0.0) * 2 * n * items)


def rank_items(space: SearchSpace, dev: Dataset) -> Dataset:
    assert space.archon is not None
    order = list(dev.examples)
    random.Random(space.dataset.seed).shuffle(order)  # the split's seed: one ranking for every search seed
    return Dataset("rank", tuple(order[: space.archon.rank_items]))


async def arank_models(space: SearchSpace, dev: Dataset, client: ModelClient, store: Store) -> tuple[Ranking, Spend]:
    """Ranks the space's models on a sample of ``dev``, stores and returns the ranking and
    what it paid.

    Raises:
        ConfigurationError: the space is not an ``archon:`` space.
    """
    if space.archon is None:
        raise ConfigurationError(f"{space.file}: rank-models ranks the models of an archon: space; this has none")
    a = space.archon
    sample = rank_items(space, dev)
    metric = get_metric(space.metric)
    pq = space.budget.per_query
    limits = Limits.of(pq)
    ops = operator_types()
    alias, models = model_aliases(a)
    gen: dict[str, Any] = {"op": "generate", "samples": 1}
    if a.template:
        gen["template"] = a.template
    scores: dict[str, dict[str, float]] = {"generator": {}, "fuser": {}}
    paid = Spend()
    for role in ("generator", "fuser"):
        for m in a.models:
            if role == "generator":
                nodes = {"answer": {**gen, "model": alias[m]}}
            else:
                nodes = {
                    "generate": {**gen, "models": list(alias.values())},
                    "answer": {"op": "fuse", "model": alias[m], "inputs": ["generate"]},
                }
            text = _dump({"name": f"rank-{role}", "models": models, "nodes": nodes, "output": "answer"})
            pipe = Pipeline(parse_pipeline(text, f"{space.file}#rank-{role}"), ops=ops, limits=limits, client=client)
            result = await aevaluate(pipe, sample, metric)
            u = result.usage
            paid = paid + Spend(u.paid_calls, u.prompt_tokens + u.completion_tokens, u.cost_usd)
            scores[role][m] = result.score
    key = ranking_key(space)
    table: Table = ModelRankRecord.__table__  # type: ignore[assignment]
    with store.engine.begin() as conn:
        conn.execute(delete(table).where(ModelRankRecord.key == key))
        conn.execute(
            table.insert(),
            [
                {"key": key, "role": role, "model": m, "score": sc, "items": len(sample), "created_at": utc_now()}
                for role, by_model in scores.items()
                for m, sc in by_model.items()
            ],
        )
    return _ranking(scores, len(sample)), paid


async def rank_models(space: SearchSpace, db: str | None = None, *, again: bool = False) -> tuple[Ranking, Spend, bool]:
    """``archon rank-models``: the stored ranking (``again=False``) or a new one. Returns
    the ranking, what it paid and whether it was the stored one."""

    if space.archon is None:
        raise ConfigurationError(f"{space.file}: rank-models ranks the models of an archon: space; this has none")
    store = Store(db)
    client = ModelClient(store)
    try:
        if not again:
            old = stored_ranking(space, store)
            if old is not None:
                return old, Spend(), True
        _, dev, _ = space.splits()
        ranking, paid = await arank_models(space, dev, client, store)
        return ranking, paid, False
    finally:
        await client.aclose()
        store.close()
