"""Overhead on the embedded model: ``archon run`` vs the same calls made directly with
llama-cpp-python (same model file, prompts, sampling and seeds), measured in one run.

archon adds: plan, prompt rendering, cache look-up and commit of every call, the
progress/usage accounting and the run records. Goal: ≤ 1.05.

Run: python benchmarks/local_overhead.py [--items 20] [--samples 5]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import archon
from archon.backends import cache_key
from archon.backends._base import Request
from archon.backends._local_model import resolve_local_model

ROOT = Path(__file__).resolve().parent.parent
PIPELINE = ROOT / "pipelines" / "local-best-of-5-vote.yaml"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    words = [json.loads(x)["input"] for x in (ROOT / "data" / "antonyms.jsonl").read_text().splitlines()][: args.items]

    from llama_cpp import Llama

    path = resolve_local_model("gemma-3-270m")
    direct_times, archon_times = [], []
    with tempfile.TemporaryDirectory() as tmp:
        pipe = archon.load(PIPELINE, db=f"sqlite:///{Path(tmp) / 'bench.db'}", cache=False)
        node = pipe.plan.nodes["samples"]
        model = node.models[0]
        template = node.spec.template or ""
        s = model.sampling
        llm = Llama(
            model_path=str(path),
            n_ctx=model.spec.context,
            n_threads=__import__("os").cpu_count(),
            verbose=False,
            seed=0,
        )
        import jinja2

        tpl = jinja2.Environment().from_string(template)
        jobs = []
        for w in words:
            prompt = tpl.render(input=w)
            for i in range(node.spec.samples):  # type: ignore[attr-defined]
                req = Request(model.model, (("user", prompt),), s, i)
                seed = int(cache_key("local:gemma-3-270m", req, "text")[:8], 16) & 0x7FFFFFFF
                jobs.append((prompt, seed))
        pipe.execute(words[:1])  # load the model in archon too
        for prompt, seed in jobs[:10]:  # warm the direct path alike
            llm.create_completion(prompt, max_tokens=s.max_tokens, temperature=s.temperature, seed=seed)
        for _ in range(args.repeats):  # interleaved, so drift hits both alike
            t0 = time.perf_counter()
            for prompt, seed in jobs:
                llm.create_completion(
                    prompt,
                    max_tokens=s.max_tokens,
                    temperature=s.temperature,
                    top_p=s.top_p,
                    stop=list(s.stop) or None,
                    seed=seed,
                )
            direct_times.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            result = pipe.execute(words)
            archon_times.append(time.perf_counter() - t0)
            assert result.usage.paid_calls == len(jobs) and not result.failed
        pipe.close()
    import statistics

    direct, ours = min(direct_times), min(archon_times)
    med = statistics.median(archon_times) / statistics.median(direct_times)
    print(
        json.dumps(
            {
                "calls": len(jobs),
                "direct_s": [round(t, 3) for t in direct_times],
                "archon_s": [round(t, 3) for t in archon_times],
                "ratio_best": round(ours / direct, 3),
                "ratio_median": round(med, 3),
            }
        )
    )
    print(
        f"local overhead: archon {ours:.2f} s / direct llama-cpp-python {direct:.2f} s for {len(jobs)} calls "
        f"= {ours / direct:.3f} best-of-{args.repeats}, {med:.3f} median (goal ≤ 1.05)"
    )


if __name__ == "__main__":
    main()
