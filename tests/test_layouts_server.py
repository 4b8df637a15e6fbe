"""Chunk layouts and signatures on a real Chroma server (`chroma run` on 127.0.0.1), where their
stores are collections of their own: chunks read back the same, and a store written before them
migrates in place (no compaction there)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from earlier_layout import write_as_earlier_release

from index.pipeline import Ingestor
from processes import CHROMA, chroma_servers
from rag.blobs import ChromaBlobs
from rag.config import Settings
from rag.embeddings import Encoder
from rag.migration import migrate
from rag.store import Store
from support import EXAMPLES

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not CHROMA.exists(),
                                 reason=f"the `chroma` executable is missing ({CHROMA})")]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One `chroma run` on a free loopback port, stopped at the end."""
    with chroma_servers(tmp_path_factory.mktemp("layouts-server")) as (url,):
        yield url


def test_a_server_store_keeps_layouts_apart_and_migrates_an_earlier_one(
        server: str, encoder: Encoder, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "writer", chroma_url=server, _env_file=None)
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
