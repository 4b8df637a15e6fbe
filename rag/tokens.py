"""tiktoken encodings loaded offline from the cache that llama-index-core ships."""

from __future__ import annotations

import functools
import os
from importlib.resources import files

import tiktoken


def offline_tiktoken_cache() -> str:
    """Point tiktoken at llama-index's bundled cache, so no encoding is ever downloaded."""
    cache = str(files("llama_index.core") / "_static" / "tiktoken_cache")
    os.environ.setdefault("TIKTOKEN_CACHE_DIR", cache)
    return os.environ["TIKTOKEN_CACHE_DIR"]


@functools.cache
def encoding(name: str = "cl100k_base") -> tiktoken.Encoding:
    """The named encoding (cached: loading it parses a 1.7 MB BPE table)."""
    offline_tiktoken_cache()
    return tiktoken.get_encoding(name)


def count_tokens(text: str, name: str = "cl100k_base") -> int:
    return len(encoding(name).encode(text, disallowed_special=()))
