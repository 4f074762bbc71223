"""A seeded corpus of malformed inputs for the bad-input suite and benchmarks/malformed_inputs.py.

Every case is something a user (or an attacker) could hand the command line: a pipeline
file, a search space, a dataset or an argument list, each broken in one way. Cases are
made from the project's own valid files by seeded mutations — of the parsed document
(wrong types, out-of-range numbers, unknown or missing fields, dangling references) and of
the raw bytes (truncation, stray syntax, bad encodings, tabs, NUL bytes) — plus a hand list
of hostile files and arguments. :func:`run_case` runs one through ``archon.cli.main`` and
judges it: every case must end with exit code 2 and a message that names the file (and a
line) or the argument, with no traceback, quickly. A mutation that happens to leave the
input valid is marked ``must_fail=False``: then exit 0 is also fine, but still never a
traceback.

The corpus is deterministic for a seed (``corpus(seed)``), so CI is repeatable; the test
suite adds hypothesis-drawn mutations on top.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
import re
import time
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

from archon.testing._mutations import _dump
from archon.testing._mutations import _load
from archon.testing._mutations import mutate_bytes
from archon.testing._mutations import mutate_document

ROOT = Path(__file__).resolve().parents[2]

SYNTHETIC_PIPELINE = """\
name: synthetic-fuzz
description: SIMULATED model (synthetic/), the target of the malformed-dataset cases.
models:
  m: {model: synthetic/medium, max_tokens: 16}
nodes:
  samples: {op: generate, model: m, samples: 3}
  answer: {op: vote, inputs: [samples]}
output: answer
"""

GOOD_DATASET = '{"input": "a", "answer": "b"}\n{"input": "c", "answer": "d"}\n{"input": "e", "answer": "f"}\n'


@dataclass(frozen=True)
class Case:
    """One malformed input: the files to write, the argv (``{name}`` is a written file's
    path, ``{dir}`` the case's folder) and whether exit 0 is acceptable."""

    name: str
    kind: str  # pipeline | space | dataset | args
    argv: tuple[str, ...]
    files: dict[str, bytes] = field(default_factory=dict)
    must_fail: bool = True


@dataclass(frozen=True)
class Verdict:
    case: Case
    rc: int
    seconds: float
    stderr: str
    problem: str  # "" when the case was handled cleanly

    @property
    def clean(self) -> bool:
        return not self.problem


def _bases() -> dict[str, list[Path]]:
    return {
        "pipeline": sorted((ROOT / "pipelines").glob("*.yaml")),
        "space": sorted((ROOT / "optimizers").glob("*.yaml")),
    }


def _file_cases(kind: str, base: Path, rng: random.Random, n: int) -> list[Case]:
    text = base.read_text()
    doc = _load(text)
    out = []
    for i in range(n):
        if i % 2 == 0:
            new, what, sure = mutate_document(doc, rng)
            data = _dump(new)
        else:
            data, what, sure = mutate_bytes(text.encode(), rng)
        fname = f"{base.stem}.yaml"
        argv = ("validate", "{" + fname + "}")
        out.append(Case(f"{kind}:{base.stem}:{i}: {what}", kind, argv, {fname: data}, sure))
    return out


def _dataset_lines(rng: random.Random) -> tuple[bytes, str, bool]:
    rows = [json.dumps({"input": f"w{i}", "answer": f"v{i}"}) for i in range(6)]
    i = rng.randrange(len(rows))
    kind = rng.choice(
        ["json", "not-object", "no-input", "no-answer", "input-type", "nest", "encoding", "whole", "huge-int"]
    )
    if kind == "json":
        rows[i] = rows[i][: rng.randrange(1, len(rows[i]))]
        what = "a truncated JSON line"
    elif kind == "not-object":
        rows[i] = rng.choice(["[1, 2]", '"text"', "42", "null", "true"])
        what = f"a line that is not an object: {rows[i]}"
    elif kind == "no-input":
        rows[i] = json.dumps({"question": "w", "answer": "v"})
        what = "a row without the input field"
    elif kind == "no-answer":
        rows[i] = json.dumps({"input": "w", "gold": "v"})
        what = "a row without the answer field"
    elif kind == "input-type":
        bad = rng.choice([{"a": 1}, [1, 2], None])
        rows[i] = json.dumps({"input": bad, "answer": "v"})
        # structured inputs are for templates ({{ input.a }}); a null one is a mistake
        return ("\n".join(rows) + "\n").encode(), f"input is {bad!r}", bad is None
    elif kind == "nest":
        rows[i] = '{"input": ' + "[" * 5000 + "]" * 5000 + ', "answer": "v"}'
        what = "input nested 5000 deep"
    elif kind == "huge-int":
        rows[i] = '{"input": "w", "answer": ' + "9" * 6000 + "}"
        what = "a 6000-digit integer"
    elif kind == "encoding":
        data = ("\n".join(rows) + "\n").encode()
        at = rng.randrange(len(data))
        return data[:at] + rng.choice([b"\xff\xfe", b"\xc3", b"\xed\xa0\x80"]) + data[at:], "invalid UTF-8", True
    else:
        whole = rng.choice([b"", b"\n\n\n", b"   \n", b"{}\n"])
        return whole, f"the whole file is {whole!r}", True
    return ("\n".join(rows) + "\n").encode(), what, True


def _dataset_cases(rng: random.Random, n: int) -> list[Case]:
    out = []
    for i in range(n):
        data, what, sure = _dataset_lines(rng)
        argv = ("eval", "{p.yaml}", "--dataset", "{d.jsonl}", "--metric", "exact", "--no-progress")
        files = {"p.yaml": SYNTHETIC_PIPELINE.encode(), "d.jsonl": data}
        out.append(Case(f"dataset:{i}: {what}", "dataset", argv, files, sure))
    # CSV too
    for j, (csv, what) in enumerate(
        [
            (b"question,gold\n", "a CSV with a header and no rows"),
            (b'input,answer\na,b\n"unclosed,c\n', "a CSV with an unclosed quote"),
            (b"input\na\n", "a CSV without the answer column"),
            (b"\xff\xfeinput,answer\n", "a CSV in a wrong encoding"),
        ]
    ):
        argv = ("eval", "{p.yaml}", "--dataset", "{d.csv}", "--metric", "exact", "--no-progress")
        out.append(
            Case(f"dataset:csv:{j}: {what}", "dataset", argv, {"p.yaml": SYNTHETIC_PIPELINE.encode(), "d.csv": csv})
        )
    return out


BAD_NUMBERS = ("0", "-1", "x", "1e9999", "", "1.5", "nan", "0x10", "--")


def _args_cases() -> list[Case]:
    p = "{p.yaml}"
    d = "{d.jsonl}"
    files = {"p.yaml": SYNTHETIC_PIPELINE.encode(), "d.jsonl": GOOD_DATASET.encode()}
    space = (ROOT / "optimizers" / "synthetic-demo.yaml").read_text().replace("../data/", str(ROOT / "data") + "/")
    sfiles = {**files, "s.yaml": space.encode()}
    out: list[Case] = []

    def add(name: str, *argv: str, f: dict[str, bytes] | None = None) -> None:
        out.append(Case(f"args:{name}", "args", tuple(argv), dict(files if f is None else f)))

    for v in BAD_NUMBERS:
        add(f"eval --limit {v!r}", "eval", p, "--dataset", d, "--limit", v)
        add(f"optimize --budget-calls {v!r}", "optimize", "{s.yaml}", "--budget-calls", v, f=sfiles)
        add(f"run --max-calls {v!r}", "run", p, "--input", "x", "--max-calls", v)
        if v != "1.5":  # a dollar budget may be fractional
            add(f"run --max-usd {v!r}", "run", p, "--input", "x", "--max-usd", v)
        add(f"tune --budget-calls {v!r}", "tune", p, "--dataset", d, "--budget-calls", v)
    for v in ("70000", "-5", "http", "0", "1.5", "", "99999999999999999999"):
        add(f"serve --port {v}", "serve", "local/gemma-3-270m", "--port", v)
    for v in ("0", "-2", "x", "1000000"):
        add(f"optimize --workers {v}", "optimize", "{s.yaml}", "--workers", v, f=sfiles)
    add("run: missing pipeline", "run", "{dir}/missing.yaml", "--input", "x")
    add("run: pipeline is a folder", "run", "{dir}", "--input", "x")
    add("run: dataset is a folder", "run", p, "--dataset", "{dir}")
    add("run: missing dataset", "run", p, "--dataset", "{dir}/none.jsonl")
    add("run: dataset of unknown type", "run", p, "--dataset", "{p.yaml}")
    add("eval: unknown metric", "eval", p, "--dataset", d, "--metric", "no-such-metric")
    add("eval: --out is a folder", "eval", p, "--dataset", d, "--out", "{dir}")
    add("eval: --out in a missing folder", "eval", p, "--dataset", d, "--out", "{dir}/no/such/x.jsonl")
    add("eval: unknown answer field", "eval", p, "--dataset", d, "--answer-field", "nope")
    add("eval: unknown input field", "eval", p, "--dataset", d, "--input-field", "nope")
    add("run: no input at all", "run", p)
    add("run: both --input and --dataset", "run", p, "--input", "x", "--dataset", d)
    add("unknown command", "frobnicate")
    add("unknown option", "run", p, "--input", "x", "--frobnicate")
    add("validate: no files", "validate")
    add("validate: missing file", "validate", "{dir}/none.yaml")
    add("validate: a folder", "validate", "{dir}")
    add("validate: /dev/zero", "validate", "/dev/zero")
    add("optimize: neither space nor dataset", "optimize")
    add("optimize: --dataset without --model", "optimize", "--dataset", d)
    add("optimize: unknown model provider", "optimize", "--dataset", d, "--model", "nosuchprovider/x")
    add("optimize: empty model", "optimize", "--dataset", d, "--model", "")
    add("optimize: unknown strategy", "optimize", "{s.yaml}", "--strategy", "annealing", f=sfiles)
    add("optimize: --db is not a database", "optimize", "{s.yaml}", "--db", "sqlite:///{p.yaml}", f=sfiles)
    add("optimize: --db unknown scheme", "optimize", "{s.yaml}", "--db", "mongodb://x/y", f=sfiles)
    add("optimize: --results is a file", "optimize", "{s.yaml}", "--results", "{p.yaml}", f=sfiles)
    add("export: unknown study", "export", "no-such-study", "--db", "sqlite:///{dir}/x.db")
    add("export: -o is a folder", "export", p, "-o", "{dir}")
    add("export: unknown trial selector", "export", "no-such-study", "--trial", "pareto:x")
    add("show: unknown study", "show", "no-such-study", "--db", "sqlite:///{dir}/x.db")
    add("schema: -o in a missing folder", "schema", "-o", "{dir}/no/such/schema.json")
    add("run: pipeline is /dev/zero", "run", "/dev/zero", "--input", "x")
    add("eval: dataset is /dev/zero", "eval", p, "--dataset", "/dev/zero")
    add("run: a NUL in --input", "run", p, "--input", "a\x00b")
    add("run: an undecodable byte in --input", "run", p, "--input", "caf\udce9")
    add(
        "run: --input then a dataset of NULs",
        "eval",
        p,
        "--dataset",
        "{n.jsonl}",
        f={**files, "n.jsonl": b'{"input": "a\\u0000", "answer": "b"}\n'},
    )
    add(
        "eval: a lone surrogate in a row",
        "eval",
        p,
        "--dataset",
        "{n.jsonl}",
        f={**files, "n.jsonl": b'{"input": "\\ud800", "answer": "b"}\n'},
    )
    add("tune: unknown optimizer", "tune", p, "--dataset", d, "--optimizer", "sgd")
    add("tune: --dev-fraction 7", "tune", p, "--dataset", d, "--dev-fraction", "7")
    add("rank-models: a pipeline, not a space", "rank-models", p)
    return out


def _hand_files() -> list[Case]:
    """Hostile files no mutation of a valid one reaches: resource bombs and confusions."""
    laughs = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 10) + "]\n" for i in range(8)
    )
    texts = {
        "billion laughs": laughs,
        "deep flow sequence": "nodes: " + "[" * 3000 + "]" * 3000 + "\n",
        "deep block mappings": "".join("  " * i + f"k{i}:\n" for i in range(300)) + "  " * 300 + "v\n",
        "huge integer": "nodes:\n  g: {op: generate, samples: " + "9" * 5000 + "}\noutput: g\n",
        "python tag": "!!python/object/apply:os.system ['touch /tmp/archon-pwned']\n",
        "a list at the top": "- op: generate\n- op: vote\n",
        "a node that is a string": "nodes:\n  g: generate\noutput: g\n",
        "a cycle": "nodes:\n  a: {op: fuse, inputs: [b]}\n  b: {op: fuse, inputs: [a]}\noutput: a\n",
        "self input": "nodes:\n  a: {op: vote, inputs: [a]}\noutput: a\n",
        "samples 10^30": "nodes:\n  g: {op: generate, samples: 1000000000000000000000000000000}\noutput: g\n",
        "max_tokens negative": "nodes:\n  g: {op: generate, max_tokens: -5}\noutput: g\n",
        "empty model name": 'models:\n  m: {model: ""}\nnodes:\n  g: {op: generate, model: m}\noutput: g\n',
        "unknown provider": "models:\n  m: {model: nosuchprovider/x}\nnodes:\n  g: {op: generate, model: m}\noutput: g\n",
        "model name with spaces": "models:\n  m: {model: 'openai/gpt 4'}\nnodes:\n  g: {op: generate, model: m}\noutput: g\n",
        "key in api_key_env": "models:\n  m: {model: openai/x, api_key_env: sk-proj-abcdefghijklmnop1234}\n"
        "nodes:\n  g: {op: generate, model: m}\noutput: g\n",
        "jinja unknown filter": "nodes:\n  g: {op: generate, prompt: '{{ input | nosuchfilter }}'}\noutput: g\n",
        "jinja syntax": "nodes:\n  g: {op: generate, prompt: '{% if %}'}\noutput: g\n",
        "jinja sandbox escape": "nodes:\n  g: {op: generate, prompt: \"{{ ''.__class__.__mro__[1].__subclasses__() }}\"}\n"
        "output: g\n",
        "per-query budget below the plan": "models:\n  m: {model: synthetic/medium}\n"
        "nodes:\n  g: {op: generate, model: m, samples: 8}\n  v: {op: vote, inputs: [g]}\noutput: v\n"
        "budget: {per_query: {calls: 2}}\n",
        "temperature 'hot'": "nodes:\n  g: {op: generate, temperature: hot}\noutput: g\n",
        "temperature 1e400": "nodes:\n  g: {op: generate, temperature: 1e400}\noutput: g\n",
        "NaN temperature": "nodes:\n  g: {op: generate, temperature: .nan}\noutput: g\n",
        "inputs is a mapping": "nodes:\n  a: {op: generate}\n  b: {op: vote, inputs: {a: 1}}\noutput: b\n",
        "output is a list": "nodes:\n  a: {op: generate}\noutput: [a]\n",
        "duplicate node": "nodes:\n  a: {op: generate}\n  a: {op: generate}\noutput: a\n",
        "merge key bomb": "x: &x {a: 1}\nnodes:\n  <<: *x\noutput: a\n",
        "very long line": "nodes:\n  g: {op: generate, system: '" + "y" * 2_000_000 + "'}\noutput: g\n",
        "space: int range reversed": "pipeline:\n  nodes:\n    g: {op: generate, samples: '${n}'}\n  output: g\n"
        "space:\n  n: {int: [9, 1]}\ndataset: {path: d.jsonl}\nmetric: exact\n",
        "space: empty choice": "pipeline:\n  nodes:\n    g: {op: '${r}'}\n  output: g\nspace:\n  r: {choice: []}\n"
        "dataset: {path: d.jsonl}\nmetric: exact\n",
        "space: unknown parameter used": "pipeline:\n  nodes:\n    g: {op: generate, samples: '${nope}'}\n  output: g\n"
        "space:\n  n: {int: [1, 3]}\ndataset: {path: d.jsonl}\nmetric: exact\n",
        "space: seed is a word": "pipeline:\n  nodes:\n    g: {op: generate, samples: '${n}'}\n  output: g\n"
        "space:\n  n: {int: [1, 3]}\ndataset: {path: d.jsonl}\nmetric: exact\nseed: x\n",
        "space: dev share 3": "pipeline:\n  nodes:\n    g: {op: generate, samples: '${n}'}\n  output: g\n"
        "space:\n  n: {int: [1, 3]}\ndataset: {path: d.jsonl, dev: 3}\nmetric: exact\n",
        "space: negative budget": "pipeline:\n  nodes:\n    g: {op: generate, samples: '${n}'}\n  output: g\n"
        "space:\n  n: {int: [1, 3]}\ndataset: {path: d.jsonl}\nmetric: exact\nbudget: {search: {calls: -1}}\n",
        "space: missing dataset file": "pipeline:\n  nodes:\n    g: {op: generate, samples: '${n}'}\n  output: g\n"
        "space:\n  n: {int: [1, 3]}\ndataset: {path: no-such.jsonl}\nmetric: exact\n",
    }
    out = []
    for name, text in texts.items():
        files = {"f.yaml": text.encode(), "d.jsonl": GOOD_DATASET.encode()}
        out.append(
            Case(f"hand:{name}", "space" if name.startswith("space") else "pipeline", ("validate", "{f.yaml}"), files)
        )
        if name.startswith("space"):  # and where it is used: optimize reads the same file
            out.append(Case(f"hand:optimize {name}", "space", ("optimize", "{f.yaml}", "--results", "{dir}/r"), files))
    return out


def corpus(seed: int = 0, per_file: int = 6, datasets: int = 40) -> list[Case]:
    """The seeded corpus: mutations of every ready pipeline and space, malformed datasets,
    bad arguments and the hand list."""
    rng = random.Random(seed)
    out: list[Case] = []
    for kind, files in _bases().items():
        for base in files:
            out += _file_cases(kind, base, rng, per_file)
    out += _dataset_cases(rng, datasets)
    out += _args_cases()
    out += _hand_files()
    return out


_LOCATED = re.compile(r":\d+(:\d+)?[:\s]")


def run_case(case: Case, workdir: Path, *, max_seconds: float = 20.0) -> Verdict:
    """Writes the case's files into ``workdir``, runs ``archon.cli.main`` on its argv there
    (a private database; no network is needed: models are synthetic or never reached), and
    judges the outcome."""
    from archon.cli import main

    workdir.mkdir(parents=True, exist_ok=True)
    paths = {"dir": str(workdir)}
    for name, data in case.files.items():
        (workdir / name).write_bytes(data)
        paths[name] = str(workdir / name)
    argv = [re.sub(r"\{([^{}]+)\}", lambda m: paths.get(m.group(1), m.group(0)), a) for a in case.argv]
    err, out = io.StringIO(), io.StringIO()
    env = {"ARCHON_DB": f"sqlite:///{workdir / 'archon.db'}", "ARCHON_CACHE_DIR": str(workdir / "cache")}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    cwd = os.getcwd()
    t0 = time.monotonic()
    try:
        os.chdir(workdir)
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            try:
                rc = main(argv)
            except SystemExit as exc:
                rc = exc.code if isinstance(exc.code, int) else 2
            except BaseException as exc:  # what the suite is here to find
                import traceback

                traceback.print_exc(file=err)
                rc = -1
                if isinstance(exc, KeyboardInterrupt):
                    raise
    finally:
        os.chdir(cwd)
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    seconds = time.monotonic() - t0
    text = err.getvalue()
    return Verdict(case, rc, seconds, text, judge(case, rc, text, seconds, paths, max_seconds))


def judge(case: Case, rc: int, stderr: str, seconds: float, paths: dict[str, str], max_seconds: float) -> str:
    """'' when handled cleanly, else what was wrong."""
    if "Traceback" in stderr or rc == -1:
        return "a traceback"
    if seconds > max_seconds:
        return f"took {seconds:.1f} s"
    if rc == 0 and not case.must_fail:
        return ""
    if rc != 2:
        return f"exit {rc} (want 2)" + ("" if stderr.strip() else ", nothing said")
    if case.kind == "args":
        # argparse names the option; archon's own errors name the path or the value
        if not stderr.strip():
            return "exit 2 with no message"
        return ""
    named = [n for n in case.files if n.endswith((".yaml", ".jsonl", ".csv"))]
    if not any(paths[n] in stderr for n in named):
        return "the message names no file"
    if not _LOCATED.search(stderr):
        return "the message gives no line"
    return ""
