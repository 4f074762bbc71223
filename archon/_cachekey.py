"""The cache key of one model call — DESIGN's invariant, defined once.

archon's client and the standalone export (which inlines this module) both key a call by
this function, so a call archon paid for is a cache hit in an exported module and the
other way round. It depends on nothing but the standard library.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any


def call_key(
    endpoint: str,
    model: str,
    mode: str,
    messages: Sequence[Sequence[str]],
    sampling: Mapping[str, Any],
    sample: int,
) -> str:
    """sha256 (hex) over the endpoint, model, mode, messages, sampling and sample index.
    Never an API key: two users of one endpoint share answers.

    Example:
        >>> call_key("openai", "openai/gpt-4o-mini", "chat", [("user", "hi")], {"temperature": 0.0}, 0)[:12]
        '28b94f3ad132'
    """
    payload = {
        "endpoint": endpoint,
        "model": model,
        "mode": mode,
        "messages": [list(m) for m in messages],
        "sampling": dict(sampling),
        "sample": sample,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
