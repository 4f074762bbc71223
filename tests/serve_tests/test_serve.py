"""archon serve PIPELINE.yaml | STUDY: real clients (openai, litellm, DSPy) against a real
server process on 127.0.0.1, on the embedded model; a study of SIMULATED models
(synthetic/) for the Pareto routes."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from archon.serve import Router
from archon.testing import free_port
from archon.testing import running_server
from tests.conftest import ROOT
from tests.conftest import archon_cli

KEY = "sk-archon-serve-test-0123456789"
SINGLE = ROOT / "pipelines" / "local-single-call.yaml"  # served as local-single-call
VOTE = ROOT / "pipelines" / "local-best-of-5-vote.yaml"  # served as best-of-5-vote


def _serve_cmd(*args: str, port: int, db: Path) -> list[str]:
    """The command line of ``archon serve ARGS`` on 127.0.0.1:port with its own database."""
    return [sys.executable, "-m", "archon", "serve", *args, "--port", str(port), "--db", f"sqlite:///{db}"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("serve")
    port = free_port()
    cmd = _serve_cmd(str(SINGLE), str(VOTE), "--api-key", KEY, "--max-queue", "3", port=port, db=tmp / "serve.db")
    with running_server(cmd, f"http://127.0.0.1:{port}/v1", tmp) as base:
        yield base


def _post(base: str, path: str, body: Any, key: str = KEY, **kw: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}", **kw.pop("headers", {})}
    if isinstance(body, bytes):
        return httpx.post(base + path, content=body, headers=headers, timeout=120, **kw)
    return httpx.post(base + path, json=body, headers=headers, timeout=120, **kw)


def _archon_run(pipeline: Path, word: str, tmp_path: Path) -> str:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "archon",
            "run",
            str(pipeline),
            "--input",
            word,
            "--db",
            f"sqlite:///{tmp_path / 'run.db'}",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    return str(json.loads(out.stdout)["outputs"][0])


def test_openai_client_gets_archon_runs_answer_with_usage(server: str, tmp_path: Path) -> None:
    import openai

    client = openai.OpenAI(base_url=server, api_key=KEY)
    assert {m.id for m in client.models.list()} == {"local-single-call", "best-of-5-vote"}
    for pipeline, name, word in ((SINGLE, "local-single-call", "hot"), (VOTE, "best-of-5-vote", "big")):
        r = client.chat.completions.create(model=name, messages=[{"role": "user", "content": word}])
        assert r.choices[0].message.content == _archon_run(
            pipeline, word, tmp_path
        )  # a fresh DB: computed, not replayed
        ext = (r.model_extra or {})["archon"]
        assert ext["pipeline"] == name and ext["calls"] == (1 if name == "local-single-call" else 5)
        assert (
            r.usage is not None
            and r.usage.prompt_tokens > 0
            and r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens
        )
    again = client.chat.completions.create(model="best-of-5-vote", messages=[{"role": "user", "content": "big"}])
    assert (again.model_extra or {})["archon"]["cached_calls"] == 5  # the same cache as archon run's
    stream = client.chat.completions.create(
        model="best-of-5-vote", messages=[{"role": "user", "content": "big"}], stream=True
    )
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == again.choices[0].message.content
    done = client.completions.create(model="local-single-call", prompt="hot")
    assert done.choices[0].text == _archon_run(SINGLE, "hot", tmp_path)


def test_litellm_and_dspy_call_a_served_pipeline(server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import litellm

    want = _archon_run(SINGLE, "wet", tmp_path)
    r = litellm.completion(
        model="openai/local-single-call", api_base=server, api_key=KEY, messages=[{"role": "user", "content": "wet"}]
    )
    assert r.choices[0].message.content == want
    monkeypatch.setenv("DSPY_CACHEDIR", str(tmp_path / "dspy"))
    import dspy

    lm = dspy.LM("openai/local-single-call", api_base=server, api_key=KEY, cache=False)
    assert lm(messages=[{"role": "user", "content": "wet"}]) == [want]


def test_sampling_fields_are_honoured_or_refused(server: str) -> None:
    ask = {"model": "local-single-call", "messages": [{"role": "user", "content": "hot"}]}
    for extra, param in (
        ({"n": 3}, "n"),
        ({"temperature": 0.7}, "temperature"),
        ({"seed": 1}, "seed"),
        ({"top_p": 0.5}, "top_p"),
        ({"max_tokens": 2}, "max_tokens"),
        ({"max_completion_tokens": 2}, "max_completion_tokens"),
        ({"stop": [""]}, "stop"),
    ):
        r = _post(server, "/chat/completions", {**ask, **extra})
        assert r.status_code == 400 and r.json()["error"]["param"] == param, (extra, r.text)
    full = _post(server, "/chat/completions", {**ask, "n": 1, "max_completion_tokens": 64, "max_tokens": 8}).json()
    answer = full["choices"][0]["message"]["content"]
    assert len(answer) >= 2
    cut = _post(server, "/chat/completions", {**ask, "stop": [answer[1:]]}).json()  # cut at its 2nd character
    assert cut["choices"][0]["message"]["content"] == answer[:1] and cut["choices"][0]["finish_reason"] == "stop"


def test_bad_requests_get_the_right_4xx_and_the_server_lives(server: str) -> None:
    ask = {"model": "local-single-call", "messages": [{"role": "user", "content": "hot"}]}
    cases = [
        (_post(server, "/chat/completions", b"{not json"), 400, "not JSON"),
        (_post(server, "/chat/completions", b"[1, 2]"), 400, "JSON object"),
        (_post(server, "/chat/completions", {**ask, "model": "gpt-9"}), 404, "not served here"),
        (_post(server, "/chat/completions", {"model": "local-single-call"}), 400, "messages"),
        (
            _post(server, "/chat/completions", {**ask, "messages": [{"role": "system", "content": "x"}]}),
            400,
            "no user message",
        ),
        (_post(server, "/chat/completions", {**ask, "archon": {"budget": {"calls": 0}}}), 400, "budget.calls"),
        (
            _post(server, "/chat/completions", {**ask, "model": "best-of-5-vote", "archon": {"budget": {"calls": 4}}}),
            400,
            "5 calls",
        ),
        (
            _post(
                server, "/chat/completions", {**ask, "model": "best-of-5-vote"}, headers={"X-Archon-Budget-Calls": "2"}
            ),
            400,
            "budget",
        ),
        (_post(server, "/chat/completions", ask, headers={"X-Archon-Budget-Calls": "lots"}), 400, "not a number"),
        (_post(server, "/chat/completions", {**ask, "pad": "x" * (2 << 20)}), 413, "over"),
        (_post(server, "/chat/completions", ask, key="sk-wrong-key-000000000"), 401, "API key"),
        (httpx.get(server + "/models"), 401, "API key"),
        (_post(server, "/completions", {"model": "local-single-call", "prompt": ["a", "b"]}), 400, "one prompt"),
    ]
    for r, status, words in cases:
        assert r.status_code == status and words in r.json()["error"]["message"], (status, r.text)
        assert KEY not in r.text
    assert httpx.get(server.removesuffix("/v1") + "/health").json()["status"] == "ok"
    assert _post(server, "/chat/completions", ask).status_code == 200


def test_concurrent_requests_share_waves_and_a_full_queue_says_429(server: str) -> None:
    words = ["fast", "slow", "happy", "young", "open", "rich", "full", "early"]

    async def burst() -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=120, headers={"Authorization": f"Bearer {KEY}"}) as c:
            return await asyncio.gather(
                *(
                    c.post(
                        server + "/chat/completions",
                        json={"model": "best-of-5-vote", "messages": [{"role": "user", "content": w + "!"}]},
                    )
                    for w in words
                )
            )

    got = asyncio.run(burst())
    codes = [r.status_code for r in got]
    assert set(codes) <= {200, 429} and codes.count(200) >= 3 and 429 in codes  # --max-queue 3
    busy = next(r for r in got if r.status_code == 429)
    assert busy.headers["Retry-After"] == "1" and "busy" in busy.json()["error"]["message"]
    metrics = httpx.get(server.removesuffix("/v1") + "/metrics").text
    assert 'archon_requests_total{model="best-of-5-vote",status="429"}' in metrics
    assert "archon_request_seconds_bucket" in metrics and "archon_queue_depth 0.0" in metrics


def test_a_disconnect_stops_the_waves_it_had_not_started(tmp_path: Path) -> None:
    """critique-rank-fuse runs in several waves; a client gone after the first stops the
    rest (the server's log and metrics show fewer calls than the plan's)."""
    pipeline = ROOT / "pipelines" / "local-critique-rank-fuse.yaml"
    port = free_port()
    cmd = _serve_cmd(str(pipeline), port=port, db=tmp_path / "d.db")
    with running_server(cmd, f"http://127.0.0.1:{port}/v1", tmp_path) as base:
        import archon

        plan_calls = archon.load(pipeline).plan.cost.calls
        name = archon.load(pipeline).spec.name
        body = {"model": name, "messages": [{"role": "user", "content": "cold"}]}
        with pytest.raises(httpx.ReadTimeout):
            httpx.post(base + "/chat/completions", json=body, timeout=1.0)
        deadline = time.time() + 120
        while time.time() < deadline:
            m = httpx.get(base.removesuffix("/v1") + "/metrics").text
            line = [x for x in m.splitlines() if x.startswith(f'archon_calls_total{{kind="paid",model="{name}"}}')]
            if line:
                break
            time.sleep(0.5)
        paid = float(line[0].split()[-1])
        assert 0 < paid < plan_calls, (paid, plan_calls)
        assert f'archon_requests_total{{model="{name}",status="499"}} 1.0' in m
        assert (
            f"/v1/chat/completions {name}: 499 cancelled: the client disconnected"
            in (tmp_path / "server.log").read_text()
        )


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("study")
    demo = str(ROOT / "optimizers" / "synthetic-demo.yaml")
    out = archon_cli("optimize", demo, "--trials", "8", "--db", f"sqlite:///{tmp / 's.db'}", "--results", str(tmp))
    assert out.returncode == 0, out.stderr
    return tmp / "synthetic-demo"


def test_a_study_serves_best_cheapest_each_pareto_point_and_auto(study: Path, tmp_path: Path) -> None:
    summary = json.loads((study / "summary.json").read_text())
    import csv

    with (study / "trials.csv").open() as f:
        dev = {int(r["trial"]): float(r["score"]) for r in csv.DictReader(f) if r["score"]}
    top = max(summary["pareto"], key=lambda n: dev[n])
    port = free_port()
    cmd = _serve_cmd(str(study), "--slo-ms", "500", port=port, db=tmp_path / "x.db")
    with running_server(cmd, f"http://127.0.0.1:{port}/v1", tmp_path) as base:
        ids = {m["id"] for m in httpx.get(base + "/models").json()["data"]}
        want = {"synthetic-demo/best", "synthetic-demo/cheapest", "synthetic-demo/auto"} | {
            f"synthetic-demo/trial-{n}" for n in summary["pareto"]
        }
        assert ids == want
        for name in sorted(want):
            r = httpx.post(
                base + "/chat/completions",
                json={"model": name, "messages": [{"role": "user", "content": "q0-1"}]},
                timeout=60,
            )
            assert r.status_code == 200, r.text
            point = r.json()["archon"]["point"]
            assert point.startswith("synthetic-demo/trial-") or point == "synthetic-demo/best"
            if name == "synthetic-demo/auto":  # idle: the best-scoring Pareto point
                assert point == f"synthetic-demo/trial-{top}"
            elif name != "synthetic-demo/cheapest":
                assert point == name


def test_router_moves_cheaper_at_risk_and_back_when_calm() -> None:
    pts: Any = [SimpleNamespace(name=f"p{i}") for i in range(3)]  # best first
    r = Router(pts, slo_ms=100, queue_high=4, hold_s=0.0)
    assert r.pick(0).name == "p0"  # nothing observed: stay at the best
    for _ in range(10):
        r.observe(0.09)  # p95 90 ms > 0.8 x 100 ms: at risk
    assert r.pick(0).name == "p1"
    assert r.pick(0).name == "p1"  # the new point's own latencies are not known yet: stay
    assert r.pick(5).name == "p2"  # a queue past queue_high is at risk too
    assert r.pick(9).name == "p2"  # the cheapest point is the floor
    for _ in range(5):
        r.observe(0.05)  # 50 ms: neither at risk nor calm
    assert r.pick(0).name == "p2"
    for _ in range(50):
        r.observe(0.01)  # p95 10 ms < 0.4 x 100 ms with an empty queue: calm
    assert r.pick(1).name == "p2"  # but not with a queue
    assert r.pick(0).name == "p1"
    for _ in range(5):
        r.observe(0.01)
    assert r.pick(0).name == "p0"
    held = Router(pts, slo_ms=100, hold_s=60.0)
    for _ in range(10):
        held.observe(1.0)
    assert held.pick(0).name == "p1" and held.pick(99).name == "p1"  # one move per hold_s


def test_sigterm_lets_the_request_in_flight_finish(tmp_path: Path) -> None:
    import signal
    import threading

    from archon.testing import wait_until_serving

    pipeline = ROOT / "pipelines" / "local-critique-rank-fuse.yaml"
    port = free_port()
    base = f"http://127.0.0.1:{port}/v1"
    log_path = tmp_path / "server.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            _serve_cmd(str(pipeline), port=port, db=tmp_path / "g.db"),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until_serving(proc, base, log_path, 120)
            got: list[httpx.Response] = []
            body = {"model": "local-critique-rank-fuse", "messages": [{"role": "user", "content": "early"}]}
            t = threading.Thread(
                target=lambda: got.append(httpx.post(base + "/chat/completions", json=body, timeout=120))
            )
            t.start()
            time.sleep(0.4)  # the request is in its first wave
            proc.send_signal(signal.SIGTERM)
            t.join(120)
            assert got and got[0].status_code == 200, got[0].text if got else "no answer"
            import archon

            every = archon.load(pipeline).plan.cost.calls  # 4 samples, critique, rank, fuse: all of it
            assert got[0].json()["archon"]["paid_calls"] == every == 7
            assert proc.wait(60) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal once it has drained
            assert "Traceback" not in log_path.read_text()
        finally:
            if proc.poll() is None:
                proc.kill()
