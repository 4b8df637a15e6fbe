"""The chunks a search reads, held as columns; a whole `Chunk` is made only when one is returned.

Per-chunk fields a query compares (outlet, date, article) are numpy columns; each chunk's full
record is a JSON span of one byte string, parsed on demand. `save` writes the columns and
records as files and `load` reads them back in place (columns memory-mapped, records read a
span at a time), so a restart reads no chunk from Chroma.
"""

from __future__ import annotations

import mmap
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import cached_property
from pathlib import Path
from typing import overload

import numpy as np

from rag.file_reads import FileBytes, mapped_npz
from rag.schemas import Chunk, Filters

COLUMNS = "columns.npz"
RECORDS = "records.jsonb"
# Up to this many distinct values appended are looked up one comparison each, not by sorting.
FEW = 32
# How many bytes of records `merged` copies at once.
SPAN_BLOCK = 1 << 22


class Corpus(Sequence[Chunk]):
    """An immutable, indexable sequence of chunks with vectorised metadata filters."""

    def __init__(self, ids: np.ndarray, articles: np.ndarray, article: np.ndarray,
                 sources: np.ndarray, source: np.ndarray, day: np.ndarray, start: np.ndarray,
                 end: np.ndarray, bounds: np.ndarray,
                 records: Records, stories: np.ndarray,
                 story: np.ndarray) -> None:
        self.ids = ids  # chunk ids, fixed-width unicode
        self.articles = articles  # distinct article ids; `article` holds codes into it
        self.article = article
        self.sources = sources  # distinct outlets ("" for none); `source` holds codes into it
        self.source = source
        self.day = day  # the published date's ordinal, -1 when undated
        self.start = start  # article offsets, for the overlap test of diversity
        self.end = end
        self._bounds = bounds  # (n, 2): each chunk's span of `records`
        self._records = records
        # Distinct story ids (`Chunk.story`); `story` holds each chunk's code into it.
        self.stories = stories
        self.story = story
        self._extends: Callable[[], Corpus | None] = lambda: None

    def extends(self) -> Corpus | None:
        """The corpus whose rows this one's begin with (`appended`), while it is held."""
        return self._extends()

    @classmethod
    def from_chunks(cls, chunks: Iterable[Chunk]) -> Corpus:
        """Columns of these chunks (consumed once: a generator of pages keeps memory flat)."""
        ids: list[str] = []
        article_codes: dict[str, int] = {}
        source_codes: dict[str, int] = {}
        story_codes: dict[str, int] = {}
        story: list[int] = []
        article: list[int] = []
        source: list[int] = []
        day: list[int] = []
        start: list[int] = []
        end: list[int] = []
        records = bytearray()
        bounds: list[tuple[int, int]] = []
        for chunk in chunks:
            ids.append(chunk.id)
            article.append(article_codes.setdefault(chunk.article_id, len(article_codes)))
            source.append(source_codes.setdefault(chunk.source or "", len(source_codes)))
            story.append(story_codes.setdefault(chunk.story, len(story_codes)))
            day.append(chunk.published.toordinal() if chunk.published else -1)
            start.append(chunk.start)
            end.append(chunk.end)
            record = chunk.model_dump_json().encode()
            bounds.append((len(records), len(records) + len(record)))
            records += record
        return cls(_strings(ids), _strings(list(article_codes)), np.array(article, np.int32),
                   _strings(list(source_codes)), np.array(source, np.int32),
                   np.array(day, np.int32), np.array(start, np.int64), np.array(end, np.int64),
                   np.array(bounds, np.int64).reshape(-1, 2), records,
                   _strings(list(story_codes)), np.array(story, np.int32))

    @classmethod
    def merged(cls, base: Corpus, rows: np.ndarray, chunks: list[Chunk]) -> Corpus:
        """These rows of `base`, then these chunks: the kept rows' columns and records are
        copied as they are (parsing and re-serialising them took most of an incremental
        snapshot update)."""
        added = cls.from_chunks(chunks)
        articles, article = _recoded(base.articles[base.article[rows]],
                                     added.articles[added.article])
        sources, source = _recoded(base.sources[base.source[rows]], added.sources[added.source])
        stories, story = _recoded(base.stories[base.story[rows]], added.stories[added.story])
        kept = base._bounds[rows]
        records = _spans(base._records, kept, bytes(added._records))
        lengths = np.concatenate([kept[:, 1] - kept[:, 0],
                                  added._bounds[:, 1] - added._bounds[:, 0]])
        ends = np.cumsum(lengths)
        return cls(np.concatenate([base.ids[rows], added.ids]), articles, article, sources,
                   source, np.concatenate([base.day[rows], added.day]),
                   np.concatenate([base.start[rows], added.start]),
                   np.concatenate([base.end[rows], added.end]),
                   np.stack([ends - lengths, ends], axis=1).astype(np.int64), records,
                   stories, story)

    @classmethod
    def appended(cls, base: Corpus, chunks: list[Chunk]) -> Corpus:
        """Every row of `base`, then these chunks (of articles `base` does not hold): the
        base's records are not copied, and its columns only once each, so the cost grows with
        the chunks added, not the corpus (rag/snapshot.py, `Snapshot.appended`)."""
        added = cls.from_chunks(chunks)
        articles = np.concatenate([base.articles, added.articles])
        sources, source = _extended(base.sources, added.sources[added.source])
        stories, story = _extended(base.stories, added.stories[added.story])
        shift = len(base._records)
        corpus = cls(np.concatenate([base.ids, added.ids]), articles,
                     np.concatenate([base.article, added.article + len(base.articles)]),
                     sources, np.concatenate([base.source, source]),
                     np.concatenate([base.day, added.day]),
                     np.concatenate([base.start, added.start]),
                     np.concatenate([base.end, added.end]),
                     np.concatenate([base._bounds, added._bounds + shift]),
                     JoinedRecords(base._records, bytes(added._records)),
                     stories, np.concatenate([base.story, story]))
        corpus._extends = weakref.ref(base)
        if "_id_order" in base.__dict__:  # merge the sorted orders rather than sort anew
            corpus.__dict__["_id_order"] = _merged_order(base.ids, base._id_order,
                                                         added.ids, len(base))
        return corpus

    @classmethod
    def gathered(cls, parts: Sequence[tuple[Corpus, np.ndarray]]) -> Corpus:
        """These rows of each corpus, one corpus after another, columns and records copied as
        they are (a router's candidates from several partitions, rag/router.py)."""
        if not parts:
            return cls.from_chunks([])
        articles, article = _recoded_all([c.articles[c.article[r]] for c, r in parts])
        sources, source = _recoded_all([c.sources[c.source[r]] for c, r in parts])
        stories, story = _recoded_all([c.stories[c.story[r]] for c, r in parts])
        spans = [c._bounds[r] for c, r in parts]
        records = b"".join(c._records[begin:end] for (c, _), kept in zip(parts, spans, strict=True)
                           for begin, end in kept.tolist())
        lengths = np.concatenate([kept[:, 1] - kept[:, 0] for kept in spans])
        ends = np.cumsum(lengths)
        return cls(np.concatenate([c.ids[r] for c, r in parts]), articles, article, sources,
                   source, np.concatenate([c.day[r] for c, r in parts]),
                   np.concatenate([c.start[r] for c, r in parts]),
                   np.concatenate([c.end[r] for c, r in parts]),
                   np.stack([ends - lengths, ends], axis=1).astype(np.int64), records,
                   stories, story)

    def __len__(self) -> int:
        return len(self.ids)

    @overload
    def __getitem__(self, index: int) -> Chunk: ...

    @overload
    def __getitem__(self, index: slice) -> list[Chunk]: ...

    def __getitem__(self, index: int | slice) -> Chunk | list[Chunk]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        begin, end = self._bounds[index]
        return Chunk.model_validate_json(self._records[begin:end])

    def __iter__(self) -> Iterator[Chunk]:
        return (self[i] for i in range(len(self)))

    @cached_property
    def _id_order(self) -> np.ndarray:
        """The rows in the order of their chunk ids (a dict of every id would cost a hundred
        times the memory of this array)."""
        return np.argsort(self.ids, kind="stable")

    def positions(self, chunk_ids: Sequence[str]) -> np.ndarray:
        """The rows of these chunk ids, -1 for an id not held."""
        if not len(self) or not len(chunk_ids):
            return np.full(len(chunk_ids), -1, dtype=np.int64)
        wanted = np.asarray(chunk_ids, dtype=str)  # not cut to the held ids' width
        at = np.minimum(np.searchsorted(self.ids, wanted, sorter=self._id_order), len(self) - 1)
        rows = self._id_order[at]
        return np.where(self.ids[rows] == wanted, rows, -1).astype(np.int64)

    def position(self, chunk_id: str) -> int | None:
        """The row of a chunk id, or None when it is not held."""
        row = int(self.positions([chunk_id])[0])
        return row if row >= 0 else None

    @cached_property
    def newest_day(self) -> int | None:
        """The newest publication date's ordinal among the held chunks, None when none is
        dated (computed once a corpus: a snapshot's corpus never changes)."""
        newest = int(self.day.max()) if len(self) else -1
        return newest if newest >= 0 else None

    @cached_property
    def article_story(self) -> np.ndarray:
        """Each article code's story code (an article's chunks share one story)."""
        out = np.zeros(len(self.articles), dtype=np.int32)
        out[self.article] = self.story
        return out

    @cached_property
    def carrier_counts(self) -> np.ndarray:
        """Each story code's number of articles held."""
        return np.bincount(self.article_story, minlength=len(self.stories))

    @cached_property
    def _first_rows(self) -> np.ndarray:
        """Each article code's first row (where its metadata is read)."""
        rows = np.full(len(self.articles), len(self), dtype=np.int64)
        np.minimum.at(rows, self.article, np.arange(len(self), dtype=np.int64))
        return rows

    def carriers(self, story_id: str) -> list[Chunk]:
        """The first held chunk of each article carrying a story (its copies), for their
        metadata; none when the story is not held."""
        codes = np.flatnonzero(self.stories == story_id)
        if not codes.size:
            return []
        articles = np.flatnonzero(self.article_story == codes[0])
        return [self[int(self._first_rows[a])] for a in articles]

    def source_codes(self, names: Iterable[str]) -> np.ndarray:
        """The codes of these outlet names (names not held are left out)."""
        return np.flatnonzero(np.isin(self.sources, list(names)))

    def positions_holding(self, needle: bytes, first: int = 0) -> list[int]:
        """The rows from `first` on whose record (the chunk's JSON) contains `needle`, in
        order: one scan of the records, no record parsed."""
        found: list[int] = []
        if first >= len(self):
            return found
        begins = self._bounds[:, 0]
        at = self._records.find(needle, int(begins[first]))
        while at >= 0:
            row = int(np.searchsorted(begins, at, side="right")) - 1
            found.append(row)
            at = self._records.find(needle, int(self._bounds[row, 1]))
        return found

    def present_sources(self) -> set[str]:
        """Every outlet at least one held chunk names."""
        return {str(s) for s in self.sources[np.unique(self.source)] if s}

    def mask(self, filters: Filters | None) -> np.ndarray | None:
        """Which chunks the filters keep (None: all of them)."""
        if filters is None or filters.is_empty():
            return None
        keep = np.ones(len(self), dtype=bool)
        if sources := filters.sources():
            keep &= np.isin(self.source, self.source_codes(sources))
        if filters.article_ids:
            codes = np.flatnonzero(np.isin(self.articles, list(filters.article_ids)))
            keep &= np.isin(self.article, codes)
        if filters.published_from:
            keep &= self.day >= filters.published_from.toordinal()
        if filters.published_to:
            keep &= (self.day >= 0) & (self.day <= filters.published_to.toordinal())
        return keep

    def save(self, directory: Path) -> None:
        """Write the columns and the records into `directory` (which must exist)."""
        np.savez(directory / COLUMNS, ids=self.ids, articles=self.articles,
                 article=self.article, sources=self.sources, source=self.source, day=self.day,
                 start=self.start, end=self.end, bounds=self._bounds, stories=self.stories,
                 story=self.story)
        with (directory / RECORDS).open("wb") as file:
            for piece in (self._records.pieces if isinstance(self._records, JoinedRecords)
                          else (self._records,)):
                for block in (piece.blocks() if isinstance(piece, FileBytes) else (piece,)):
                    file.write(block)

    @classmethod
    def load(cls, directory: Path) -> Corpus:
        """What `save` wrote, read in place: the columns over a read-only memory map, the
        records a chunk's span at a time (`rag.file_reads`), so only what a question reads is
        loaded, and the pages of records it reads are not held in the process."""
        loaded = mapped_npz(directory / COLUMNS)
        path = directory / RECORDS
        records: Records = FileBytes(path) if path.stat().st_size else b""
        return cls(records=records, **loaded)


def _recoded(first: np.ndarray, second: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct values of both arrays, and each element's code into them."""
    values, codes = np.unique(np.concatenate([first, second]), return_inverse=True)
    return values, codes.astype(np.int32)


def _recoded_all(arrays: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Distinct values of all the arrays (in order of first appearance), and each element's
    code into them (a dictionary: the few hundred values of a search's candidates are coded
    faster than sorted)."""
    codes: dict[str, int] = {}
    found = [codes.setdefault(value, len(codes)) for array in arrays for value in array.tolist()]
    return _strings(list(codes)), np.array(found, dtype=np.int32)


def _strings(values: list[str]) -> np.ndarray:
    """A fixed-width unicode array: saved and loaded without pickle, compared vectorised."""
    return np.array(values, dtype=str) if values else np.zeros(0, dtype="<U1")


def _spans(records: Records, spans: np.ndarray, tail: bytes = b"") -> bytearray:
    """The bytes of these (begin, end) spans of `records`, joined, then `tail`: written into
    one buffer of their total size, a run of adjacent spans read `SPAN_BLOCK` bytes at a
    time (an update keeps most rows, in order: few reads, and no second copy of them)."""
    begins, ends = spans[:, 0], spans[:, 1]
    out = bytearray(int((ends - begins).sum()) + len(tail))
    view, at = memoryview(out), 0
    if not len(spans):
        runs = []
    elif isinstance(records, JoinedRecords):  # a span never crosses pieces, a run might
        runs = spans.tolist()
    else:
        breaks = (np.flatnonzero(begins[1:] != ends[:-1]) + 1).tolist()
        runs = [(int(begins[a]), int(ends[b - 1]))
                for a, b in zip([0, *breaks], [*breaks, len(spans)], strict=True)]
    for begin, end in runs:
        for first in range(begin, end, SPAN_BLOCK):
            block = records[first:min(end, first + SPAN_BLOCK)]
            view[at:at + len(block)] = block
            at += len(block)
    view[at:] = tail
    return out


class JoinedRecords:
    """Two record buffers read as one (a base's records as loaded and those appended to it),
    offsets into the second counting on from the end of the first."""

    def __init__(self, first: Records, second: bytes) -> None:
        self.pieces: tuple[bytes | bytearray | mmap.mmap | FileBytes, ...] = (
            (*first.pieces, second) if isinstance(first, JoinedRecords) else (first, second))
        self._starts = np.cumsum([0, *(len(piece) for piece in self.pieces)])

    def __len__(self) -> int:
        return int(self._starts[-1])

    def __getitem__(self, span: slice) -> bytes:
        """The bytes of one record's span (a span never crosses from one piece to the next)."""
        begin, end = int(span.start), int(span.stop)
        piece = int(np.searchsorted(self._starts, begin, side="right")) - 1
        offset = int(self._starts[piece])
        return bytes(self.pieces[piece][begin - offset : end - offset])

    def find(self, needle: bytes, start: int = 0) -> int:
        """The first offset at or after `start` where `needle` begins, -1 when none does."""
        for piece, offset in zip(self.pieces, self._starts.tolist(), strict=False):
            if start < offset + len(piece):
                at = piece.find(needle, max(start - offset, 0))
                if at >= 0:
                    return offset + at
        return -1


# What a corpus's records are read from: bytes in memory, a saved file, or both joined.
Records = bytes | bytearray | mmap.mmap | FileBytes | JoinedRecords


def _extended(values: np.ndarray, added: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`values` with those of `added` it lacks appended (in order of first appearance), and
    each element of `added`'s code into the result: the codes of `values` stay as they are."""
    distinct = list(dict.fromkeys(added.tolist()))
    if not len(values):
        found = [-1] * len(distinct)
    elif len(distinct) <= FEW:  # a comparison each beats sorting `values`
        found = [int(held[0]) if (held := np.flatnonzero(values == v)).size else -1
                 for v in distinct]
    else:
        order = np.argsort(values, kind="stable")
        at = np.minimum(np.searchsorted(values, distinct, sorter=order), len(values) - 1)
        rows = order[at]
        found = np.where(values[rows] == np.array(distinct, dtype=str), rows, -1).tolist()
    codes: dict[str, int] = {}
    fresh: list[str] = []
    for value, row in zip(distinct, found, strict=True):
        if row >= 0:
            codes[value] = row
        else:
            codes[value] = len(values) + len(fresh)
            fresh.append(value)
    extended = np.concatenate([values, _strings(fresh)]) if fresh else values
    return extended, np.array([codes[v] for v in added.tolist()], dtype=np.int32)


def _merged_order(ids: np.ndarray, order: np.ndarray, added: np.ndarray,
                  shift: int) -> np.ndarray:
    """The sorting order of `ids` then `added` (rows of `added` counted from `shift`), from
    `order`, the one of `ids`: the added ids sorted and inserted, the held ones not re-sorted."""
    own = np.argsort(added, kind="stable")
    at = np.searchsorted(ids, added[own], side="right", sorter=order)
    return np.insert(order, at, own + shift)
