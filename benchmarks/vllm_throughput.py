"""P5: archon's wave-batched execution on the in-process vLLM engine vs raw
``vllm.LLM.generate`` on exactly the same prompts, and wave batching vs one request at a
time (same engine) and vs the llama.cpp backend — as ratios measured in one run.

The pipeline has three waves (generate 4 samples → rank → fuse) over 64 inputs on the
embedded gemma-3-270m. The raw baseline replays archon's own recorded requests (same
prompts, same sampling, same seeds) as one ``generate`` call per wave on the same engine.
Prefix caching is off so neither run profits from the other's KV cache.

Run (needs the vLLM venv): make bench-vllm   or   .venv-vllm/bin/python benchmarks/vllm_throughput.py
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import archon
from archon.evaluate import load_file
from archon.store import CallRecord
from archon.store import Store

ROOT = Path(__file__).resolve().parent.parent
FEW_SHOT = "Word: tall\\nOpposite: short\\nWord: light\\nOpposite: dark\\nWord: {{ input }}\\nOpposite:"


def pipeline(model: str, extra: str = "") -> str:
    return f"""
name: p5
models:
  gemma: {{model: "{model}", temperature: 0.8, max_tokens: 8, stop: ["\\n"], context: 1024{extra}}}
nodes:
  samples: {{op: generate, model: gemma, samples: 4, template: "{FEW_SHOT}"}}
  ranked: {{op: rank, model: gemma, top_k: 2, inputs: [samples], template: "the opposite of '{{{{ input }}}}'"}}
  answer: {{op: fuse, model: gemma, inputs: [ranked], template: "the opposite of '{{{{ input }}}}'"}}
output: answer
"""


def inputs(n: int) -> list[str]:
    words = [str(e.fields["input"]) for e in load_file(ROOT / "data" / "antonyms.jsonl").examples]
    words += [str(e.fields["input"]) for e in load_file(ROOT / "data" / "capitals.jsonl").examples]
    words += ["quick", "bright", "loud", "heavy", "rich", "wet", "young", "thick"]
    return words[:n]


def _raw(llm: Any, rows: list[CallRecord]) -> tuple[float, int]:
    """Replays the recorded requests wave by wave; returns seconds and completion tokens."""
    from vllm import SamplingParams

    waves: dict[str, list[CallRecord]] = {"generate": [], "rank": [], "fuse": []}
    for r in rows:
        text = "\n\n".join(c for _, c in r.request["messages"] if c)
        kind = "generate" if text.rstrip().endswith("Opposite:") else "rank" if "Rank" in text else "fuse"
        waves[kind].append(r)
    t0 = time.perf_counter()
    tokens = 0
    for kind in ("generate", "rank", "fuse"):
        prompts, params = [], []
        for r in waves[kind]:
            s = r.request["sampling"]
            prompts.append("\n\n".join(c for _, c in r.request["messages"] if c))
            params.append(
                SamplingParams(
                    n=1,
                    seed=int(r.key[:8], 16) & 0x7FFFFFFF,
                    temperature=s["temperature"],
                    top_p=s["top_p"],
                    max_tokens=s["max_tokens"],
                    stop=list(s.get("stop") or []) or None,
                )
            )
        outs = llm.generate(prompts, params, use_tqdm=False)
        tokens += sum(len(o.outputs[0].token_ids) for o in outs)
    return time.perf_counter() - t0, tokens


def _archon(text: str, items: list[str], tmp: Path, tag: str, keep: bool = False) -> tuple[float, int, Any, list[Any]]:
    db = f"sqlite:///{tmp / f'{tag}-{time.time_ns()}.db'}"
    p = archon.load(text, db=db)
    p.execute(["warm-up"])  # load the engine and the model outside the timing
    t0 = time.perf_counter()
    result = p.execute(items)
    wall = time.perf_counter() - t0
    assert not result.failed, result.failed[:1]
    from sqlalchemy.orm import Session

    store = Store(db)

    with Session(store.engine) as s:
        rows = [r for r in s.query(CallRecord).all() if "warm-up" not in str(r.request["messages"])]
    store.close()
    if not keep:
        p.close()
    return wall, result.usage.completion_tokens, p, rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--inputs", type=int, default=64)
    ap.add_argument("--sequential-inputs", type=int, default=16, help="inputs for the one-at-a-time runs")
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    items = inputs(args.inputs)
    few = items[: args.sequential_inputs]
    engine = ", engine: {enable_prefix_caching: false}"
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        ours, raw, tok_ours, tok_raw = [], [], 0, 0
        p = None
        for _ in range(args.repeat):
            wall, tokens, p, rows = _archon(pipeline("vllm/gemma-3-270m", engine), items, tmp, "batched", keep=True)
            ours.append(wall)
            tok_ours = tokens
            llm = next(v for k, v in p.client._shared.items() if k.startswith("vllm:")).llm
            rwall, rtok = _raw(llm, rows)
            raw.append(rwall)
            tok_raw = rtok
            del llm  # the engine must be unreferenced when the pipeline closes it
            p.close()
        a, r = statistics.median(ours), statistics.median(raw)
        print(f"P5: {len(items)} inputs x 3 waves ({len(rows)} calls), vLLM CPU build, in-process engine")
        print(f"  archon wave-batched: {a:.2f} s, {tok_ours / a:.0f} completion tokens/s (runs: {ours})")
        print(f"  raw LLM.generate, same prompts and seeds, one call per wave: {r:.2f} s, {tok_raw / r:.0f} tokens/s")
        print(f"  P5 = archon throughput / raw = {r / a:.3f}  (goal >= 0.90)")
        seq, seq_tok, _, _ = _archon(pipeline("vllm/gemma-3-270m", engine + ", concurrency: 1"), few, tmp, "sequential")
        bat, bat_tok, _, _ = _archon(pipeline("vllm/gemma-3-270m", engine), few, tmp, "batched-few")
        print(
            f"  {len(few)} inputs, same engine: one request at a time {seq:.2f} s vs wave-batched {bat:.2f} s "
            f"-> batching is {seq / bat:.2f}x faster"
        )
        loc, loc_tok, _, _ = _archon(pipeline("local/gemma-3-270m"), few, tmp, "llama")
        print(
            f"  {len(few)} inputs, llama.cpp backend (one request at a time by design): {loc:.2f} s, "
            f"{loc_tok / loc:.0f} tokens/s -> vLLM wave-batched is {loc / bat:.2f}x faster"
        )


if __name__ == "__main__":
    main()
