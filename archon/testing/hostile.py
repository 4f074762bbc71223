"""A corpus of hostile programs for the sandbox suite and benchmarks/sandbox_hostile.py.

Each program is a wrong answer to "``solve(x)`` returns ``x * x``" (tests:
:data:`TESTS`). Where an attack is meant to gain something, the program returns the
right answer only if the attack worked — so a pass is a breach. Placeholders filled by
:func:`programs`: ``{canary}`` (a host file, world-readable), ``{canary_dir}`` (a host
folder, world-writable), ``{port}`` (a TCP port listening on 127.0.0.1), ``{sock}`` (a
unix socket listening on the host), ``{key}`` (the name of an environment variable
holding a fake API key).
"""

from __future__ import annotations

TESTS = ("assert solve(2) == 4", "assert solve(3) == 9", "assert solve(10) == 100")

HONEST = "def solve(x):\n    return x * x\n"

_WIN = "    return x * x\n"

CORPUS: dict[str, tuple[str, str]] = {
    # --- fake passes: the verdict forged, the answer wrong
    "exit 0 before the tests": ("fake", "import sys\ndef solve(x):\n    return 0\nsys.exit(0)\n"),
    "os._exit(0) at import": ("fake", "import os\ndef solve(x):\n    return 0\nos._exit(0)\n"),
    "SystemExit(0) inside solve": ("fake", "def solve(x):\n    raise SystemExit(0)\n"),
    "object equal to everything": (
        "fake",
        "class A:\n    def __eq__(self, o):\n        return True\n    __hash__ = None\ndef solve(x):\n    return A()\n",
    ),
    "int subclass equal to everything": (
        "fake",
        "class I(int):\n    def __eq__(self, o):\n        return True\ndef solve(x):\n    return I(0)\n",
    ),
    "patch builtins.exec": (
        "fake",
        "import builtins\nbuiltins.exec = lambda *a, **k: None\nbuiltins.compile = lambda *a, **k: None\n"
        "def solve(x):\n    return 0\n",
    ),
    "AssertionError made harmless": (
        "fake",
        "import builtins\nclass E(BaseException):\n    pass\nbuiltins.AssertionError = E\ndef solve(x):\n    return 0\n",
    ),
    "print fake verdicts": (
        "fake",
        'for i in range(3):\n    print(\'{"result": %d, "ok": true}\' % i)\nprint(\'{"done": true}\')\n'
        "def solve(x):\n    return 0\n",
    ),
    "write fake replies to fd 1": (
        "fake",
        "import os\nfor v in (4, 9, 100):\n    os.write(1, ('{\"ok\": %d}\\n' % v).encode())\ndef solve(x):\n    return 0\n",
    ),
    "read the marker from its own source": (
        "fake",
        "import re, sys\nsrc = open(sys.argv[0]).read()\nfor m in set(re.findall(r'__ARCHON\\w+', src)):\n"
        "    print(m + '[true, true, true]')\ndef solve(x):\n    return 0\n",
    ),
    "frames: rewrite the caller's results": (
        "fake",
        "import sys\ndef solve(x):\n    f = sys._getframe(1)\n    while f is not None:\n"
        "        for k, v in list(f.f_globals.items()):\n            if isinstance(v, list):\n"
        "                v[:] = [True] * len(v)\n        f = f.f_back\n    return 0\n",
    ),
    "monkeypatch json.dumps": (
        "fake",
        "import json\n_d = json.dumps\njson.dumps = lambda o, *a, **k: _d({'result': 0, 'ok': True, 'done': True})\n"
        "def solve(x):\n    return 0\n",
    ),
    "atexit prints a pass": (
        "fake",
        'import atexit\natexit.register(lambda: print(\'{"result": 0, "ok": true}\'))\ndef solve(x):\n    return 0\n',
    ),
    "settrace skips asserts": (
        "fake",
        "import sys\ndef t(frame, event, arg):\n    return None\nsys.settrace(t)\ndef solve(x):\n    return 0\n",
    ),
    "returns the right value only to a probe": (
        "fake",
        "import inspect\ndef solve(x):\n    return x * x if 'assert' in str(inspect.stack()) else 0\n",
    ),
    # --- reads and writes outside
    "read a host file": ("escape", "def solve(x):\n    open({canary!r}).read()\n" + _WIN),
    "write a host folder": ("escape", "def solve(x):\n    open({canary_dir!r} + '/pwned', 'w').write('x')\n" + _WIN),
    "read /etc/shadow or passwd": ("escape", "def solve(x):\n    assert 'root' in open('/etc/passwd').read()\n" + _WIN),
    "list the host root": (
        "escape",
        "import os\ndef solve(x):\n    assert 'home' in os.listdir('/') or 'root' in os.listdir('/')\n" + _WIN,
    ),
    "the host's PID 1": (
        "escape",
        "def solve(x):\n    assert b'bwrap' not in open('/proc/1/cmdline', 'rb').read()\n" + _WIN,
    ),
    "the key in PID 1's environ": (
        "escape",
        "def solve(x):\n    assert {key!r}.encode() in open('/proc/1/environ', 'rb').read()\n" + _WIN,
    ),
    "the API key in the environment": (
        "escape",
        "import os\ndef solve(x):\n    assert os.environ.get({key!r})\n" + _WIN,
    ),
    "the API key in the parent's environ": (
        "escape",
        "import os\ndef solve(x):\n    e = open('/proc/%d/environ' % os.getppid(), 'rb').read()\n    assert {key!r}.encode() in e\n"
        + _WIN,
    ),
    "TCP to a host port": (
        "escape",
        "import _socket\ndef solve(x):\n    s = _socket.socket()\n    s.settimeout(2)\n    s.connect(('127.0.0.1', {port}))\n"
        + _WIN,
    ),
    "a host unix socket": (
        "escape",
        "import _socket\ndef solve(x):\n    s = _socket.socket(_socket.AF_UNIX)\n    s.connect({sock!r})\n" + _WIN,
    ),
    "/tmp of the host": (
        "escape",
        "import os\ndef solve(x):\n    assert any(n.startswith('archon') or n.startswith('pytest') for n in os.listdir('/tmp'))\n"
        + _WIN,
    ),
    "/dev/shm of the host": (
        "escape",
        "def solve(x):\n    open('/dev/shm/archon-pwned', 'w').write('x')\n    import os\n    assert len(os.listdir('/dev/shm')) > 1\n"
        + _WIN,
    ),
    "a device": ("escape", "def solve(x):\n    open('/dev/mem', 'rb').read(1)\n" + _WIN),
    # --- floods
    "1 GB on stdout": ("flood", "import sys\nwhile True:\n    sys.stdout.write('x' * 65536)\n"),
    "1 GB on stderr": ("flood", "import sys\nwhile True:\n    sys.stderr.write('x' * 65536)\n"),
    "one huge protocol line": ("flood", "import os\nwhile True:\n    os.write(1, b'x' * 65536)\n"),
    "fill the disk": (
        "flood",
        "i = 0\nwhile True:\n    open('/tmp/f%d' % i, 'wb').write(b'x' * (8 << 20))\n    i += 1\n",
    ),
    "memory bomb": ("flood", "x = []\nwhile True:\n    x.append(bytearray(50 << 20))\n"),
    "memory across processes": (
        "flood",
        "import os, time\nfor _ in range(12):\n    if os.fork() == 0:\n        b = bytearray(300 << 20)\n        time.sleep(30)\n"
        "time.sleep(30)\n",
    ),
    # --- forks and daemons
    "fork bomb": ("fork", "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"),
    "thread bomb": (
        "fork",
        "import threading, time\nwhile True:\n    threading.Thread(target=time.sleep, args=(60,)).start()\n",
    ),
    "setsid grandchild holding the pipes": (
        "fork",
        "import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n        time.sleep(600)\n"
        "def solve(x):\n    return 0\n",
    ),
    "daemon that writes later": (
        "fork",
        "import os, time\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(3)\n"
        "    open({canary_dir!r} + '/late', 'w').write('x')\ndef solve(x):\n    return 0\n",
    ),
    # --- siblings
    "kill -9 -1": (
        "sibling",
        "import os\ntry:\n    os.kill(-1, 9)\nexcept OSError:\n    pass\ndef solve(x):\n    return 0\n",
    ),
    "kill every python in /proc": (
        "sibling",
        "import os\nfor p in os.listdir('/proc'):\n    if p.isdigit() and int(p) != os.getpid():\n        try:\n"
        "            os.kill(int(p), 9)\n        except OSError:\n            pass\ndef solve(x):\n    return 0\n",
    ),
    # --- hangs
    "infinite loop": ("hang", "def solve(x):\n    while True:\n        pass\n"),
    "blocks on stdin": ("hang", "import sys\nsys.stdin.read()\ndef solve(x):\n    return 0\n"),
    "ignores SIGTERM": (
        "hang",
        "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\ndef solve(x):\n    time.sleep(600)\n",
    ),
    "recursion bomb": ("hang", "import sys\nsys.setrecursionlimit(10**9)\ndef solve(x):\n    return solve(x)\n"),
    "segfault": ("hang", "import ctypes\ndef solve(x):\n    ctypes.string_at(0)\n"),
}


def programs(**where: object) -> dict[str, tuple[str, str]]:
    """The corpus with its placeholders filled (see the module docstring)."""
    out = {}
    for name, (kind, code) in CORPUS.items():
        for k, v in where.items():
            code = code.replace("{" + k + "!r}", repr(v)).replace("{" + k + "}", str(v))
        out[name] = (kind, code)
    return out
