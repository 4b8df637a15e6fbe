"""Who spoke each sentence of a text, for the grounding judge (`rag.judge.Attribute`): the
attribution ingestion runs (index/speakers.py), here run on a claim or an inline source; and
an inline source as a passage the judge reads."""

from __future__ import annotations

from collections.abc import Sequence

from index.speakers import attribute_speakers
from rag.schemas import Chunk, article_id_for
from rag.sentences import sentence_spans


def attribute(text: str, spans: Sequence[tuple[int, int]]) -> list[str | None]:
    """The speaker of each sentence span of `text` (offsets into it), None where the text
    does not say who spoke."""
    found = {(a.start, a.end): a.speaker for a in attribute_speakers(text, list(spans))}
    return [found.get((start, end)) for start, end in spans]


def inline_chunk(text: str, title: str | None = None) -> Chunk:
    """A source given as text: one passage, its sentences split and their speakers read now."""
    spans = sentence_spans(text)
    key = article_id_for(text)
    return Chunk(id=f"{key}:0", article_id=key, ordinal=0, text=text, start=0, end=len(text),
                 title=title, sentences=tuple(spans), speakers=tuple(attribute(text, spans)))
