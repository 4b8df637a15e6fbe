"""Sentence vectors read by chunk id from a real Chroma server (`chroma run` on 127.0.0.1), where
the sentence store is a collection of its own: the same cosines to the bit as the arrays
snapshots held, and a chunk another replica deleted since reads as one without any."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from index.pipeline import Ingestor
from processes import CHROMA, chroma_servers
from rag.blobs import ChromaBlobs
from rag.config import Settings
from rag.embeddings import Encoder, embed_with_parts
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
    with chroma_servers(tmp_path_factory.mktemp("sentences-server")) as (url,):
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
