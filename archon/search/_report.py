"""``results/<study>/report.html``: one self-contained page — the search's summary, a
plot of score against cost with the Pareto front, the best architecture drawn as a
graph, and the table of trials. Figures are inline SVG drawn by matplotlib."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from archon.search._space import SearchSpace
from archon.search._space import _dump

_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>archon search {{ study }}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; font-size: 0.85em; }
td, th { border: 1px solid #ccc; padding: 0.25em 0.5em; text-align: left; }
tr.pareto td { background: #fff3e0; } tr.best td { background: #ffe0b2; font-weight: bold; }
.figs { display: flex; flex-wrap: wrap; gap: 2em; } pre { background: #f6f6f6; padding: 1em; }
.sim { color: #b00; font-weight: bold; }
</style></head><body>
<h1>Search {{ study }}</h1>
{% if simulated %}<p class="sim">This space uses synthetic/ models: a SIMULATION for testing the search, not a measurement of any real model.</p>{% endif %}
<p>{{ space.description }}</p>
<ul>
<li>space: <code>{{ space.file }}</code>, strategy <b>{{ space.strategy }}</b>, objectives {{ space.objectives|join(", ") }}, metric <b>{{ space.metric }}</b></li>
<li>trials: {{ n_tried }} architectures tried ({{ counts }})</li>
<li>spent: {{ spent }}</li>
<li>stopped because: {{ stopped }}</li>
{% if best %}<li>best: trial {{ best.number }}, dev score <b>{{ "%.3f"|format(best.score) }}</b>
 [{{ "%.2f"|format(best.ci95[0]) }}–{{ "%.2f"|format(best.ci95[1]) }}]{% if test_score is not none %}, held-out test score <b>{{ "%.3f"|format(test_score) }}</b>{% endif %},
 cost {{ "%.4g"|format(best.cost) }} per query (the cheapest trial not significantly worse than the top dev score)</li>{% endif %}
{% if baseline %}<li>baseline (one greedy call with the user's prompt): dev <b>{{ "%.3f"|format(baseline.dev) }}</b>{% if baseline.test is not none %}, test <b>{{ "%.3f"|format(baseline.test) }}</b> [{{ "%.2f"|format(baseline.test_ci95[0]) }}–{{ "%.2f"|format(baseline.test_ci95[1]) }}]{% endif %}</li>{% endif %}
{% if lift %}<li>lift of the best over the baseline on test: <b>{{ "%+.3f"|format(lift.lift) }}</b> [{{ "%+.2f"|format(lift.ci95[0]) }}, {{ "%+.2f"|format(lift.ci95[1]) }}] (paired bootstrap, {{ lift.n }} items)</li>{% endif %}
{% if warning %}<li class="sim">warning: {{ warning }}</li>{% endif %}
</ul>
<div class="figs"><div><h2>Score against cost</h2>{{ pareto_svg }}</div>
{% if graph_svg %}<div><h2>Best architecture</h2>{{ graph_svg }}</div>{% endif %}</div>
{% if best and best.verifiers %}<h2>Verifiers of the best architecture (dev, against gold)</h2>
<table><tr><th>node</th><th>judged</th><th>base rate</th><th>precision</th><th>recall</th><th>false-positive rate</th></tr>
{% for node, v in best.verifiers|dictsort %}<tr><td>{{ node }}</td><td>{{ v.judged }}</td><td>{{ v.base_rate }}</td><td>{{ v.precision }}</td><td>{{ v.recall }}</td><td>{{ v.false_positive_rate }}</td></tr>
{% if v.warning %}<tr><td colspan="6" class="sim">warning: {{ v.warning }}</td></tr>{% endif %}{% endfor %}</table>{% endif %}
{% if best_yaml %}<h2>best.yaml</h2><pre>{{ best_yaml }}</pre>{% endif %}
<h2>Trials</h2>
<table><tr><th>trial</th><th>state</th><th>score</th><th>95% CI</th><th>test</th><th>cost/q</th><th>calls/q</th><th>paid</th><th>cached</th><th>params / reason</th></tr>
{% for t in trials %}<tr class="{{ 'best' if best and t.number == best.number else ('pareto' if t.number in front else '') }}">
<td>{{ t.number }}</td><td>{{ t.state }}</td><td>{{ "%.3f"|format(t.score) if t.score is not none else "" }}</td>
<td>{{ "%.2f–%.2f"|format(t.ci95[0], t.ci95[1]) if t.ci95 else "" }}</td><td>{{ "%.3f"|format(test_scores[t.number]) if t.number in test_scores else "" }}</td><td>{{ "%.4g"|format(t.cost) if t.cost is not none else "" }}</td>
<td>{{ "%.1f"|format(t.calls_per_query) if t.calls_per_query is not none else "" }}</td><td>{{ t.paid_calls }}</td><td>{{ t.cached_calls }}</td>
<td>{{ t.params|dictsort|map("join", "=")|join(" ") }}{% if t.reason %} — {{ t.reason }}{% endif %}</td></tr>
{% endfor %}</table>
<p>The study lives in the archon database (Optuna RDB storage): <code>archon show {{ study }}</code>, or optuna-dashboard on the same URL.</p>
</body></html>
"""


def _svg(fig: Any) -> str:
    import matplotlib.pyplot as plt

    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg") :]


def _pareto_svg(records: list[Any], front: list[Any], best: Any, cost_label: str, baseline: float | None = None) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    done = [r for r in records if r.state == "complete" and r.cost is not None]
    ax.scatter([r.cost for r in done], [r.score for r in done], c="#999", s=18, label="trials")
    if front:
        ax.plot([r.cost for r in front], [r.score for r in front], "o-", c="#e65100", label="Pareto front")
        for r in front:
            ax.annotate(str(r.number), (r.cost, r.score), textcoords="offset points", xytext=(4, 4), fontsize=8)
    if best is not None:
        ax.scatter([best.cost], [best.score], marker="*", s=200, c="#b71c1c", label="best", zorder=3)
    if baseline is not None:
        ax.axhline(baseline, ls="--", c="#1565c0", lw=1, label=f"single call (dev {baseline:.2f})")
    ax.set_xlabel(cost_label)
    ax.set_ylabel("dev score")
    if done and min(r.cost for r in done) > 0 and max(r.cost for r in done) / min(r.cost for r in done) > 50:
        ax.set_xscale("log")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    return _svg(fig)


def _graph_svg(space: SearchSpace, params: dict[str, Any]) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import networkx as nx

    from archon.graph import build_graph

    spec = space.instantiate(params)
    graph = build_graph(spec)
    dag = graph.dag.subgraph(nx.ancestors(graph.dag, graph.output) | {graph.output}).copy()
    for wave, nodes in enumerate(nx.topological_generations(dag)):
        for n in nodes:
            dag.nodes[n]["wave"] = wave
    pos = nx.multipartite_layout(dag, subset_key="wave")
    labels = {}
    for n in dag.nodes:
        node = spec.nodes[n]
        names = graph.models[n] if n in graph.models else ()
        model = ", ".join(m.model for m in names)
        samples = int(getattr(node, "samples", 1))
        extra = f" ×{samples}" if samples > 1 else ""
        head = n if n == node.op else f"{n}\n{node.op}"
        labels[n] = f"{head}{extra}" + (f"\n{model}" if model else "")
    waves = 1 + max((d["wave"] for _, d in dag.nodes(data=True)), default=0)
    fig, ax = plt.subplots(figsize=(max(4.0, 2.4 * waves), 4.2))
    nx.draw_networkx_edges(dag, pos, ax=ax, arrows=True, arrowsize=14, edge_color="#777", node_size=2600)
    nx.draw_networkx_nodes(dag, pos, ax=ax, node_color="#ffe0b2", node_size=2600, edgecolors="#e65100")
    nx.draw_networkx_labels(dag, pos, labels, ax=ax, font_size=7)
    ax.set_axis_off()
    return _svg(fig)


def write_report(
    out: Path,
    space: SearchSpace,
    study: str,
    records: list[Any],
    best: Any,
    front: list[Any],
    test_scores: dict[int, float],
    stopped: str,
    spent: Any,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Writes ``out/report.html`` and returns its path."""
    import json
    from collections import Counter

    from jinja2 import Environment
    from markupsafe import Markup

    priced = any(r.state == "complete" and r.cost != r.calls_per_query for r in records)
    cost_label = "dollars per query" if priced else "calls per query"
    graph_svg = _graph_svg(space, best.params) if best is not None else ""
    from archon.search._simplify import simplify

    extra = extra or {}
    baseline = extra.get("baseline")
    best_yaml = _dump(simplify(space.pipeline_data(best.params), space.node_types)) if best is not None else ""
    env = Environment(autoescape=True)

    html = env.from_string(_PAGE).render(
        study=study,
        space=space,
        simulated="synthetic/" in json.dumps(space.pipeline_data({}), default=str),
        n_tried=sum(1 for r in records if r.state not in ("repeat", "failed")),
        counts=", ".join(f"{n} {s}" for s, n in Counter(r.state for r in records).most_common()),
        spent=f"{spent.calls} paid calls, {spent.tokens} tokens, ${spent.usd:.4f}",
        stopped=stopped,
        best=best,
        test_score=test_scores.get(best.number) if best is not None else None,
        test_scores={k: v for k, v in test_scores.items() if k >= 0},
        pareto_svg=Markup(_pareto_svg(records, front, best, cost_label, baseline["dev"] if baseline else None)),
        baseline=baseline,
        lift=extra.get("lift"),
        warning=extra.get("warning"),
        graph_svg=Markup(graph_svg),
        best_yaml=best_yaml,
        trials=records,
        front={r.number for r in front},
    )
    path = out / "report.html"
    path.write_text(html, encoding="utf-8")
    return path
