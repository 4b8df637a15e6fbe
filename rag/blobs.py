"""Byte strings by id that nothing searches or filters (article texts, chunks' sentence vectors):
beside an embedded store a SQLite table of raw bytes, on a Chroma server a collection of their
own (docs/operations.md, "Where texts and sentence vectors are kept").
"""

from __future__ import annotations

import base64
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Protocol

import chromadb

from rag.pending_reads import LaterGets

# Ids a read or a write sends at once (under SQLite's and Chroma's limits on both backends).
BATCH = 5000
PACKED = "packed"
PAGE_BYTES = 65536
# Reads of a SQLite file go through a memory map of up to this many bytes (SQLite's own cap):
# a row read then costs no copy of its whole 64 KB page (docs/benchmarks.md, "Sentence vectors
# read from the store"). Writes still go through SQLite's own pages.
MMAP_BYTES = 0x7FFF0000


class Blobs(Protocol):
    """Byte strings by id, of one kind."""

    def put(self, rows: Sequence[tuple[str, bytes]]) -> None:
        """Write these ids' bytes, replacing any held for the same ids."""

    def get(self, ids: Sequence[str]) -> dict[str, bytes]:
        """The bytes held for these ids (ids without any are left out)."""

    def get_later(self, ids: Sequence[str]) -> Callable[[], dict[str, bytes]]:
        """`get`, its request sent now and its answer read by the returned function (so that
        several servers can be asked at once from one thread; answered at once where no
        server is asked)."""

    def delete(self, ids: Sequence[str]) -> None:
        """Forget these ids (ids not held are ignored)."""

    def ids(self) -> Iterator[str]:
        """Every id held, in no particular order."""

    def count(self) -> int:
        """How many ids are held."""

    def holds_any(self) -> bool:
        """Whether any id is held (one row read, where `count` may read every id)."""


class SqliteBlobs:
    """A table `<kind>(id, bytes)` in a SQLite file, in large pages so that rows of a few
    kilobytes pack densely: each id costs little more than its bytes and its key; read through
    a memory map. Safe across threads of one process (one connection, a lock) and across
    processes (SQLite's own locking, write-ahead log)."""

    def __init__(self, path: Path, kind: str) -> None:
        if not kind.isidentifier():
            raise ValueError(f"not a table name: {kind!r}")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path, self.kind = path, kind
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, timeout=60.0,
                                   isolation_level=None)
        self._db.execute(f"PRAGMA page_size={PAGE_BYTES}")  # takes effect on a new file only
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(f"PRAGMA mmap_size={MMAP_BYTES}")
        self._db.execute(f"CREATE TABLE IF NOT EXISTS {kind} "
                         "(id TEXT PRIMARY KEY, bytes BLOB NOT NULL)")

    def put(self, rows: Sequence[tuple[str, bytes]]) -> None:
        with self._lock, self._db:  # one transaction: all rows or none
            self._db.execute("BEGIN")
            self._db.executemany(f"INSERT OR REPLACE INTO {self.kind} VALUES (?, ?)", rows)

    def get(self, ids: Sequence[str]) -> dict[str, bytes]:
        found: dict[str, bytes] = {}
        with self._lock:
            for batch in _batches(ids):
                marks = ",".join("?" * len(batch))
                found.update(self._db.execute(
                    f"SELECT id, bytes FROM {self.kind} WHERE id IN ({marks})", batch))
        return found

    def get_later(self, ids: Sequence[str]) -> Callable[[], dict[str, bytes]]:
        found = self.get(ids)
        return lambda: found

    def delete(self, ids: Sequence[str]) -> None:
        with self._lock, self._db:
            self._db.execute("BEGIN")
            self._db.executemany(f"DELETE FROM {self.kind} WHERE id = ?", [(i,) for i in ids])

    def ids(self) -> Iterator[str]:
        with self._lock:
            held = [row[0] for row in self._db.execute(f"SELECT id FROM {self.kind}")]
        return iter(held)

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute(f"SELECT count(*) FROM {self.kind}").fetchone()[0])

    def holds_any(self) -> bool:
        with self._lock:
            return self._db.execute(f"SELECT 1 FROM {self.kind} LIMIT 1").fetchone() is not None

    def close(self) -> None:
        with self._lock:
            self._db.close()


class ChromaBlobs:
    """A collection of one record an id: the bytes as base64 text in its metadata, beside a
    constant one-dimensional vector (Chroma wants one). What replicas of a Chroma server share;
    an object store would hold the bytes for less (this class is the adapter point)."""

    def __init__(self, client: chromadb.ClientAPI, name: str) -> None:
        self._collection = client.get_or_create_collection(name, embedding_function=None)
        self._gets = LaterGets(client, lambda: self._collection, BATCH)  # `get_later`'s

    def put(self, rows: Sequence[tuple[str, bytes]]) -> None:
        for begin in range(0, len(rows), BATCH):
            part = rows[begin : begin + BATCH]
            self._collection.upsert(
                ids=[i for i, _ in part], embeddings=[[1.0]] * len(part),
                metadatas=[{PACKED: base64.b64encode(p).decode("ascii")} for _, p in part])

    def get(self, ids: Sequence[str]) -> dict[str, bytes]:
        found: dict[str, bytes] = {}
        for batch in _batches(ids):
            got = self._collection.get(ids=batch, include=["metadatas"])
            found.update((i, base64.b64decode(str(m[PACKED])))
                         for i, m in zip(got["ids"], got["metadatas"], strict=True))
        return found

    def get_later(self, ids: Sequence[str]) -> Callable[[], dict[str, bytes]]:
        """On a Chroma server the request goes out over a connection of its own
        (`rag.pending_reads.LaterGets`); one that cannot be sent or answered is asked again
        through Chroma's client, which raises what it raises."""
        return self._gets.later(
            list(ids), ["metadatas"],
            lambda got: {i: base64.b64decode(str(m[PACKED]))
                         for i, m in zip(got["ids"], got["metadatas"], strict=True)},
            lambda: self.get(ids))

    def delete(self, ids: Sequence[str]) -> None:
        for batch in _batches(ids):
            self._collection.delete(ids=batch)

    def ids(self) -> Iterator[str]:
        offset = 0
        while True:
            page = self._collection.get(include=[], limit=BATCH, offset=offset)["ids"]
            yield from page
            if len(page) < BATCH:
                return
            offset += BATCH

    def count(self) -> int:
        return self._collection.count()

    def holds_any(self) -> bool:
        return bool(self._collection.get(include=[], limit=1)["ids"])


def _batches(ids: Sequence[str]) -> Iterator[list[str]]:
    for begin in range(0, len(ids), BATCH):
        yield list(ids[begin : begin + BATCH])
