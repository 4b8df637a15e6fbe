"""Article records without their vectors: a new store keeps them with a 1-d constant; a store
written before (384-d records in `<prefix>_articles`) is read and written as it is, and
`rag migrate` moves every record, id, document and metadata, to the new collection, finishing
a move stopped after any of its steps without losing or resurrecting an article."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from earlier_layout import open_as_earlier_release

from api.cli import main
from index.pipeline import Ingestor
from processes import CHROMA, chroma_servers
from rag.article_records import CURRENT, LEGACY, MOVING, copy_records, drop_legacy, switch
from rag.config import Settings
from rag.embeddings import Encoder
from rag.migration import migrate
from rag.store import Store, connect
from support import EXAMPLES

LATE = ("Harbour pilots in Port Averin voted on Tuesday to join the strike, the union said. "
        "The vote was close, and ships waited outside the breakwater overnight.")


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """An embedded store of the test's own, which `rag` commands run here open too."""
    monkeypatch.setenv("RAG_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("RAG_API_KEY", raising=False)
    return Settings(data_dir=tmp_path / "var", _env_file=None)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One `chroma run` on a free loopback port, stopped at the end."""
    with chroma_servers(tmp_path_factory.mktemp("records-server")) as (url,):
        yield url


def records(settings: Settings, suffix: str) -> dict[str, Any]:
    """Every record of the store's `<prefix><suffix>` collection: id -> (document, metadata,
    vector)."""
    got = connect(settings).get_collection(settings.collection + suffix).get(
        include=["documents", "metadatas", "embeddings"])
    return {i: (d, m, tuple(np.asarray(v).tolist())) for i, d, m, v in
            zip(got["ids"], got["documents"], got["metadatas"], got["embeddings"], strict=True)}


def collections(settings: Settings) -> set[str]:
    """The names of the store's article record collections that exist."""
    names = {c.name for c in connect(settings).list_collections()}
    return {s for s in (CURRENT, LEGACY, MOVING) if settings.collection + s in names}


def index_folders(settings: Settings) -> tuple[set[str], set[str]]:
    """The index folders beside the embedded store's Chroma database, and the segment ids its
    database lists."""
    chroma = settings.data_dir / "chroma"
    with contextlib.closing(sqlite3.connect(chroma / "chroma.sqlite3")) as db:
        listed = {str(row[0]) for row in db.execute("SELECT id FROM segments")}
    return {p.name for p in chroma.iterdir() if p.is_dir()}, listed


def listed(store: Store) -> dict[str, tuple[Any, ...]]:
    """What reads of the store give for each article: metadata, text, chunks (with text)."""
    return {a: (store.article_metadata(a), store.get_article(a).text,
                [(c.id, c.text, c.title) for c in store.chunks_of(a)])
            for a in store.article_ids()}


def write_late(store: Store, encoder: Encoder, settings: Settings, folder: Path) -> str:
    """Index one more article through `store`; returns its id."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pilots.txt").write_text(LATE)
    before = set(store.article_ids())
    Ingestor(store, encoder, settings).ingest_paths([folder])
    (added,) = set(store.article_ids()) - before
    return added


def test_a_new_store_keeps_its_article_records_with_a_constant(
        settings: Settings, encoder: Encoder) -> None:
    store = Store.open(settings)
    Ingestor(store, encoder, settings).ingest_paths([EXAMPLES])
    assert collections(settings) == {CURRENT}
    held = records(settings, CURRENT)
    assert len(held) == store.article_count() > 3
    assert {vector for _, _, vector in held.values()} == {(1.0,)}
    assert store.article_collection == settings.collection + CURRENT


def test_an_earlier_store_is_used_as_it_is_then_migrated_whole(
        settings: Settings, encoder: Encoder, tmp_path: Path,
        capsys: pytest.CaptureFixture) -> None:
    store = open_as_earlier_release(settings)
    Ingestor(store, encoder, settings).ingest_paths([EXAMPLES])
    # Read and written unmigrated: a correction, a deletion, a new article, all 384-d.
    first, second = store.article_ids()[:2]
    store.update_metadata(first, {"title": "Corrected title"})
    store.delete_article(second)
    late = write_late(store, encoder, settings, tmp_path / "late")
    assert collections(settings) == {LEGACY}
    earlier = records(settings, LEGACY)
    assert second not in earlier and late in earlier
    assert {len(vector) for _, _, vector in earlier.values()} == {384}
    assert store.article_metadata(first)["title"] == "Corrected title"
    read = listed(store)
    assert len(read) == len(earlier)
    folders, _ = index_folders(settings)

    assert main(["migrate"]) == 0
    assert f"moved {len(earlier)} article records" in capsys.readouterr().out
    assert collections(settings) == {CURRENT}
    moved = records(settings, CURRENT)
    assert {i: (d, m) for i, (d, m, _) in moved.items()} == \
        {i: (d, m) for i, (d, m, _) in earlier.items()}
    assert {vector for _, _, vector in moved.values()} == {(1.0,)}
    # The earlier records' index folder went with them.
    after, segments = index_folders(settings)
    assert after <= segments and len(folders - after) == 1
    # The handle opened before the move reads the moved collection; a new one too.
    assert listed(store) == read and store.article_collection.endswith(CURRENT)
    reopened = Store.open(settings)
    assert listed(reopened) == read and reopened.article_collection.endswith(CURRENT)
    reopened.delete_article(late)
    assert write_late(reopened, encoder, settings, tmp_path / "again") == late
    assert records(settings, CURRENT)[late][2] == (1.0,)

    assert main(["migrate"]) == 0
    assert "moved 0 article records" in capsys.readouterr().out


@pytest.mark.parametrize("stopped", ["while copying", "after copying", "after switching",
                                     "after dropping"])
def test_a_stopped_migration_is_finished_by_the_next_run(
        settings: Settings, encoder: Encoder, tmp_path: Path, stopped: str,
        capsys: pytest.CaptureFixture) -> None:
    store = open_as_earlier_release(settings)
    Ingestor(store, encoder, settings).ingest_paths([EXAMPLES])
    client, prefix = connect(settings), settings.collection
    everything = records(settings, LEGACY)
    # What a `rag migrate` killed at that point leaves.
    copy_records(client, prefix)
    if stopped == "while copying":
        moving = client.get_collection(prefix + MOVING)
        copied = moving.get(include=[])["ids"]
        moving.delete(ids=copied[len(copied) // 2:])
    if stopped in ("after switching", "after dropping"):
        switch(client, prefix)
        assert collections(settings) == {CURRENT, LEGACY}
    if stopped == "after dropping":
        drop_legacy(client, prefix)  # the earlier index folder left to the next run
        assert collections(settings) == {CURRENT}
        folders, segments = index_folders(settings)
        assert folders - segments
    elif stopped != "after switching":
        assert collections(settings) == {LEGACY, MOVING}
    # Every article stays visible, once, to a store opened now, which writes on meanwhile.
    reopened = Store.open(settings)
    assert sorted(reopened.article_ids()) == sorted(everything)
    gone = reopened.article_ids()[0]
    reopened.delete_article(gone)
    late = write_late(reopened, encoder, settings, tmp_path / "late")
    read = listed(reopened)
    assert gone not in read and late in read

    assert main(["migrate"]) == 0
    capsys.readouterr()
    assert collections(settings) == {CURRENT}
    moved = records(settings, CURRENT)
    assert set(moved) == set(everything) - {gone} | {late}
    assert {vector for _, _, vector in moved.values()} == {(1.0,)}
    kept = {i: (d, m) for i, (d, m, _) in everything.items() if i != gone}
    assert {i: (d, m) for i, (d, m, _) in moved.items() if i != late} == kept
    assert listed(Store.open(settings)) == read
    folders, segments = index_folders(settings)
    assert folders <= segments


@pytest.mark.slow
@pytest.mark.skipif(not CHROMA.exists(), reason=f"the `chroma` executable is missing ({CHROMA})")
def test_a_server_store_migrates_beside_a_replica(server: str, encoder: Encoder,
                                                  tmp_path: Path) -> None:
    fresh = Settings(data_dir=tmp_path / "fresh", chroma_url=server, collection="fresh",
                     _env_file=None)
    Ingestor(Store.open(fresh), encoder, fresh).ingest_paths([EXAMPLES])
    assert collections(fresh) == {CURRENT}
    assert {vector for _, _, vector in records(fresh, CURRENT).values()} == {(1.0,)}

    settings = Settings(data_dir=tmp_path / "writer", chroma_url=server, collection="earlier",
                        _env_file=None)
    store = open_as_earlier_release(settings)
    Ingestor(store, encoder, settings).ingest_paths([EXAMPLES])
    replica = Store.open(settings.model_copy(update={"data_dir": tmp_path / "replica"}))
    earlier = records(settings, LEGACY)
    assert {len(vector) for _, _, vector in earlier.values()} == {384}
    read = listed(replica)
    ids = sorted(read)
    # The replica's article checks on the server go to the earlier collection.
    assert replica.existing_ids_later([*ids, "missing"])() == set(ids)
    # A migration stopped after the switch: the replica, opened before, reads on.
    copy_records(connect(settings), settings.collection)
    switch(connect(settings), settings.collection)
    assert listed(replica) == read

    done = migrate(store, settings)
    assert done.article_records == len(earlier) and done.bytes_after is None
    assert collections(settings) == {CURRENT}
    moved = records(settings, CURRENT)
    assert {i: (d, m) for i, (d, m, _) in moved.items()} == \
        {i: (d, m) for i, (d, m, _) in earlier.items()}
    assert {vector for _, _, vector in moved.values()} == {(1.0,)}
    assert listed(replica) == read and replica.article_collection.endswith(CURRENT)
    # Its checks, asked of the dropped collection, are answered by the one it moved to.
    for _ in range(2):
        assert replica.existing_ids_later([*ids, "missing"])() == set(ids)
    late = write_late(replica, encoder, settings, tmp_path / "late")
    assert records(settings, CURRENT)[late][2] == (1.0,)
    assert migrate(store, settings).article_records == 0
