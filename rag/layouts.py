"""An article's chunk layout packed into one compressed blob: each chunk's offsets, sentence
spans, speakers and statement records, which nothing filters on and so are kept beside Chroma
rather than in its metadata (docs/operations.md, "Where texts and sentence vectors are kept").
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rag.schemas import Chunk

# Format of a packed layout: the first byte, so that a later one can be told apart.
VERSION = 1
LEVEL = 6


@dataclass(frozen=True)
class ChunkLayout:
    """What a chunk's record keeps of it beside its vector and filters: its offsets in the
    article, its sentence spans (article offsets), their speakers, its statement records (as
    dicts, `Statement.model_dump(exclude_defaults=True)`)."""

    start: int
    end: int
    sentences: tuple[tuple[int, int], ...]
    speakers: tuple[str | None, ...]
    statements: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class Layout:
    """An article's chunk layouts by ordinal, and when they were written (seconds since the
    epoch: what tells a write in flight from a crashed one, `Store.repair`)."""

    written_at: float
    chunks: dict[int, ChunkLayout]


def layout_of(chunk: Chunk) -> ChunkLayout:
    """The layout part of a chunk."""
    return ChunkLayout(chunk.start, chunk.end, tuple(chunk.sentences), tuple(chunk.speakers),
                       tuple(s.model_dump(exclude_defaults=True) for s in chunk.statements))


def pack(chunks: Sequence[tuple[int, ChunkLayout]], written_at: float) -> bytes:
    """One article's chunk layouts (with their ordinals) as bytes: a version byte, then zlib
    of compact JSON in which sentence spans are offsets from the chunk's start."""
    rows = [[ordinal, c.start, c.end - c.start,
             [v for s, e in c.sentences for v in (s - c.start, e - s)],
             list(c.speakers) if any(c.speakers) else None,
             list(c.statements) or None]
            for ordinal, c in chunks]
    text = json.dumps({"w": round(written_at, 3), "c": rows}, separators=(",", ":"),
                      ensure_ascii=False)
    return bytes([VERSION]) + zlib.compress(text.encode("utf-8"), LEVEL)


def unpack(packed: bytes) -> Layout:
    """What `pack` wrote; raises ValueError for bytes it did not write."""
    if not packed or packed[0] != VERSION:
        raise ValueError("not a packed chunk layout of a known version")
    try:
        held = json.loads(zlib.decompress(packed[1:]).decode("utf-8"))
    except (zlib.error, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"not a packed chunk layout: {error}") from error
    chunks = {}
    for ordinal, start, length, spans, speakers, statements in held["c"]:
        sentences = []
        for at in range(0, len(spans), 2):
            begin = start + spans[at]
            sentences.append((begin, begin + spans[at + 1]))
        chunks[int(ordinal)] = ChunkLayout(start, start + length, tuple(sentences),
                                           tuple(speakers or ()), tuple(statements or ()))
    return Layout(float(held["w"]), chunks)
