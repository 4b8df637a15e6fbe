"""Byte strings by id beside the store: a SQLite table for an embedded store, a collection of
their own on a Chroma server; both behave alike."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import chromadb
import pytest
from chromadb.config import Settings as ChromaSettings

from rag.blobs import BATCH, Blobs, ChromaBlobs, SqliteBlobs


@pytest.fixture(params=["sqlite", "chroma"])
def blobs(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Blobs]:
    if request.param == "sqlite":
        held = SqliteBlobs(tmp_path / "blobs.sqlite3", "sentence_vectors")
        yield held
        held.close()
    else:
        client = chromadb.PersistentClient(path=str(tmp_path / "chroma"),
                                           settings=ChromaSettings(anonymized_telemetry=False))
        yield ChromaBlobs(client, "news_sentences")


def test_bytes_round_trip_and_a_put_replaces(blobs: Blobs) -> None:
    assert not blobs.holds_any()
    blobs.put([("a:0", b"\x00\x01\xff"), ("a:1", b"")])
    assert blobs.holds_any()
    blobs.put([("a:0", bytes(range(256)))])
    assert blobs.get(["a:0", "a:1", "missing"]) == {"a:0": bytes(range(256)), "a:1": b""}
    assert blobs.count() == 2 and sorted(blobs.ids()) == ["a:0", "a:1"]


def test_delete_forgets_only_the_ids_named(blobs: Blobs) -> None:
    blobs.put([(f"a:{n}", bytes([n])) for n in range(3)])
    blobs.delete(["a:1", "never-held"])
    assert blobs.get(["a:0", "a:1", "a:2"]) == {"a:0": b"\x00", "a:2": b"\x02"}
    assert blobs.count() == 2


def test_reads_and_writes_past_one_batch(blobs: Blobs) -> None:
    rows = [(f"c:{n}", n.to_bytes(3, "big")) for n in range(BATCH + 7)]
    blobs.put(rows)
    assert blobs.get([i for i, _ in rows]) == dict(rows)
    assert blobs.count() == len(rows) and len(set(blobs.ids())) == len(rows)
    blobs.delete([i for i, _ in rows[: BATCH + 1]])
    assert blobs.count() == 6
    blobs.delete([i for i, _ in rows])
    assert not blobs.holds_any()


def test_sqlite_rows_are_seen_by_a_second_handle_and_across_threads(tmp_path: Path) -> None:
    path = tmp_path / "blobs.sqlite3"
    writer, reader = SqliteBlobs(path, "sentence_vectors"), SqliteBlobs(path, "sentence_vectors")
    threads = [threading.Thread(target=writer.put, args=([(f"t{n}:{k}", b"x" * k)
                                                          for k in range(50)],))
               for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert reader.count() == 200 and reader.get(["t3:49"]) == {"t3:49": b"x" * 49}
    writer.close()
    reader.close()


def test_sqlite_keeps_kinds_apart_and_refuses_a_name_that_is_not_one(tmp_path: Path) -> None:
    path = tmp_path / "blobs.sqlite3"
    first, second = SqliteBlobs(path, "first"), SqliteBlobs(path, "second")
    first.put([("x", b"1")])
    assert second.get(["x"]) == {} and first.get(["x"]) == {"x": b"1"}
    with pytest.raises(ValueError, match="not a table name"):
        SqliteBlobs(path, "vectors; DROP TABLE first")
