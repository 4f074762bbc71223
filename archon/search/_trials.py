"""Optuna trials ⇄ archon's trial records: reading a study's trials as
:class:`TrialRecord` and telling Optuna how a trial ended.
"""

from __future__ import annotations

from typing import Any

from archon.search._records import TrialRecord


def _records(study: Any) -> list[TrialRecord]:
    return [_record(t) for t in study.get_trials(deepcopy=False) if t.state.is_finished()]


def _counted(records: list[TrialRecord]) -> int:
    """Architectures tried: not repeats of tried ones (free), nor trials of dead workers."""
    return sum(1 for r in records if r.state not in ("failed", "repeat"))


def _since_better(records: list[TrialRecord]) -> int:
    """Architectures scored (complete or pruned) since the best dev score last rose: what
    ``budget.search.patience`` is checked against."""
    best: float | None = None
    since = 0
    for r in sorted(records, key=lambda r: r.number):
        if r.state == "complete" and r.score is not None and (best is None or r.score > best):
            best, since = r.score, 0
        elif r.state in ("complete", "pruned"):
            since += 1
    return since


def _unbeatable(records: list[TrialRecord]) -> TrialRecord | None:
    """A complete trial with a perfect dev score (1.0) at the lowest cost of any complete
    trial: no other architecture can score higher on dev, and none tried is cheaper."""
    done = [r for r in records if r.state == "complete" and r.score is not None]
    top = max(done, key=lambda r: (r.score or 0.0, -(r.cost or 0.0)), default=None)
    if top is not None and (top.score or 0.0) >= 1.0 and (top.cost or 0.0) <= min(r.cost or 0.0 for r in done):
        return top
    return None


def _tell_repeat(study: Any, trial: Any, rec: TrialRecord, same: TrialRecord, objectives: int) -> None:
    import optuna

    trial.set_user_attr("state", "repeat")
    trial.set_user_attr("reason", rec.reason)
    for k in ("score", "cost", "calls_per_query"):
        trial.set_user_attr(k, getattr(same, k))
    if same.state == "complete":
        score, cost = float(same.score or 0.0), float(same.cost or 0.0)
        study.tell(trial, [score, cost] if objectives == 2 else score)
    else:
        study.tell(trial, state=optuna.trial.TrialState.PRUNED)


def _tell_pruned(study: Any, trial: Any, rec: TrialRecord) -> None:
    import optuna

    trial.set_user_attr("state", rec.state)
    trial.set_user_attr("reason", rec.reason)
    study.tell(trial, state=optuna.trial.TrialState.PRUNED)


def _record(t: Any) -> TrialRecord:
    a = t.user_attrs
    if t.state.name == "FAIL":
        retry = a.get("worker", "")
        return TrialRecord(
            t.number, dict(a.get("values", t.params)), "failed", reason=f"its worker died {retry}".strip() + "; retried"
        )
    state = a.get("state", "complete" if t.state.name == "COMPLETE" else "rejected")
    ci = a.get("ci95")
    return TrialRecord(
        t.number,
        dict(a.get("values", t.params)),
        state,
        a.get("score"),
        tuple(ci) if ci else None,
        a.get("cost"),
        a.get("calls_per_query"),
        int(a.get("paid_calls", 0)),
        int(a.get("cached_calls", 0)),
        a.get("reason", ""),
        tuple(a.get("rung_scores", ())),
        tuple(a.get("item_scores", ())),
        dict(a.get("verifiers") or {}),
    )
