"""Prompt templates as text files shipped with the package, loaded by name."""

from __future__ import annotations

import functools
from importlib.resources import files


@functools.cache
def load(name: str) -> str:
    """The template `prompts/<name>.txt` (raises FileNotFoundError for an unknown name)."""
    resource = files(__name__) / f"{name}.txt"
    if not resource.is_file():
        raise FileNotFoundError(f"no prompt template named {name!r}")
    return resource.read_text(encoding="utf-8")
