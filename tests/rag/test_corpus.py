"""The corpus columns: the newest publication date time words count from, rows by chunk id."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

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


def story_chunk(article: str, story: str, source: str | None, day: int) -> Chunk:
    text = f"Report {article} on {story}, a longer passage from {source or 'nobody'}."
    return Chunk(id=f"{article}:0", article_id=article, ordinal=0, text=text, start=0,
                 end=len(text), source=source, story_id=story,
                 published=dt.date(2024, 1, 1) + dt.timedelta(days=day))


def assert_same_corpus(one: Corpus, other: Corpus) -> None:
    """Equal as search reads them: every chunk, column value and lookup."""
    assert list(one) == list(other)
    for name in ("ids", "day", "start", "end"):
        assert getattr(one, name).tolist() == getattr(other, name).tolist()
    assert one.articles[one.article].tolist() == other.articles[other.article].tolist()
    assert one.sources[one.source].tolist() == other.sources[other.source].tolist()
    assert one.stories[one.story].tolist() == other.stories[other.story].tolist()
    wanted = [*other.ids.tolist(), "nope:0", "a0:00"]
    assert one.positions(wanted).tolist() == other.positions(wanted).tolist()
    assert one.present_sources() == other.present_sources()
    assert one.carrier_counts[one.article_story].tolist() == (
        other.carrier_counts[other.article_story].tolist())


def test_appended_chunks_read_as_one_corpus_built_from_all_of_them(tmp_path: Path) -> None:
    base = [story_chunk(f"a{k}", f"s{k % 3}", ["Wire", None, "Ledger"][k % 3], k)
            for k in range(12)]
    # A copy of a held story, a new story, a held outlet and a new one; then many at once.
    first = [story_chunk("b0", "s1", "Wire", 20), story_chunk("b1", "t1", "Courier", 21)]
    many = [story_chunk(f"c{k}", f"u{k}", f"Outlet {k % 40}", k) for k in range(80)]
    held = Corpus.from_chunks(base)
    held.positions(["a0:0"])  # its sorted order is merged, not recomputed, when appended
    once = Corpus.appended(held, first)
    twice = Corpus.appended(once, many)
    assert_same_corpus(once, Corpus.from_chunks(base + first))
    assert_same_corpus(twice, Corpus.from_chunks(base + first + many))
    assert twice.positions_holding(b"Report b1") == [13]
    assert twice.positions_holding(b"Outlet 39") == [53, 93]
    assert [c.article_id for c in twice.carriers("s1")] == ["a1", "a4", "a7", "a10", "b0"]
    twice.save(tmp_path)
    assert_same_corpus(Corpus.load(tmp_path), twice)


def test_chunks_appended_to_an_empty_corpus() -> None:
    added = [story_chunk("a", "s", "Wire", 1)]
    assert_same_corpus(Corpus.appended(Corpus.from_chunks([]), added), Corpus.from_chunks(added))
