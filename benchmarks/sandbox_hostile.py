"""How many hostile programs each sandbox contains (archon.testing.hostile).

A program is contained when, run beside an honest program through the ``tests`` metric,
it scores 0, the honest one still passes, nothing it started outlives the run, and the
host's canary file, folder and /dev/shm are unchanged. Printed for bubblewrap (the
default where installed) and for the weaker subprocess fallback.

Run: .venv/bin/python benchmarks/sandbox_hostile.py [--json FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import tempfile
import time
from pathlib import Path
from typing import Any

from archon.evaluate import Example
from archon.evaluate import get_metric
from archon.sandbox import BaseSandbox
from archon.sandbox import BubblewrapSandbox
from archon.sandbox import SubprocessSandbox
from archon.sandbox import bwrap_problem
from archon.testing.hostile import HONEST
from archon.testing.hostile import TESTS
from archon.testing.hostile import programs

KEY = "ARCHON_HOSTILE_FAKE_KEY"


def _leftovers() -> int:
    n = 0
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                n += 2_000_000 <= d.stat().st_uid <= 2_000_000_000
            except OSError:
                pass
    return n


async def contain(sandbox: BaseSandbox, where: dict[str, Any], folder: Path, canary: Path) -> list[dict[str, Any]]:
    metric = get_metric("tests")
    rows = []
    for name, (kind, code) in programs(**where).items():
        ex = lambda i: Example(i, {"input": "x", "entry_point": "solve", "timeout_s": 3.0}, "\n".join(TESTS))  # noqa: E731
        shm = set(os.listdir("/dev/shm")) if os.path.isdir("/dev/shm") else set()
        t0 = time.monotonic()
        bad, good = await asyncio.gather(metric.score(code, ex(0), sandbox), metric.score(HONEST, ex(1), sandbox))
        took = time.monotonic() - t0
        if "later" in name:
            time.sleep(4)
        for _ in range(30):
            if not _leftovers():
                break
            time.sleep(0.1)
        host_ok = canary.read_text() == "canary" and sorted(p.name for p in folder.iterdir()) == ["canary.txt", "sock"]
        if os.path.isdir("/dev/shm"):
            host_ok = host_ok and set(os.listdir("/dev/shm")) <= shm
        why = []
        if bad != 0.0:
            why.append("passed")
        if good != 1.0:
            why.append("broke the honest sibling")
        if _leftovers():
            why.append("outlived its run")
        if not host_ok:
            why.append("changed the host")
        rows.append({"program": name, "kind": kind, "contained": not why, "why": why, "s": round(took, 2)})
        for p in folder.iterdir():  # reset for the next program
            if p.name not in ("canary.txt", "sock"):
                p.unlink()
        canary.write_text("canary")
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", help="also write the rows here")
    args = ap.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="hostile-"))
    os.chmod(folder, 0o777)
    canary = folder / "canary.txt"
    canary.write_text("canary")
    os.chmod(canary, 0o644)
    tcp = socket.socket()
    tcp.bind(("127.0.0.1", 0))
    tcp.listen(64)
    unix = socket.socket(socket.AF_UNIX)
    unix.bind(str(folder / "sock"))
    unix.listen(64)
    os.chmod(folder / "sock", 0o777)
    os.environ[KEY] = "sk-canary-0123456789"
    where = {
        "canary": str(canary),
        "canary_dir": str(folder),
        "port": tcp.getsockname()[1],
        "sock": str(folder / "sock"),
        "key": KEY,
    }
    out: dict[str, Any] = {}
    sandboxes: list[tuple[str, BaseSandbox]] = [("subprocess fallback", SubprocessSandbox())]
    problem = bwrap_problem()
    if problem is None:
        sandboxes.insert(0, ("bubblewrap", BubblewrapSandbox()))
    else:
        print(f"bubblewrap: not measured ({problem})")
    for label, sb in sandboxes:
        rows = asyncio.run(contain(sb, where, folder, canary))
        ok = sum(r["contained"] for r in rows)
        print(f"{label}: {ok}/{len(rows)} hostile programs contained  ({sb.isolation})")
        for kind in sorted({r["kind"] for r in rows}):
            part = [r for r in rows if r["kind"] == kind]
            print(f"  {kind:8} {sum(r['contained'] for r in part)}/{len(part)}")
        for r in rows:
            if not r["contained"]:
                print(f"  not contained: {r['program']} ({', '.join(r['why'])})")
        out[label] = rows
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
