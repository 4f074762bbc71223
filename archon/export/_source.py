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
    from archon.spec import read_source

    text = read_source(path)
    return ExportSource(parse_pipeline(text, path, node_types(operator_types())), text, {})


def study_source(study: str, trial: str = "best", db: str | None = None) -> ExportSource:
    """The pipeline of a search's trial: ``best``, a trial number, or ``pareto:K`` (see
    :func:`archon.search.study_trial`), with its provenance.

    Raises:
        ConfigurationError: no such study, trial or Pareto point, or a trial without a pipeline.
    """
    from archon.operators import node_types
    from archon.operators import operator_types
    from archon.search import study_trial

    found = study_trial(study, trial, db)
    chosen, result = found.record, found.result
    prov: dict[str, Any] = {
        "Study": f"{study} (space {found.space_file}), trial {chosen.number}, params {chosen.params}",
        "Dev score": f"{chosen.score:.4f} [{chosen.ci95[0]:.3f}, {chosen.ci95[1]:.3f}]"
        if chosen.ci95
        else chosen.score,
        "Cost per query": f"{chosen.cost:.6g} ({chosen.calls_per_query:.1f} calls)",
    }
    if result.best is not None and chosen.number == result.best.number and result.test_score is not None:
        prov["Test score"] = f"{result.test_score:.4f} (held-out split)"
    name = f"{study}#trial-{chosen.number}"
    return ExportSource(parse_pipeline(found.pipeline, name, node_types(operator_types())), found.pipeline, prov)


def read_export_source(source: str, trial: str | None, db: str | None) -> ExportSource:
    """A YAML path (``.yaml``/``.yml`` or an existing file) or a study name."""
    if source.endswith((".yaml", ".yml")) or Path(source).is_file():
        if trial is not None:
            raise ConfigurationError("--trial goes with a study name, not a pipeline file")
        return pipeline_source(source)
    return study_source(source, trial or "best", db)
