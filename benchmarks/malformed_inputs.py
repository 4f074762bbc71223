"""How many malformed inputs archon handles cleanly (archon.testing.malformed).

Clean: exit 2 with a message naming the file and a line (or the argument), no traceback,
within 20 s — or exit 0 where the mutation happened to leave the input valid. Each case
runs in a subprocess of its own under a 2 GiB address-space limit, so a case that would
eat memory fails here instead of taking the machine down. Printed per kind, with the
peak resident memory and the slowest case.

Run: .venv/bin/python benchmarks/malformed_inputs.py [--seed N] [--json FILE]
"""

from __future__ import annotations

import argparse
import collections
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from archon.testing.malformed import corpus

CHILD = """
import json, resource, sys
from pathlib import Path
resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
from archon.testing.malformed import corpus, run_case
case = corpus(int(sys.argv[1]))[int(sys.argv[2])]
v = run_case(case, Path(sys.argv[3]))
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
print(json.dumps({"rc": v.rc, "problem": v.problem, "seconds": v.seconds, "peak_mib": peak}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", metavar="FILE")
    args = ap.parse_args()
    cases = corpus(args.seed)
    by_kind: dict[str, list[bool]] = collections.defaultdict(list)
    bad, peak, slowest = [], 0, (0.0, "")
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        for i, case in enumerate(cases):
            r = subprocess.run(
                [sys.executable, "-c", CHILD, str(args.seed), str(i), f"{tmp}/{i}"],
                capture_output=True,
                text=True,
                timeout=120,
            )
            try:
                out = json.loads(r.stdout.strip().splitlines()[-1])
            except (IndexError, json.JSONDecodeError):
                out = {"rc": r.returncode, "problem": f"the case crashed: {r.stderr.strip()[-200:]}", "seconds": 0}
            ok = not out["problem"]
            by_kind[case.kind].append(ok)
            peak = max(peak, out.get("peak_mib", 0))
            slowest = max(slowest, (out["seconds"], case.name))
            if not ok:
                bad.append((case.name, out["problem"]))
    print(f"malformed inputs, seed {args.seed}: {len(cases)} cases in {time.monotonic() - t0:.0f} s")
    for kind, oks in sorted(by_kind.items()):
        print(f"  {kind:9s} {sum(oks)}/{len(oks)} clean")
    total = sum(sum(v) for v in by_kind.values())
    print(
        f"  all       {total}/{len(cases)} clean · peak RSS {peak} MiB · slowest {slowest[0]:.1f} s ({slowest[1][:60]})"
    )
    for name, why in bad:
        print(f"  NOT CLEAN: {name}: {why}")
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {"cases": len(cases), "clean": total, "by_kind": {k: [sum(v), len(v)] for k, v in by_kind.items()}}
            )
        )


if __name__ == "__main__":
    main()
