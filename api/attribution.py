"""Who spoke each sentence of a text, for the grounding judge (`rag.judge.Attribute`): the
attribution ingestion runs (index/speakers.py), here run on a claim or an inline source."""

from __future__ import annotations

from collections.abc import Sequence

from index.speakers import attribute_speakers


def attribute(text: str, spans: Sequence[tuple[int, int]]) -> list[str | None]:
    """The speaker of each sentence span of `text` (offsets into it), None where the text
    does not say who spoke."""
    found = {(a.start, a.end): a.speaker for a in attribute_speakers(text, list(spans))}
    return [found.get((start, end)) for start, end in spans]
