"""The corpus columns: the newest publication date time words count from, rows by chunk id."""

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


def test_rows_are_found_by_chunk_id_and_a_longer_id_never_matches_its_prefix() -> None:
    corpus = Corpus.from_chunks([chunk(a, None) for a in ("zeta", "alpha", "mid")])
    assert corpus.positions(["alpha:0", "zeta:0", "mid:0"]).tolist() == [1, 0, 2]
    # "alpha:00" cut to the held ids' width would read "alpha:0".
    assert corpus.positions(["alpha:00", "omega:0", "a"]).tolist() == [-1, -1, -1]
    assert corpus.position("mid:0") == 2 and corpus.position("nope:0") is None
    assert Corpus.from_chunks([]).positions(["alpha:0"]).tolist() == [-1]
