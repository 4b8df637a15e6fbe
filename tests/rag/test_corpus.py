"""The corpus columns: the newest publication date time words count from."""

from __future__ import annotations

import datetime as dt

from rag.corpus import Corpus
from rag.schemas import Chunk
from rag.timescope import anchor_of


def chunk(article: str, published: dt.date | None) -> Chunk:
    text = f"Report {article}."
    return Chunk(id=f"{article}:0", article_id=article, ordinal=0, text=text, start=0,
                 end=len(text), published=published)


def test_the_newest_day_is_the_latest_dated_chunk_s() -> None:
    corpus = Corpus.from_chunks([chunk("a", dt.date(2024, 3, 17)), chunk("b", None),
                                 chunk("c", dt.date(2025, 11, 12)),
                                 chunk("d", dt.date(2023, 1, 2))])
    assert corpus.newest_day == dt.date(2025, 11, 12).toordinal()
    assert anchor_of(corpus, "corpus") == dt.date(2025, 11, 12)
    assert anchor_of(corpus, "today", today=dt.date(2026, 1, 1)) == dt.date(2026, 1, 1)


def test_a_corpus_with_no_date_counts_from_today() -> None:
    for chunks in ([], [chunk("b", None)]):
        corpus = Corpus.from_chunks(chunks)
        assert corpus.newest_day is None
        assert anchor_of(corpus, "corpus", today=dt.date(2026, 1, 1)) == dt.date(2026, 1, 1)
