"""A load ramp against ``archon serve STUDY --slo-ms``: SLO compliance with Pareto
switching on (``STUDY/auto``) vs off (``STUDY/best``), in one run.

The backend is archon's scripted OpenAI-compatible server (``archon.testing``; scripted
text, not a model) with a fixed 0.1 s latency and room for 8 calls at once, so latency
grows with load as a real server's does. The study has three Pareto points: ``dear``
(6 samples + fuse, 7 calls in 2 waves; the best), ``mid`` (3 samples + vote, 3 calls)
and ``cheap`` (1 call). Each load step sends requests at a fixed rate for a few
seconds; every request has a fresh input (no cache hits). Prints, per step and overall,
the share of requests answered within the SLO and which points served them.

Run: python benchmarks/serve_slo.py [--slo-ms 800] [--rates 2,6,12,20,30] [--step-s 6]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import sys
import tempfile
import time
from pathlib import Path

import httpx

from archon.testing import free_port
from archon.testing import running_server
from archon.testing._openai_server import ServerProcess

POINTS = {  # name: (nodes, dev score, calls per query)
    "dear": ("  s: {op: generate, model: m, samples: 6}\n  a: {op: fuse, model: m, inputs: [s]}\noutput: a\n", 0.90, 7),
    "mid": ("  s: {op: generate, model: m, samples: 3}\n  a: {op: vote, inputs: [s]}\noutput: a\n", 0.80, 3),
    "cheap": ("  a: {op: generate, model: m}\noutput: a\n", 0.70, 1),
}


def _study(root: Path, api_base: str) -> Path:
    study = root / "ramp"
    (study / "pareto").mkdir(parents=True)
    rows = ["trial,state,score,ci_low,ci_high,cost,calls_per_query,paid_calls,cached_calls,reason"]
    for i, (name, (nodes, score, calls)) in enumerate(POINTS.items()):
        text = (
            f"name: ramp-{name}\ndescription: load-ramp point {name} (scripted server, not a model)\n"
            f"models:\n  m: {{model: openai/scripted, api_base: '{api_base}', temperature: 0.7, max_tokens: 16, concurrency: 64}}\n"
            f"nodes:\n{nodes}"
        )
        (study / "pareto" / f"trial-{i}.yaml").write_text(text)
        if i == 0:
            (study / "best.yaml").write_text(text)
        rows.append(f"{i},complete,{score},,,{calls},{calls},0,0,")
    (study / "trials.csv").write_text("\n".join(rows) + "\n")
    (study / "summary.json").write_text(
        json.dumps({"best": {"number": 0, "score": 0.9, "cost": 7}, "pareto": [0, 1, 2]})
    )
    return study


async def _ramp(base: str, model: str, rates: list[float], step_s: float, tag: str) -> list[tuple[float, float, str]]:
    out: list[tuple[float, float, str]] = []
    async with httpx.AsyncClient(timeout=120, limits=httpx.Limits(max_connections=2000)) as c:

        async def one(rate: float, i: int) -> None:
            t = time.perf_counter()
            r = await c.post(
                base + "/chat/completions",
                json={"model": model, "messages": [{"role": "user", "content": f"{tag}-{rate}-{i}"}]},
            )
            point = (
                r.json().get("archon", {}).get("point", f"error {r.status_code}")
                if r.status_code == 200
                else f"error {r.status_code}"
            )
            out.append((rate, time.perf_counter() - t, point))

        tasks = []
        for rate in rates:
            n = int(rate * step_s)
            for i in range(n):
                tasks.append(asyncio.create_task(one(rate, i)))
                await asyncio.sleep(1 / rate)
        await asyncio.gather(*tasks)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--slo-ms", type=float, default=800)
    ap.add_argument("--rates", default="2,6,12,20,30")
    ap.add_argument("--step-s", type=float, default=6.0)
    args = ap.parse_args()
    rates = [float(x) for x in args.rates.split(",")]
    tmp = Path(tempfile.mkdtemp())
    with ServerProcess(latency=0.1, capacity=8) as backend:
        study = _study(tmp, backend.api_base)
        port = free_port()
        base = f"http://127.0.0.1:{port}/v1"
        cmd = [sys.executable, "-m", "archon", "serve", str(study), "--port", str(port), "--slo-ms", str(args.slo_ms),
               "--max-queue", "5000", "--db", f"sqlite:///{tmp / 'cache.db'}"]  # fmt: skip
        with running_server(cmd, base, tmp, timeout_s=60):
            runs = {}
            for label, model in (("off", "ramp/best"), ("on", "ramp/auto")):
                runs[label] = asyncio.run(_ramp(base, model, rates, args.step_s, label))
    slo = args.slo_ms / 1000
    print(
        f"SLO {args.slo_ms:g} ms; scripted backend 0.1 s per call, 8 at once (not a model); {args.step_s:g} s per step"
    )
    print(f"{'req/s':>6} | {'within SLO, switching off':>26} | {'within SLO, switching on':>25} | points served (on)")
    for rate in rates:
        cells = []
        for label in ("off", "on"):
            lat = [x for r, x, p in runs[label] if r == rate and not p.startswith("error")]
            errs = sum(1 for r, _, p in runs[label] if r == rate and p.startswith("error"))
            ok = sum(1 for x in lat if x <= slo)
            cells.append(f"{ok}/{len(lat) + errs} ({ok / max(1, len(lat) + errs):.0%})")
        mix = collections.Counter(p.split("/")[-1] for r, _, p in runs["on"] if r == rate)
        print(f"{rate:>6g} | {cells[0]:>26} | {cells[1]:>25} | {dict(mix)}")
    for label in ("off", "on"):
        lat = [x for _, x, _ in runs[label]]
        print(
            f"overall {label}: {sum(x <= slo for x in lat)}/{len(lat)} within SLO ({sum(x <= slo for x in lat) / len(lat):.1%})"
        )


if __name__ == "__main__":
    main()
