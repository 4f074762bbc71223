"""``archon serve local/<model>``: a local model as an OpenAI-compatible server.

llama.cpp's server, with one difference that matters for base models (the embedded
gemma is one): its chat endpoint sends the messages as archon's plain-text prompt (the
contents joined by blank lines, as ``mode: text`` does in process) instead of a chat
template. DSPy programs exported by archon reach ``local/`` models this way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from archon.backends._local import _quiet_llama_logs
from archon.backends._local import resolve_local_model
from archon.errors import ConfigurationError

CHAT_FORMAT = "archon-plain"


def plain_prompt(messages: list[dict[str, Any]]) -> str:
    """The messages as one plain-text prompt (the backends' ``Request.as_text``)."""
    return "\n\n".join(str(m.get("content") or "") for m in messages if m.get("content"))


def serve(model: str, *, host: str, port: int, n_ctx: int, alias: str | None) -> int:
    """Runs the server until interrupted."""
    if not model.startswith("local/"):
        raise ConfigurationError(f"archon serve runs local/ models, not {model} — e.g. archon serve local/gemma-3-270m")
    name = model.split("/", 1)[1]
    path = resolve_local_model(name)
    try:
        import uvicorn
        from llama_cpp.llama_chat_format import ChatFormatterResponse
        from llama_cpp.llama_chat_format import register_chat_format
        from llama_cpp.server.app import create_app
        from llama_cpp.server.settings import ModelSettings
        from llama_cpp.server.settings import ServerSettings
    except ImportError:
        raise ConfigurationError(
            "archon serve needs llama.cpp's server: pip install 'archon[serve]' (llama-cpp-python[server])"
        ) from None

    import socket

    with socket.socket() as sock:  # before loading the model: a clear error, not uvicorn's
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise ConfigurationError(f"cannot listen on {host}:{port} ({exc.strerror}) — pick another --port") from None
    _quiet_llama_logs()

    @register_chat_format(CHAT_FORMAT)  # type: ignore[untyped-decorator]
    def _plain(messages: list[dict[str, Any]], **_: Any) -> Any:
        return ChatFormatterResponse(prompt=plain_prompt(messages))

    served = alias or Path(name).stem  # what archon's DSPy export sends for local/<name>
    settings = ModelSettings(model=str(path), model_alias=served, n_ctx=n_ctx, chat_format=CHAT_FORMAT, verbose=False)
    app = create_app(server_settings=ServerSettings(host=host, port=port), model_settings=[settings])
    print(f"serving {model} as '{served}' on http://{host}:{port}/v1 (Ctrl-C stops)", flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")
    return 0
