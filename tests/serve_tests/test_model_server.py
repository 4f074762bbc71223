"""``archon serve local/gemma-3-270m``: llama.cpp's server behind archon's guard, against
the real embedded model and a real server process on 127.0.0.1 (the openai client, and a
raw socket for a client that goes away mid-generation)."""

from __future__ import annotations

import json
import re
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from archon.testing import free_port
from archon.testing import running_server

LONG = 400  # tokens a request is forced to generate (min_tokens = max_tokens) unless stopped


@pytest.fixture(scope="module")
def model_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int, Path]]:
    port = free_port()
    work = tmp_path_factory.mktemp("model-server")
    cmd = [sys.executable, "-m", "archon", "serve", "local/gemma-3-270m", "--port", str(port)]
    with running_server(cmd, f"http://127.0.0.1:{port}/v1", work) as base:
        yield base, port, work / "server.log"


def _log_lines(log: Path, wanted: str, count: int, timeout_s: float = 60) -> list[str]:
    deadline = time.monotonic() + timeout_s
    while True:
        lines = [line for line in log.read_text(errors="replace").splitlines() if wanted in line]
        if len(lines) >= count or time.monotonic() > deadline:
            return lines
        time.sleep(0.2)


def test_n_above_one_is_refused_and_max_completion_tokens_is_read(model_server: tuple[str, int, Path]) -> None:
    base, _, log = model_server
    client = openai.OpenAI(base_url=base, api_key="x", max_retries=0)
    ask = [{"role": "user", "content": "Word: hot\nOpposite:"}]
    with pytest.raises(openai.BadRequestError) as exc:
        client.chat.completions.create(model="gemma-3-270m", messages=ask, n=3)  # type: ignore[arg-type]
    assert "n=3" in str(exc.value) and "one choice per request" in str(exc.value)
    out = client.chat.completions.create(
        model="gemma-3-270m",
        messages=ask,  # type: ignore[arg-type]
        max_completion_tokens=3,
        extra_body={"min_tokens": 3},
    )
    assert out.usage is not None and out.usage.completion_tokens == 3
    assert _log_lines(log, "400 n=3 refused", 1)
    assert _log_lines(log, "200, ", 1)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/completions", {"prompt": "Write a long story about a dragon."}),
        ("/v1/chat/completions", {"messages": [{"role": "user", "content": "Write a long story about a dragon."}]}),
    ],
    ids=["completions", "chat"],
)
def test_a_client_that_disconnects_stops_its_generation(
    model_server: tuple[str, int, Path], path: str, body: dict[str, object]
) -> None:
    base, port, log = model_server
    before = len(_log_lines(log, "generation stopped after", 0, 0))
    data = json.dumps({"model": "gemma-3-270m", "max_tokens": LONG, "min_tokens": LONG, **body}).encode()
    with socket.create_connection(("127.0.0.1", port)) as s:
        head = (
            f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
        )
        s.sendall(head.encode() + data)
        time.sleep(1.0)  # generation under way
    stopped = _log_lines(log, "generation stopped after", before + 1)
    assert len(stopped) == before + 1, log.read_text()[-2000:]
    made = re.search(r"stopped after (\d+) tokens", stopped[-1])
    assert made is not None and int(made.group(1)) < LONG, stopped[-1]
    # and the server goes on answering
    client = openai.OpenAI(base_url=base, api_key="x", max_retries=0)
    again = client.completions.create(model="gemma-3-270m", prompt="Word: hot\nOpposite:", max_tokens=2)
    assert again.choices[0].text is not None
