"""A snapshot's sentence vectors read from the store by chunk id when a question asks for them,
the chunks read last kept in a bounded cache, instead of every chunk's held in the snapshot
(docs/operations.md, "Where texts and sentence vectors are kept").
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np

from rag.embeddings import DIMENSIONS
from rag.sentence_vectors import SentenceVectors, unpack

# What reads packed sentence vectors by chunk id: the ids held, each with its bytes
# (`rag.sentence_vectors.pack`); an id without any is left out.
Read = Callable[[Sequence[str]], Mapping[str, bytes]]
# The same read, its request sent at once and its answer given by the function returned.
ReadLater = Callable[[Sequence[str]], Callable[[], Mapping[str, bytes]]]


class PackedCache:
    """Packed sentence vectors by chunk id, the `size` used last kept (least recently used
    dropped first), over `read` for the others. Safe across threads: the read happens outside
    the lock, so one slow read does not hold up the questions answered from the cache."""

    def __init__(self, read: Read, size: int, read_later: ReadLater | None = None) -> None:
        """`size`: how many chunks' vectors are kept (0: none, every question reads);
        `read_later`: `read` sent at once, answered later (default: `read` at once)."""
        if size < 0:
            raise ValueError("a cache size is at least 0")
        self._read, self.size = read, size
        self._read_later = read_later
        self._held: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._held)

    def get(self, chunk_ids: Sequence[str]) -> dict[str, bytes]:
        """The packed vectors of these chunks (those without any are left out: stored without
        them, or deleted since). Raises what `read` raises."""
        found, missing = self._held_of(chunk_ids)
        if not missing:
            return found
        return self._kept(found, self._read(missing))

    def get_later(self, chunk_ids: Sequence[str]) -> Callable[[], dict[str, bytes]]:
        """`get`, the chunks not held asked for now and the returned function giving the
        answer (so that several stores' reads overlap; as `get` when made without
        `read_later`). The returned function raises what `read_later`'s does."""
        found, missing = self._held_of(chunk_ids)
        if not missing:
            return lambda: found
        if self._read_later is None:
            read = self._read(missing)
            return lambda: self._kept(found, read)
        pending = self._read_later(missing)
        return lambda: self._kept(found, pending())

    def _held_of(self, chunk_ids: Sequence[str]) -> tuple[dict[str, bytes], list[str]]:
        """The vectors held of these chunks, and the chunks not held (each once)."""
        found: dict[str, bytes] = {}
        with self._lock:
            for chunk_id in chunk_ids:
                if (packed := self._held.get(chunk_id)) is not None:
                    self._held.move_to_end(chunk_id)
                    found[chunk_id] = packed
        return found, [i for i in dict.fromkeys(chunk_ids) if i not in found]

    def _kept(self, found: dict[str, bytes], read: Mapping[str, bytes]) -> dict[str, bytes]:
        """`found` with what was `read`, which the cache keeps."""
        found.update(read)
        if self.size:
            with self._lock:
                for chunk_id, packed in read.items():
                    self._held[chunk_id] = packed
                    self._held.move_to_end(chunk_id)
                while len(self._held) > self.size:
                    self._held.popitem(last=False)
        return found

    def forget(self, chunk_ids: Sequence[str]) -> None:
        """Drop these chunks' vectors (rewritten or deleted by this process)."""
        with self._lock:
            for chunk_id in chunk_ids:
                self._held.pop(chunk_id, None)


class StoredSentences:
    """The sentence vectors of a snapshot's rows, read by chunk id (`ids[row]`) from the store
    for the rows a question asks about. The same answers as `SentenceVectors` over every row:
    the asked rows' vectors are unpacked into one and asked the same way. A failed read of the
    store (a Chroma server out of reach) raises what the store raised."""

    def __init__(self, read: Read, ids: np.ndarray | Sequence[str], held: bool,
                 dimensions: int = DIMENSIONS, read_later: ReadLater | None = None) -> None:
        """`read`: packed vectors by chunk id (a `PackedCache`'s `get`); `ids`: each row's
        chunk id; `held`: whether the store holds any chunk's sentence vectors;
        `read_later`: `read` sent at once and answered later (its `get_later`)."""
        self._read, self._ids, self._held = read, ids, held
        self._dimensions = dimensions
        self._read_later = read_later

    @classmethod
    def none(cls, rows: int = 0) -> StoredSentences:
        """`rows` rows without sentence vectors."""
        return cls(lambda ids: {}, np.full(rows, "", dtype=str), held=False)

    def __len__(self) -> int:
        return len(self._ids)

    @property
    def held(self) -> bool:
        """Whether the store holds any chunk's sentence vectors (when it holds none, the
        re-ranker reads nothing here)."""
        return self._held

    def read(self, positions: Iterable[int]) -> None:
        """Read these rows' vectors in one request, so that the cache holds them when their
        cosines are asked one row at a time (nothing is kept without a cache)."""
        ids = list(dict.fromkeys(str(self._ids[p]) for p in positions))
        if ids:
            self._read(ids)

    def rows(self, positions: Sequence[int] | np.ndarray) -> SentenceVectors:
        """These rows' sentence vectors, in this order (a row of a chunk without any, or deleted
        since the snapshot, has none)."""
        ids = [str(self._ids[p]) for p in np.asarray(positions, dtype=np.int64).tolist()]
        packed = self._read(ids) if ids else {}
        return SentenceVectors.from_packed((packed.get(i) for i in ids), self._dimensions)

    def rows_later(self, positions: Sequence[int] | np.ndarray
                   ) -> Callable[[], SentenceVectors]:
        """`rows`, the store asked now and the returned function giving the vectors (so that
        several stores answer at once: rag/router.py); raises what the read raises."""
        ids = [str(self._ids[p]) for p in np.asarray(positions, dtype=np.int64).tolist()]
        if not ids or self._read_later is None:
            vectors = self.rows(positions)
            return lambda: vectors
        pending = self._read_later(ids)
        return lambda: SentenceVectors.from_packed(
            (packed.get(i) for packed in (pending(),) for i in ids), self._dimensions)

    def best_cosines(self, positions: Sequence[int], queries: np.ndarray) -> np.ndarray:
        """`SentenceVectors.best_cosines` of these rows."""
        return self.rows(positions).best_cosines(np.arange(len(positions)), queries)

    def cosines(self, position: int, query: np.ndarray) -> np.ndarray:
        """`SentenceVectors.cosines` of a row (the same product, on its vectors alone)."""
        chunk_id = str(self._ids[position])
        packed = self._read([chunk_id]).get(chunk_id)
        if not packed:
            return np.zeros(0, dtype=np.float32)
        codes, scales = unpack(packed, self._dimensions)
        return np.einsum("ij,j->i", codes.astype(np.float32), query) * scales
