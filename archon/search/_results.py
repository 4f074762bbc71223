"""A search's results: ``results/<study>/`` (best.yaml, pareto/, trials.csv,
summary.json) and a finished study read back from the database (``archon show``).
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

from archon.errors import ConfigurationError
from archon.errors import SpecError
from archon.evaluate import bootstrap_ci
from archon.operators import operator_types
from archon.search._baseline import Lift
from archon.search._baseline import select_winner
from archon.search._ledger import BASE_ROW
from archon.search._ledger import Ledger
from archon.search._records import TrialRecord
from archon.search._records import pareto_front
from archon.search._space import SearchSpace
from archon.search._space import _dump
from archon.search._trials import _records
from archon.store import Store


@dataclass(frozen=True)
class SearchResult:
    study: str
    trials: tuple[TrialRecord, ...]
    best: TrialRecord | None
    pareto: tuple[TrialRecord, ...]
    paid_calls: int
    stopped_because: str
    results_dir: Path | None
    test_score: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _write_results(
    space: SearchSpace,
    name: str,
    records: list[TrialRecord],
    best: TrialRecord | None,
    front: list[TrialRecord],
    test_scores: dict[int, float],
    results_dir: str | Path | None,
    extra: dict[str, Any] | None = None,
) -> Path | None:
    if results_dir is None:
        return None
    from archon.search._simplify import effective_params
    from archon.search._simplify import simplify

    extra = extra or {}
    out = Path(results_dir) / name
    (out / "pareto").mkdir(parents=True, exist_ok=True)
    cis = extra.get("test_cis", {})

    def yaml_for(rec: TrialRecord, label: str) -> str:
        data = simplify(space.pipeline_data(rec.params), space.node_types)  # no-op nodes dropped
        data["name"] = f"{space.name}-{label}"
        test = ""
        if rec.number in test_scores:
            lo, hi = cis.get(rec.number, (math.nan, math.nan))
            test = f", test score {test_scores[rec.number]:.4f} [{lo:.2f}-{hi:.2f}]"
        head = (
            f"# {label}: trial {rec.number} of study {name} ({space.file})\n"
            f"# dev score {rec.score:.4f}{test}, cost {rec.cost:.6g} per query; "
            f"params {json.dumps(effective_params(space, rec.params), default=str)}\n"
        )
        return head + _dump(data)

    if best is not None:
        (out / "best.yaml").write_text(yaml_for(best, "best"), encoding="utf-8")
    base = extra.get("baseline") or {}
    if base.get("pipeline"):  # the single call every result is measured against, ready to run
        head = f"# baseline of study {name}: one greedy call with the user's prompt; dev score {base.get('dev')}\n"
        (out / "baseline.yaml").write_text(head + base["pipeline"], encoding="utf-8")
    for old in (out / "pareto").glob("*.yaml"):
        old.unlink()
    for rec in front:
        (out / "pareto" / f"trial-{rec.number}.yaml").write_text(yaml_for(rec, "pareto"), encoding="utf-8")
    with (out / "trials.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        keys = [p.name for p in space.params]
        w.writerow(
            [
                "trial",
                "state",
                "score",
                "ci_low",
                "ci_high",
                "cost",
                "calls_per_query",
                "paid_calls",
                "cached_calls",
                "reason",
                *keys,
            ]
        )
        for r in records:
            ci = r.ci95 or (None, None)
            w.writerow(
                [
                    r.number,
                    r.state,
                    r.score,
                    ci[0],
                    ci[1],
                    r.cost,
                    r.calls_per_query,
                    r.paid_calls,
                    r.cached_calls,
                    r.reason,
                    *[r.params.get(k) for k in keys],
                ]
            )
    summary = {
        "study": name,
        "best": {**best.__dict__, "params": effective_params(space, best.params)} if best else None,
        "test_score": test_scores.get(best.number) if best else None,
        "test_ci95": cis.get(best.number) if best else None,
        "test_scores": {k: v for k, v in test_scores.items() if k >= 0},
        "test_cis": {k: v for k, v in cis.items() if k >= 0},
        "baseline": extra.get("baseline"),
        "lift": extra.get("lift"),
        "warning": extra.get("warning"),
        "selection": "the cheapest complete trial not significantly worse than the top dev score "
        "(paired bootstrap 95 %)",
        "pareto": [r.number for r in front],
        "instructions": [space.instruction(i) for i in range(space.instructions.size)] if space.instructions else None,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=1, default=str), encoding="utf-8")
    return out


def load_study_result(study_name: str, db: str | None = None) -> SearchResult:
    """A finished (or stopped) study's trials, best and Pareto front, from the database.

    Raises:
        ConfigurationError: no such study in that database.
    """
    import optuna

    store = Store(db)
    try:
        names = [s.study_name for s in optuna.get_all_study_summaries(storage=store.url)]
        if study_name not in names:
            raise ConfigurationError(
                f"no study {study_name!r} in {store._safe_url()} — studies: {', '.join(names) or 'none'}"
            )
        study = optuna.load_study(study_name=study_name, storage=store.url)
        records = _records(study)
        stopped = str(study.user_attrs.get("stopped_because", "not recorded"))
        test_score = study.user_attrs.get("test_score")
        attrs = study.user_attrs
        test_scores = {int(k): float(v) for k, v in attrs.get("test_scores", {}).items()}
        test_cis = {int(k): (float(v[0]), float(v[1])) for k, v in attrs.get("test_cis", {}).items()}
        base_items = (attrs.get("baseline") or {}).get("dev_items") or []
        lift_attr = attrs.get("lift")
        space = None
        if attrs.get("space_file"):
            from archon.operators import node_types
            from archon.search._space import parse_space_file

            try:  # for the parameters that matter in what is printed; the file may have moved
                space = parse_space_file(attrs["space_file"], node_types(operator_types()))
            except SpecError:
                space = None
        spent = Ledger(store, study_name, "show").spent()
    finally:
        store.close()
    chosen = attrs.get("best_trial", -1)
    best = (
        next((r for r in records if r.number == chosen), None)
        if chosen != -1
        else select_winner(records, base_items or None)
    )
    return SearchResult(
        study_name,
        tuple(records),
        best,
        tuple(pareto_front(records)),
        spent.calls,
        stopped,
        None,
        test_score,
        {
            "spent": spent.__dict__,
            "test_scores": {k: v for k, v in test_scores.items() if k >= 0},
            "test_cis": {k: v for k, v in test_cis.items() if k >= 0},
            "baseline": {
                "dev": sum(base_items) / len(base_items) if base_items else None,
                "dev_ci95": bootstrap_ci(base_items) if base_items else None,
                "dev_items": tuple(base_items),
                "test": test_scores.get(BASE_ROW),
                "test_ci95": test_cis.get(BASE_ROW),
            },
            "lift": Lift.from_dict(lift_attr) if lift_attr else None,
            "warning": attrs.get("warning"),
            "space": space,
        },
    )


@dataclass(frozen=True)
class StudyTrial:
    """One trial of a finished search, with the pipeline the search stored for it."""

    record: TrialRecord
    pipeline: str
    space_file: str
    result: SearchResult


def study_trial(study: str, trial: str = "best", db: str | None = None) -> StudyTrial:
    """A search's trial: ``best`` (the winner), a complete trial's number, or
    ``pareto:K`` (the K-th point of the Pareto front, cheapest first, from 1).

    Raises:
        ConfigurationError: no such study, trial or Pareto point, or a trial without a
            stored pipeline.
    """
    import optuna

    result = load_study_result(study, db)
    done = {t.number: t for t in result.trials if t.state == "complete"}
    if trial == "best":
        chosen = result.best
        if chosen is None:
            raise ConfigurationError(f"study {study!r} has no complete trial to export")
    elif trial.startswith("pareto:"):
        try:
            k = int(trial.split(":", 1)[1])
            chosen = result.pareto[k - 1]
            if k < 1:
                raise IndexError
        except (ValueError, IndexError):
            raise ConfigurationError(
                f"--trial {trial}: the Pareto front of {study!r} has points 1..{len(result.pareto)} "
                f"(trials {', '.join(str(t.number) for t in result.pareto)})"
            ) from None
    else:
        try:
            chosen = done[int(trial)]
        except (ValueError, KeyError):
            raise ConfigurationError(
                f"--trial {trial}: use best, pareto:K or the number of a complete trial of {study!r} "
                f"({', '.join(map(str, sorted(done))) or 'none'})"
            ) from None
    store = Store(db)
    try:
        loaded = optuna.load_study(study_name=study, storage=store.url)
        text = loaded.get_trials(deepcopy=False)[chosen.number].user_attrs.get("pipeline")
        space_file = str(loaded.user_attrs.get("space_file", "?"))
    finally:
        store.close()
    if not text:
        raise ConfigurationError(
            f"trial {chosen.number} of {study!r} has no stored pipeline (a search older than export)"
        )
    return StudyTrial(chosen, str(text), space_file, result)
