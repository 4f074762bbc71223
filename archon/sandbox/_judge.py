"""Running tests against a program so that the program cannot forge the verdict.

The program and the tests run in two separate sandboxes, as two user ids that share
nothing. The program's sandbox runs its code, then answers calls; the tests' sandbox runs
the test code with every function the program defined replaced by a proxy that sends
the call to the program and gets back only plain data (numbers, text, lists, tuples,
dicts, sets, bytes, None) — never an object of the program's making. The verdict of each
test is judged in the tests' process, which the program never ran in: reading a pass
marker from its source or frames, an object equal to everything, patching ``exec`` or
the harness, exiting 0 early, or printing a fake result all fail. archon relays the
messages and reads the verdicts.

Objects of the program's making (an instance of its class) stay in its sandbox; the tests
hold a handle whose attributes and methods are answered there, that equals only itself
and refuses to be judged true or false. The price: a function that mutates its argument
in place fails a test that looks at the argument afterwards (HumanEval's and MBPP's
canonical solutions all pass).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Sequence

from archon.sandbox._base import BaseSandbox

#: The value codec, the same source in both sandboxes (tagged JSON for what JSON lacks).
_CODEC = r"""
import json as _json, math as _math

def _enc(v, depth=0):
    if depth > 200:
        raise TypeError("the value nests too deeply")
    t = type(v)
    if v is None or t is bool or t is str:
        return v
    if isinstance(v, bool):
        return bool(v)
    if isinstance(v, int):
        v = int(v)
        return v if -(2**53) < v < 2**53 else {"$int": str(v)}
    if isinstance(v, float):
        v = float(v)
        return v if _math.isfinite(v) else {"$float": repr(v)}
    if isinstance(v, str):
        return str(v)
    if isinstance(v, complex):
        return {"$complex": [_enc(v.real), _enc(v.imag)]}
    if isinstance(v, (bytes, bytearray)):
        return {"$bytes": bytes(v).hex()}
    if isinstance(v, list):
        return [_enc(x, depth + 1) for x in v]
    if isinstance(v, tuple):
        return {"$tuple": [_enc(x, depth + 1) for x in v]}
    if isinstance(v, frozenset):
        return {"$frozenset": [_enc(x, depth + 1) for x in v]}
    if isinstance(v, set):
        return {"$set": [_enc(x, depth + 1) for x in v]}
    if isinstance(v, dict):
        return {"$dict": [[_enc(k, depth + 1), _enc(x, depth + 1)] for k, x in v.items()]}
    raise TypeError(f"a {t.__name__} cannot cross the sandbox (only plain data)")

def _dec(v):
    if isinstance(v, list):
        return [_dec(x) for x in v]
    if isinstance(v, dict):
        if len(v) != 1:
            raise ValueError("not an encoded value")
        (tag, x), = v.items()
        if tag == "$int":
            return int(x)
        if tag == "$float":
            return float(x)
        if tag == "$complex":
            return complex(float(x[0]), float(x[1]))
        if tag == "$bytes":
            return bytes.fromhex(x)
        if tag == "$tuple":
            return tuple(_dec(i) for i in x)
        if tag == "$set":
            return set(_dec(i) for i in x)
        if tag == "$frozenset":
            return frozenset(_dec(i) for i in x)
        if tag == "$dict":
            return {_dec(k): _dec(i) for k, i in x}
        raise ValueError("unknown tag")
    if v is None or type(v) in (bool, int, float, str):
        return v
    raise ValueError("not an encoded value")
"""

_CHANNEL = r"""
import os as _os, sys as _sys
_out = _os.fdopen(_os.dup(1), "w", buffering=1, encoding="utf-8", errors="replace")
_inp = _os.fdopen(_os.dup(0), "r", encoding="utf-8", errors="replace")
_null = _os.open(_os.devnull, _os.O_RDWR)
_os.dup2(_null, 0)
_os.dup2(2, 1)
_sys.stdout = _sys.stderr
def _send(obj):
    _out.write(_json.dumps(obj) + "\n")
    _out.flush()
"""

#: The program's side: run its code, list what it defined, answer calls.
_PROGRAM_SIDE = (
    _CODEC
    + _CHANNEL
    + r"""
import builtins as _b
_g = {"__name__": "__main__", "__builtins__": _b}
try:
    exec(compile(SOURCE, "<program>", "exec"), _g)
except BaseException as _e:
    _send({"crashed": (type(_e).__name__ + ": " + str(_e))[:300]})
    _os._exit(0)
_calls, _values = [], {}
for _k, _v in list(_g.items()):
    if _k.startswith("_") or (hasattr(_b, _k) and _k not in ALLOW) or type(_v).__name__ == "module":
        continue
    if callable(_v):
        _calls.append(_k)
    else:
        try:
            _values[_k] = _enc(_v)
        except Exception:
            pass
_send({"ready": {"calls": _calls, "values": _values}})
_refs = []

def _export(v):
    try:
        return _enc(v)
    except TypeError:
        _refs.append(v)  # an object of the program's making stays here; the tests get a handle
        return {"$ref": len(_refs) - 1}

def _in(v):
    if isinstance(v, dict) and len(v) == 1 and "$ref" in v:
        return _refs[int(v["$ref"])]
    if isinstance(v, list):
        return [_in(x) for x in v]
    if isinstance(v, dict) and len(v) == 1 and "$tuple" in v:
        return tuple(_in(x) for x in v["$tuple"])
    if isinstance(v, dict) and len(v) == 1 and "$dict" in v:
        return {_dec(k): _in(x) for k, x in v["$dict"]}
    return _dec(v)

for _line in _inp:
    try:
        _req = _json.loads(_line)
        _args = _in(_req["args"])
        _kw = {str(k): _in(x) for k, x in _req["kwargs"].items()}
        if "call" in _req:
            _r = _g[_req["call"]](*_args, **_kw)
        elif "callref" in _req:
            _r = _refs[int(_req["callref"])](*_args, **_kw)
        elif "get" in _req:
            _r = getattr(_refs[int(_req["ref"])], str(_req["get"]))
        else:
            setattr(_refs[int(_req["ref"])], str(_req["set"]), _args[0])
            _r = None
        _reply = {"ok": _export(_r)}
    except BaseException as _e:
        _reply = {"raise": type(_e).__name__, "msg": str(_e)[:200]}
    _send(_reply)
"""
)

#: The tests' side: proxies for the program's functions, one verdict per test.
_TESTS_SIDE = (
    _CODEC
    + _CHANNEL
    + r"""
import builtins as _b

def _exc(name, msg):
    cls = getattr(_b, name, None)
    if isinstance(cls, type) and issubclass(cls, Exception):
        return cls(msg)
    return RuntimeError(name + ": " + msg)

class Ref:
    # An object that lives in the program's sandbox (an instance, a bound method):
    # attributes and calls are answered there; equal only to itself, and neither true nor
    # false (its own __eq__ or __bool__ would be the program's say).
    __slots__ = ("_id",)
    def __init__(self, i):
        object.__setattr__(self, "_id", i)
    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return _ask({"get": name, "ref": self._id, "args": [], "kwargs": {}})
    def __setattr__(self, name, value):
        _ask({"set": name, "ref": self._id, "args": _wire([value]), "kwargs": {}})
    def __call__(self, *args, **kwargs):
        return _ask({"callref": self._id, "args": _wire(list(args)), "kwargs": _wire_kw(kwargs)})
    def __eq__(self, other):
        return isinstance(other, Ref) and other._id == self._id
    def __hash__(self):
        return hash(("ref", self._id))
    def __bool__(self):
        raise TypeError("an object of the program cannot be judged true or false")

def _wire(v):
    if isinstance(v, Ref):
        return {"$ref": v._id}
    if isinstance(v, list):
        return [_wire(x) for x in v]
    if isinstance(v, tuple):
        return {"$tuple": [_wire(x) for x in v]}
    if isinstance(v, dict):
        return {"$dict": [[_enc(k), _wire(x)] for k, x in v.items()]}
    return _enc(v)

def _wire_kw(kwargs):
    return {str(k): _wire(v) for k, v in kwargs.items()}

def _back(v):
    if isinstance(v, dict) and len(v) == 1 and "$ref" in v and type(v["$ref"]) is int:
        return Ref(v["$ref"])
    if isinstance(v, list):
        return [_back(x) for x in v]
    if isinstance(v, dict) and len(v) == 1 and "$tuple" in v:
        return tuple(_back(x) for x in v["$tuple"])
    return _dec(v)

def _ask(req):
    _send(req)
    line = _inp.readline()
    reply = _json.loads(line) if line else {"raise": "RuntimeError", "msg": "the program died"}
    if isinstance(reply, dict) and "ok" in reply:
        return _back(reply["ok"])
    if isinstance(reply, dict) and "raise" in reply:
        raise _exc(str(reply["raise"]), str(reply.get("msg", "")))
    raise RuntimeError("the program sent no answer")

def _proxy(name):
    def call(*args, **kwargs):
        return _ask({"call": name, "args": _wire(list(args)), "kwargs": _wire_kw(kwargs)})
    call.__name__ = name
    return call

_first = _json.loads(_inp.readline() or "{}")
_ready = _first.get("ready") if isinstance(_first, dict) else None
_ns = {}
if isinstance(_ready, dict):
    for _k in _ready.get("calls", []):
        if isinstance(_k, str) and _k.isidentifier() and (not hasattr(_b, _k) or _k in ALLOW):
            _ns[_k] = _proxy(_k)
    for _k, _v in dict(_ready.get("values", {})).items():
        if isinstance(_k, str) and _k.isidentifier() and not hasattr(_b, _k):
            try:
                _ns[_k] = _dec(_v)
            except Exception:
                pass
for _i, _src in enumerate(TEST_SOURCES):
    _ok = False
    if _ready is not None:
        _scope = dict(_ns)
        _scope["__name__"] = "__tests__"
        try:
            exec(compile(_src, "<test>", "exec"), _scope)
            _ok = True
        except BaseException:
            _ok = False
    _send({"result": _i, "ok": _ok})
_send({"done": True})
"""
)


async def run_tests(
    sandbox: BaseSandbox,
    code: str,
    tests: Sequence[str],
    *,
    timeout_s: float = 10.0,
    memory_mb: int = 512,
    entry: str | None = None,
) -> list[bool]:
    """Each test's verdict on ``code`` (False for a test that did not finish in time).

    A function of the program named like a builtin (``sum``) reaches the tests only when
    it is the ``entry`` point: else a program could redefine ``len`` or ``abs`` under the
    tests' feet."""
    verdicts = [False] * len(tests)
    if not tests:
        return verdicts
    allow = f"ALLOW = {[entry] if entry and entry.isidentifier() else []!r}\n"
    program = f"SOURCE = {code!r}\n" + allow + _PROGRAM_SIDE
    tester = f"TEST_SOURCES = {json.dumps(list(tests))}\n" + allow + _TESTS_SIDE
    async with (
        sandbox.slot(),  # one slot for the pair: two slots taken one by one could deadlock
        sandbox.start(program, timeout_s=timeout_s, memory_mb=memory_mb, stderr=False, hold=False) as prog,
        sandbox.start(tester, timeout_s=timeout_s, memory_mb=memory_mb, stderr=False, hold=False) as test,
    ):
        p_in, p_out = prog.proc.stdin, prog.proc.stdout
        t_in, t_out = test.proc.stdin, test.proc.stdout
        assert p_in and p_out and t_in and t_out

        async def line(stream: asyncio.StreamReader) -> bytes | None:
            try:
                got = await stream.readline()
            except (ValueError, asyncio.LimitOverrunError):  # a line past MAX_LINE
                return None
            return got if got.endswith(b"\n") else None

        async def send(stream: asyncio.StreamWriter, data: bytes) -> bool:
            try:
                stream.write(data)
                await stream.drain()
            except (ConnectionError, RuntimeError):
                return False
            return True

        async def relay() -> None:
            first = await line(p_out)
            if not await send(t_in, first or b'{"crashed": "no answer"}\n'):
                return
            while True:
                msg_line = await line(t_out)
                if msg_line is None:
                    return
                try:
                    msg = json.loads(msg_line)
                except ValueError:
                    return
                if not isinstance(msg, dict) or msg.get("done"):
                    return
                if "result" in msg:
                    i = msg["result"]
                    if type(i) is int and 0 <= i < len(verdicts):
                        verdicts[i] = msg.get("ok") is True
                elif any(k in msg for k in ("call", "callref", "get", "set")):
                    reply = None
                    if await send(p_in, msg_line):
                        reply = await line(p_out)
                    if not await send(t_in, reply or b'{"raise": "RuntimeError", "msg": "the program died"}\n'):
                        return

        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(relay(), timeout=timeout_s)
        prog.kill()
        test.kill()
    return verdicts


async def count_passed(
    sandbox: BaseSandbox, code: str, tests: Sequence[str], *, timeout_s: float = 10.0, memory_mb: int = 512
) -> int:
    """How many of the ``assert`` tests pass against ``code`` (see :func:`run_tests`): a
    crash, a time-out or a forged answer counts as none."""
    return sum(await run_tests(sandbox, code, tests, timeout_s=timeout_s, memory_mb=memory_mb))
