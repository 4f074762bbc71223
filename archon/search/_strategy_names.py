"""The search strategies' names, in a module of their own: the space parser reads them
without importing the strategies (which use the space).
"""

from __future__ import annotations

#: Strategy name → what it does. The space parser, its error message, ``archon optimize
#: --strategy`` and its ``--help`` all read this table.
STRATEGIES: dict[str, str] = {
    "greedy": "coordinate ascent from the defaults, one parameter at a time, restarting from a random "
    "untried architecture at a local optimum (the default)",
    "tpe": "Optuna's multivariate TPE: a model of good and bad trials proposes the next",
    "random": "uniform random draws",
    "grid": "every point of the space once (int, choice, bool and subset parameters)",
    "nsga2": "Optuna's NSGA-II, multi-objective (needs objectives: [score, cost])",
}
