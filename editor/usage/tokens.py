"""Token counts when a server sends none: tiktoken if its encoding is on disk, else chars/4.

tiktoken downloads its encoding files on first use. Flint runs on machines without
internet, and `requests` has no default timeout, so a download attempt could hang a
worker; the encoding is therefore used only when its file is already in tiktoken's cache
(TIKTOKEN_CACHE_DIR, see docs/MODELS.md). Otherwise the estimate is one token per four
characters, which is OpenAI's own rule of thumb for English text and code.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
from collections.abc import Iterable
from typing import Any

ENCODING = "o200k_base"
_ENCODING_URL = f"https://openaipublic.blob.core.windows.net/encodings/{ENCODING}.tiktoken"
CHARS_PER_TOKEN = 4


def _cache_path() -> str:
    cache_dir = os.environ.get("TIKTOKEN_CACHE_DIR") or os.environ.get("DATA_GYM_CACHE_DIR")
    if not cache_dir:
        cache_dir = os.path.join(tempfile.gettempdir(), "data-gym-cache")
    return os.path.join(cache_dir, hashlib.sha1(_ENCODING_URL.encode()).hexdigest())  # noqa: S324


@functools.cache
def _encoding() -> Any | None:
    if not os.path.exists(_cache_path()):
        return None
    try:
        import tiktoken

        return tiktoken.get_encoding(ENCODING)
    except Exception:  # a corrupt cache file must not break usage accounting
        return None


def estimator_name() -> str:
    return f"tiktoken:{ENCODING}" if _encoding() is not None else "chars/4"


def count_tokens(text: str) -> int:
    if not text:
        return 0
    encoding = _encoding()
    if encoding is not None:
        return len(encoding.encode(text, disallowed_special=()))
    return max(1, (len(text) + CHARS_PER_TOKEN - 1) // CHARS_PER_TOKEN)


def count_message_tokens(messages: Iterable[dict[str, Any]]) -> int:
    """Chat messages: their text and tool calls plus the few tokens of framing each costs."""
    total = 3
    for message in messages:
        total += 4
        content = message.get("content")
        if isinstance(content, str):
            total += count_tokens(content)
        elif isinstance(content, list):
            total += sum(count_tokens(part.get("text", "")) for part in content)
        for call in message.get("tool_calls") or ():
            function = call.get("function") or {}
            total += 4 + count_tokens(str(function.get("name") or ""))
            total += count_tokens(str(function.get("arguments") or ""))
    return total


def count_request_tokens(
    messages: Iterable[dict[str, Any]], tools: list[dict[str, Any]] | None = None
) -> int:
    """A whole request as the model reads it: the messages and the tools' specs."""
    total = count_message_tokens(messages)
    if tools:
        total += count_tokens(json.dumps(tools, ensure_ascii=False, separators=(",", ":")))
    return total
