"""Sentence boundaries (BlingFire), shared by chunking at ingestion and citation checking.

BlingFire knows abbreviations ("Jan.", "U.S.", "Dr.") and quotes; it lives in `rag/` so that
`index/` (chunking articles) and `rag/cite.py` (splitting generated answers) split text the
same way without `rag/` importing `index/`.
"""

from __future__ import annotations

import blingfire


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Sentence (start, end) offsets in `text`, trailing spaces excluded; never across lines."""
    spans: list[tuple[int, int]] = []
    offset = 0
    for line in text.split("\n"):
        if line.strip():
            _, offsets = blingfire.text_to_sentences_and_offsets(line)
            spans.extend((offset + start, offset + end) for start, end in offsets if end > start)
        offset += len(line) + 1
    return spans
