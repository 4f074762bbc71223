"""P1: LLM calls a search needs to first reach an architecture within 1 point of its
space's true optimum — archon vs an Archon-style baseline, as a ratio measured in one run.

- **archon**: ``archon optimize`` as shipped — its strategy, successive halving on growing
  dev subsets, the shared call cache, and (for ``archon:`` spaces) the power ranking; the
  ranking's calls and the baseline's (one greedy call scored on dev before the first trial)
  are counted too, and so is the baseline's pass over train when a trial first draws
  bootstrapped demonstrations. Each seed starts from an empty database.
- **baseline** (Archon's ITAS, arXiv 2409.15254 §3.3): Bayesian optimization (the same
  TPE sampler and seed) that evaluates every candidate on the full dev split with no call
  reuse between candidates — a candidate costs its calls per query × dev items, and the
  first candidate that draws bootstrapped demonstrations also pays the pass over train
  they are drawn from (one call per train item; until 2026-12-07 neither side was
  charged for it). An architecture it proposes again is not charged again (kinder to the baseline
  than ITAS).
- **true optimum**: every architecture of the space evaluated on the whole dev split
  (exhaustive grid; the cache makes that affordable). A method "reaches" it when it
  completes an architecture whose true score is within ``--tolerance`` (1 point) of it.

Part 1 runs on SIMULATED synthetic/ models (an Archon-like space of 624 architectures,
200 dev items, ``--seeds`` seeds); part 2 (``--local``) on the embedded model
(gemma-3-270m) over the small real space of optimizers/local-antonyms.yaml; part 3
(``--task NAME``) on the embedded model over the task-first space archon writes for
data/tasks/NAME.jsonl (prompt parameters × sampling × reducer, a space that is not easy).

Run: python benchmarks/search_efficiency.py [--seeds 10] [--local] [--local-seeds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import re
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import optuna

from archon.backends._synthetic import make_dataset
from archon.search import SearchSpace
from archon.search import aoptimize
from archon.search import parse_space
from archon.search._archon_space import archon_params
from archon.search._ledger import BASE_ROW
from archon.search._ledger import RANK_ROW
from archon.search._ledger import Ledger
from archon.search._strategies import _suggest
from archon.store import Store

ROOT = Path(__file__).resolve().parent.parent

SYNTHETIC = """
name: p1-synthetic
description: SIMULATED models — an Archon-like space for measuring the search itself.
archon:
  models: [synthetic/a-0.45, synthetic/b-0.62, synthetic/c-0.55, synthetic/d-0.70, synthetic/e-0.50]
  generators: 4
  samples: [1, 6]
  fusion_layers: [0, 2]
  width: [1, 3]
  critic_ranker: true
  verifier: true
  max_tokens: 32
dataset: {path: DATA, dev: 0.5, seed: 0}
metric: exact
budget:
  per_query: {calls: 80}
  search: {trials: TRIALS}
FIDELITY
strategy: STRATEGY
seed: SEED
"""


def _key(params: dict[str, Any]) -> str:
    return json.dumps(params, sort_keys=True, default=str)


async def truth_table(space: SearchSpace, db: str) -> dict[str, tuple[float, float]]:
    """Every architecture's dev score and calls per query (``space`` is a grid search)."""
    result = await aoptimize(space, db=db, results_dir=None, study_name="truth")
    return {
        _key(t.params): (float(t.score or 0.0), float(t.calls_per_query or 0.0))
        for t in result.trials
        if t.state == "complete"
    }


async def archon_p1(
    space: SearchSpace, db: str, truth: dict[str, tuple[float, float]], target: float
) -> dict[str, Any]:
    t0 = time.perf_counter()
    result = await aoptimize(space, db=db, results_dir=None, study_name="archon")
    store = Store(db)
    try:
        rows = Ledger(store, "archon", "bench").rows()
        rank = next((r["calls"] for r in rows if r["trial"] == RANK_ROW), 0)
        base = next((r["calls"] for r in rows if r["trial"] == BASE_ROW), 0)  # the baseline, scored first
    finally:
        store.close()
    spent = rank + base
    hit = None
    paid = {r["trial"]: r["calls"] for r in rows}  # a trial's row: its rungs and any pass over train it paid
    for t in sorted(result.trials, key=lambda r: r.number):  # repeats and rejections cost 0
        spent += paid.get(t.number, t.paid_calls)
        known = truth.get(_key(t.params))  # None: an architecture the exhaustive run did not complete
        if hit is None and t.state == "complete" and known is not None and known[0] >= target:
            hit = spent
    tried = sum(1 for t in result.trials if t.state in ("complete", "pruned"))
    return {"p1": hit, "total": spent, "trials": tried, "s": time.perf_counter() - t0, "rank": rank}


def baseline_p1(
    space: SearchSpace, truth: dict[str, tuple[float, float]], target: float, n_dev: int, boot_calls: float = 0.0
) -> dict[str, Any]:
    """``boot_calls``: what the baseline's pass over train costs — paid once, with the first
    candidate that draws bootstrapped demonstrations (which cannot be built without it),
    as archon pays it with its first such trial."""
    sampler = optuna.samplers.TPESampler(seed=space.seed, multivariate=True)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    seen: set[str] = set()
    spent = 0.0
    booted = False
    for _ in range(20 * len(truth)):
        trial = study.ask()
        params = space.active(_suggest(trial, space.params, False))
        key = _key(params)
        if key not in truth:  # over the per-query budget: rejected for free, as archon does
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            continue
        score, calls_pq = truth[key]
        if key not in seen:
            seen.add(key)
            spent += calls_pq * n_dev
            if boot_calls and not booted and space.needs_bootstrap(params):
                booted = True
                spent += boot_calls
        study.tell(trial, score)
        if score >= target:
            return {"p1": int(spent), "candidates": len(seen)}
    return {"p1": None, "candidates": len(seen)}


def _space(text: str, file: str, **subs: Any) -> SearchSpace:
    for k, v in subs.items():
        text = text.replace(k, str(v))
    return parse_space(text, file)


async def part(
    name: str,
    make: Any,
    seeds: list[int],
    tolerance: float,
    tmp: Path,
    args_truth_dir: str | None = None,
    strategies: tuple[str, ...] = ("tpe",),
) -> tuple[dict[str, list[float]], list[float]]:
    truth_space = make(seed=0, strategy="grid", fidelity="", trials=100000)
    t0 = time.perf_counter()
    keep = Path(args_truth_dir) if args_truth_dir else tmp
    keep.mkdir(parents=True, exist_ok=True)
    truth = await truth_table(truth_space, f"sqlite:///{keep / (name.split()[0] + '-truth.db')}")
    best = max(s for s, _ in truth.values())
    target = best - tolerance
    n_dev = len(_dev_items(truth_space))
    # bootstrapped demonstrations need the baseline's pass over train (one greedy call an item), whoever searches
    boot_calls = float(len(truth_space.splits()[0])) if truth_space.demos else 0.0
    print(
        f"\n== {name}: {len(truth)} architectures, {n_dev} dev items; true optimum {best:.3f} "
        f"({sum(1 for s, _ in truth.values() if s >= target)} within {tolerance:.2f}); "
        f"exhaustive evaluation {time.perf_counter() - t0:.0f} s"
        + (f"; bootstrapping's pass over train: {boot_calls:.0f} calls, charged to both" if boot_calls else "")
    )
    print(
        f"{'seed':>4}  {'baseline P1':>11} (candidates)  "
        + "  ".join(f"archon-{st} P1 (ratio, trials, s)" for st in strategies)
    )
    ours: dict[str, list[float]] = {st: [] for st in strategies}
    misses: dict[str, int] = {st: 0 for st in strategies}
    theirs: list[float] = []
    for seed in seeds:
        b = baseline_p1(make(seed=seed), truth, target, n_dev, boot_calls)
        # a miss counts as the whole spend (a lower bound of its P1)
        theirs.append(float(b["p1"] if b["p1"] is not None else sum(c * n_dev for _, c in truth.values()) + boot_calls))
        row = f"{seed:>4}  {b['p1'] if b['p1'] else 'miss':>11} ({b['candidates']:>3})        "
        for st in strategies:
            a = await archon_p1(
                make(seed=seed, strategy=st), f"sqlite:///{tmp / f'{name}-{st}-{seed}.db'}", truth, target
            )
            ours[st].append(float(a["p1"] if a["p1"] is not None else a["total"]))
            misses[st] += a["p1"] is None
            ratio = ours[st][-1] / theirs[-1]
            hit = a["p1"] if a["p1"] is not None else f"miss>{a['total']}"
            row += f"  {hit:>8} ({ratio:.3f}, {a['trials']:>3}, {a['s']:>3.0f} s)    "
        print(row)
    for st in strategies:
        ratio = statistics.mean(ours[st]) / statistics.mean(theirs)
        med = statistics.median(o / t for o, t in zip(ours[st], theirs, strict=True))
        print(
            f"{name}, archon {st}: mean P1 {statistics.mean(ours[st]):,.0f} calls vs baseline "
            f"{statistics.mean(theirs):,.0f} -> ratio {ratio:.3f} (median of per-seed ratios {med:.3f}); "
            f"reached the optimum in {len(seeds) - misses[st]}/{len(seeds)} seeds"
            + (" (a miss is counted at its whole spend: a lower bound of its P1)" if misses[st] else "")
        )
    return ours, theirs


def _dev_items(space: SearchSpace) -> Any:

    return space.splits()[1].examples  # (train, dev, test)


async def main_async(args: argparse.Namespace) -> None:
    logging.getLogger("optuna").setLevel(logging.WARNING)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        data = tmp / "items.jsonl"
        data.write_text("\n".join(json.dumps(i) for i in make_dataset(400, seed=7)) + "\n", encoding="utf-8")

        def synthetic(seed: int, strategy: str = "tpe", fidelity: str | None = None, trials: int | None = None) -> Any:
            fid = "fidelity: {rungs: [0.1, 0.3, 1.0], keep: 0.34}" if fidelity is None else fidelity
            return _space(
                SYNTHETIC,
                str(tmp / "p1.yaml"),
                DATA=data,
                TRIALS=trials or args.trials,
                FIDELITY=fid,
                STRATEGY=strategy,
                SEED=seed,
            )

        if args.smoke:  # a small space, to check this script quickly (not a measurement)
            big = synthetic

            def synthetic(
                seed: int, strategy: str = "tpe", fidelity: str | None = None, trials: int | None = None
            ) -> Any:
                space = big(seed, strategy, fidelity, trials)
                small = space.archon.model_copy(update={"samples": (1, 2), "fusion_layers": (0, 1), "width": (1, 2)})
                return replace(space, archon=small, params=tuple(archon_params(small)))

        if not args.no_synthetic:
            await part(
                "synthetic (SIMULATED)",
                synthetic,
                list(range(args.seeds)),
                args.tolerance,
                tmp,
                args.truth_dir,
                tuple(args.strategies.split(",")),
            )
        if args.task:
            from archon.evaluate import load_file
            from archon.search._task import dump_space
            from archon.search._task import task_space

            task_file = ROOT / "data" / "tasks" / f"{args.task}.jsonl"
            data_t, _ = task_space(load_file(task_file), str(task_file), "local/gemma-3-270m", out_dir=tmp)
            if args.prompts_only:  # the prompt parameters alone: one greedy call each (a truth table in minutes)
                data_t["space"] = {k: v for k, v in data_t["space"].items() if k in ("shots", "pick", "demo_seed")}
                data_t["pipeline"]["nodes"]["samples"]["samples"] = 1
                data_t["pipeline"]["nodes"]["answer"]["op"] = "vote"
                data_t["pipeline"]["models"]["m"]["temperature"] = 0.0
                del data_t["instructions"]
                node = data_t["pipeline"]["nodes"]["samples"]
                node["template"] = node["template"].replace("${instruction}", "")
            task_text = dump_space(data_t)

            def task(seed: int, strategy: str = "tpe", fidelity: str | None = None, trials: int | None = None) -> Any:
                text = task_text.replace("strategy: greedy", f"strategy: {strategy}\nseed: {seed}")
                text = re.sub(r"(\n\s+trials: )\d+", rf"\g<1>{trials or 24}", text)
                text = re.sub(r"(search:\n\s+calls: )\d+", r"\g<1>10000000", text)  # P1 is counted, not capped
                text = re.sub(r"\n\s+patience: \d+", "", text)
                if fidelity is not None:  # the truth table: no halving
                    text = re.sub(r"\nfidelity:.*(\n  .*)*", "\n" + fidelity, text)
                return parse_space(text, str(tmp / "task.yaml"))

            await part(
                f"embedded gemma-3-270m, task-first space of {args.task}",
                task,
                list(range(args.local_seeds)),
                args.tolerance,
                tmp,
                args.truth_dir,
                tuple(args.strategies.split(",")),
            )
        if args.local:
            local_text = (ROOT / "optimizers" / "local-antonyms.yaml").read_text()
            local_text = local_text.replace("../data/", str(ROOT / "data") + "/")

            def local(seed: int, strategy: str = "tpe", fidelity: str | None = None, trials: int | None = None) -> Any:
                text = local_text.replace("strategy: tpe", f"strategy: {strategy}\nseed: {seed}")
                text = text.replace("search: {calls: 1500, trials: 12}", f"search: {{trials: {trials or 16}}}")
                if fidelity is None:
                    text += "fidelity: {rungs: [0.34, 1.0], keep: 0.5}\n"
                return parse_space(text, str(ROOT / "optimizers" / "local-antonyms.yaml"))

            await part(
                "embedded gemma-3-270m", local, list(range(args.local_seeds)), args.tolerance, tmp, args.truth_dir
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--trials", type=int, default=60, help="archon's trial budget per seed (synthetic part)")
    ap.add_argument("--tolerance", type=float, default=0.01, help="'within 1 point' of the optimum")
    ap.add_argument("--local", action="store_true", help="also run part 2 on the embedded model (minutes)")
    ap.add_argument("--local-seeds", type=int, default=3)
    ap.add_argument("--task", help="also run part 3: the task-first space of data/tasks/TASK.jsonl (embedded model)")
    ap.add_argument(
        "--prompts-only",
        action="store_true",
        help="part 3 over the prompt parameters alone (demonstrations: count, pick, seed; one greedy call)",
    )
    ap.add_argument("--no-synthetic", action="store_true", help="skip part 1")
    ap.add_argument(
        "--truth-dir",
        help="keep the exhaustive evaluations here and reuse them next time (a resumed grid: no calls)",
    )
    ap.add_argument("--strategies", default="tpe,greedy", help="archon strategies to measure (synthetic part)")
    ap.add_argument("--smoke", action="store_true", help="a tiny synthetic space: checks the script, measures nothing")
    asyncio.run(main_async(ap.parse_args()))


if __name__ == "__main__":
    main()
