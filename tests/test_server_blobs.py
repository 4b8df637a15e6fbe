"""What a store on a real Chroma server (`chroma run` on 127.0.0.1) keeps beside its chunks, each
store a collection of its own: sentence vectors read by chunk id give the cosines the arrays
snapshots held, to the bit, and a chunk another replica deleted since reads as one without any,
nor is its article cited; chunk layouts and signatures read back the same, and a store written
before them migrates in place (no compaction there)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from earlier_layout import write_as_earlier_release

from index.pipeline import Ingestor
from processes import CHROMA, chroma_servers
from rag.blobs import ChromaBlobs
from rag.config import Settings
from rag.embeddings import Encoder, embed_with_parts, text_encoder_for
from rag.migration import migrate
from rag.retrieve import Retriever
from rag.sentence_vectors import SentenceVectors
from rag.snapshot import Snapshot
from rag.store import Store
from support import EXAMPLES

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not CHROMA.exists(),
                                 reason=f"the `chroma` executable is missing ({CHROMA})")]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One `chroma run` on a free loopback port, stopped at the end."""
    with chroma_servers(tmp_path_factory.mktemp("blobs-server")) as (url,):
        yield url


def test_a_replica_reads_a_questions_rows_from_the_server(
        server: str, encoder: Encoder, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "writer", chroma_url=server, _env_file=None)
    writer = Store.open(settings)
    assert isinstance(writer.sentences, ChromaBlobs) and not writer.holds_sentence_vectors()
    Ingestor(writer, encoder, settings).ingest_paths([EXAMPLES])
    replica = Store.open(settings.model_copy(update={"data_dir": tmp_path / "replica",
                                                     "sentence_cache": 0}))
    snapshot = Snapshot.build(replica, replica.revision())
    ids = [str(i) for i in snapshot.corpus.ids]
    packed = replica.sentences.get(ids)
    held = SentenceVectors.from_packed(packed.get(i) for i in ids)  # what format 6 held
    assert snapshot.sentences.held and len(packed) == len(ids) > 5
    vector, parts = embed_with_parts(encoder, "Who walked off the job, and why?", [(0, 20)])
    asked = np.vstack([vector[None, :], parts]).astype(np.float32)
    every = list(range(len(ids)))
    before = snapshot.sentences.best_cosines(every, asked)
    np.testing.assert_array_equal(before, held.best_cosines(every, asked))
    for row in every:
        np.testing.assert_array_equal(snapshot.sentences.cosines(row, asked[0]),
                                      held.cosines(row, asked[0]))
    # The writer deletes an article; the replica's snapshot still has its rows.
    gone = snapshot.corpus[0].article_id
    rows = [r for r in every if snapshot.corpus[r].article_id == gone]
    assert writer.delete_article(gone) == len(rows) and before[rows].any()
    after = snapshot.sentences.best_cosines(every, asked)
    np.testing.assert_array_equal(after[rows], 0.0)
    kept = [r for r in every if r not in rows]
    np.testing.assert_array_equal(after[kept], before[kept])
    assert snapshot.sentences.cosines(rows[0], asked[0]).size == 0


def test_a_server_store_keeps_layouts_apart_and_migrates_an_earlier_one(
        server: str, encoder: Encoder, tmp_path: Path) -> None:
    # Collections of their own on the module's server.
    settings = Settings(data_dir=tmp_path / "writer", chroma_url=server, collection="layouts",
                        _env_file=None)
    store = Store.open(settings)
    assert isinstance(store.layouts, ChromaBlobs) and isinstance(store.signatures, ChromaBlobs)
    Ingestor(store, encoder, settings).ingest_paths([EXAMPLES])
    chunks = [c for page, _ in store.committed_pages() for c in page]
    assert any(c.statements for c in chunks) and store.layouts.count() == store.article_count()
    raw = store._chunks.get(ids=[c.id for c in chunks], include=["metadatas"])["metadatas"]
    assert all(set(m) <= {"article_id", "source", "published_day", "story_id"} for m in raw)
    said = [(c.id, c.sentences, c.speakers, c.statements) for c in chunks]

    ids, signatures = write_as_earlier_release(store)
    assert len(ids) == len(chunks) and signatures and store.layouts.count() == 0
    replica = Store.open(settings.model_copy(update={"data_dir": tmp_path / "replica"}))
    assert [c for page, _ in replica.committed_pages() for c in page] == chunks

    done = migrate(store, settings)
    assert (done.layouts, done.signatures) == (len(ids), len(signatures))
    assert done.bytes_before is None and done.bytes_after is None
    raw = store._chunks.get(ids=ids, include=["metadatas"])["metadatas"]
    assert all(set(m) <= {"article_id", "source", "published_day", "story_id"} for m in raw)
    moved = [c for page, _ in replica.committed_pages() for c in page]
    assert moved == chunks
    assert [(c.id, c.sentences, c.speakers, c.statements) for c in moved] == said
    assert replica.article_signatures(replica.article_ids()) == signatures
    assert migrate(store, settings).moved is False


@pytest.mark.parametrize("depth", [30, 0], ids=["re-ranked", "not re-ranked"])
def test_an_article_another_replica_deleted_is_not_cited_before_the_snapshot_follows(
        server: str, encoder: Encoder, tmp_path: Path, depth: int) -> None:
    settings = Settings(data_dir=tmp_path / "writer", chroma_url=server, _env_file=None,
                        collection=f"deleted{depth}", snapshot_refresh_seconds=3600.0,
                        rerank_depth=depth)
    writer = Store.open(settings)
    Ingestor(writer, encoder, settings).ingest_paths([EXAMPLES])
    replica = Store.open(settings.model_copy(update={"data_dir": tmp_path / "replica"}))
    asked: list[list[str]] = []
    ask_later = replica.existing_ids_later
    replica.existing_ids_later = lambda ids: asked.append(ids) or ask_later(ids)
    search = Retriever(replica, text_encoder_for(settings, encoder), settings)
    question = "How many dockworkers walked off the job in the Port Averin strike?"
    first = search.search(question, top_k=10).hits[0].chunk
    # One request asks which articles are still stored: sent with the re-scored passages'
    # sentence vectors when re-ranked (the server answers while the re-ranker works), else
    # when the hits are chosen.
    assert len(asked) == 1 and first.article_id in asked[0]
    assert writer.delete_article(first.article_id)
    hits = search.search(question, top_k=10).hits
    assert hits and first.article_id not in {h.chunk.article_id for h in hits}
    assert search.refresh().revision != writer.revision()  # the snapshot has not followed
