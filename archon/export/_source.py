"""What ``archon export`` exports: a pipeline file, or a trial of a finished search."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archon.errors import ConfigurationError
from archon.spec import PipelineSpec
from archon.spec import parse_pipeline


@dataclass(frozen=True)
class ExportSource:
    spec: PipelineSpec
    text: str
    provenance: dict[str, Any]


def pipeline_source(path: str) -> ExportSource:
    from archon.operators import node_types
    from archon.operators import operator_types
    from archon.spec._parse import read_source

    text = read_source(path)
    return ExportSource(parse_pipeline(text, path, node_types(operator_types())), text, {})


def study_source(study: str, trial: str = "best", db: str | None = None) -> ExportSource:
    """The pipeline of a search's trial: ``best``, a trial number, or ``pareto:K`` (the
    K-th point of the Pareto front, cheapest first, from 1).

    Raises:
        ConfigurationError: no such study, trial or Pareto point, or a trial without a pipeline.
    """
    import optuna

    from archon.operators import node_types
    from archon.operators import operator_types
    from archon.search import load_study_result
    from archon.store import Store

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
        space_file = loaded.user_attrs.get("space_file", "?")
    finally:
        store.close()
    if not text:
        raise ConfigurationError(
            f"trial {chosen.number} of {study!r} has no stored pipeline (a search older than export)"
        )
    prov: dict[str, Any] = {
        "Study": f"{study} (space {space_file}), trial {chosen.number}, params {chosen.params}",
        "Dev score": f"{chosen.score:.4f} [{chosen.ci95[0]:.3f}, {chosen.ci95[1]:.3f}]"
        if chosen.ci95
        else chosen.score,
        "Cost per query": f"{chosen.cost:.6g} ({chosen.calls_per_query:.1f} calls)",
    }
    if result.best is not None and chosen.number == result.best.number and result.test_score is not None:
        prov["Test score"] = f"{result.test_score:.4f} (held-out split)"
    name = f"{study}#trial-{chosen.number}"
    return ExportSource(parse_pipeline(text, name, node_types(operator_types())), text, prov)


def read_export_source(source: str, trial: str | None, db: str | None) -> ExportSource:
    """A YAML path (``.yaml``/``.yml`` or an existing file) or a study name."""
    if source.endswith((".yaml", ".yml")) or Path(source).is_file():
        if trial is not None:
            raise ConfigurationError("--trial goes with a study name, not a pipeline file")
        return pipeline_source(source)
    return study_source(source, trial or "best", db)
