"""Sentence boundaries (BlingFire), shared by chunking at ingestion and citation checking.

BlingFire knows abbreviations ("Jan.", "U.S.", "Dr.") and quotes; it lives in `rag/` so that
`index/` (chunking articles) and `rag/cite.py` (splitting generated answers) split text the
same way without `rag/` importing `index/`. It is compiled code, linear in the text's length,
with no time limit to trip over (docs/operations.md, "Ingestion limits").
"""

from __future__ import annotations

import re

import blingfire

_SURROGATE = re.compile(r"[\ud800-\udfff]")


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Sentence (start, end) offsets in `text`, trailing spaces excluded; never across lines."""
    spans: list[tuple[int, int]] = []
    offset = 0
    for line in text.split("\n"):
        if line.strip():
            spans.extend((offset + start, offset + end)
                         for start, end in _offsets(line) if end > start)
        offset += len(line) + 1
    return spans


def _offsets(line: str) -> list[tuple[int, int]]:
    try:
        return blingfire.text_to_sentences_and_offsets(line)[1]
    except UnicodeEncodeError:  # a lone surrogate (from a JSON escape): one character still
        return blingfire.text_to_sentences_and_offsets(_SURROGATE.sub("\ufffd", line))[1]
