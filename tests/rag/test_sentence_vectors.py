"""Sentence vectors: packed beside the chunks, held by the snapshot, read by the re-ranker."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from api.services import Services
from index.load import Document
from rag.embeddings import Encoder, OnnxMiniLM, embed_with_parts
from rag.schemas import Chunk
from rag.sentence_vectors import (
    SentenceVectors,
    embed_sentences,
    pack,
    sentence_texts,
    unpack,
)
from support import make_services


def unit_rows(count: int, seed: int) -> np.ndarray:
    rows = np.random.default_rng(seed).normal(size=(count, 384)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_packed_vectors_keep_their_cosines_within_a_few_thousandths() -> None:
    vectors, query = unit_rows(12, seed=1), unit_rows(1, seed=2)[0]
    codes, scales = unpack(pack(vectors))
    assert codes.dtype == np.int8 and codes.shape == (12, 384)
    np.testing.assert_allclose((codes @ query) * scales, vectors @ query, atol=0.003)
    assert unpack(pack(np.zeros((0, 384))))[0].shape == (0, 384)
    with pytest.raises(ValueError, match="wrong length"):
        unpack(pack(vectors)[:-4])


def test_best_cosines_take_each_chunks_best_sentence_and_zero_without_any() -> None:
    first, second = unit_rows(3, seed=3), unit_rows(2, seed=4)
    held = SentenceVectors.from_packed([pack(first), None, pack(second)])
    assert len(held) == 3 and held.held and held.offsets.tolist() == [0, 3, 3, 5]
    queries = unit_rows(2, seed=5)
    best = held.best_cosines([2, 1, 0], queries)
    np.testing.assert_allclose(best[0], (second @ queries.T).max(axis=0), atol=0.003)
    np.testing.assert_array_equal(best[1], [0.0, 0.0])
    np.testing.assert_allclose(best[2], (first @ queries.T).max(axis=0), atol=0.003)
    assert not SentenceVectors.from_packed([None, None]).held


def test_vectors_round_trip_through_files(tmp_path: Path) -> None:
    parts = [unit_rows(n, seed=n) for n in (2, 4, 1)]
    held = SentenceVectors.from_packed(pack(p) for p in parts)
    assert held.offsets.tolist() == [0, 2, 6, 7]
    held.save(tmp_path)
    loaded = SentenceVectors.load(tmp_path, chunks=3)
    for name in ("codes", "scales", "offsets"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(held, name))
    with pytest.raises(ValueError, match="do not match"):
        SentenceVectors.load(tmp_path, chunks=4)


class Recording:
    """The real encoder, remembering what it was asked to embed."""

    def __init__(self, encoder: Encoder) -> None:
        self.encoder, self.asked = encoder, []
        self.name, self.dimensions = encoder.name, encoder.dimensions

    def embed(self, texts: list[str]) -> np.ndarray:
        self.asked.extend(texts)
        return self.encoder.embed(texts)


def test_a_sentence_two_chunks_share_is_embedded_once(encoder: Encoder) -> None:
    text = "The ferry left at dawn. Storms closed the strait. Crews waited a week."
    spans = ((0, 23), (24, 49), (50, 70))
    first = Chunk(id="a0", article_id="a", ordinal=0, text=text[:49], start=0, end=49,
                  sentences=spans[:2])
    second = Chunk(id="a1", article_id="a", ordinal=1, text=text[24:], start=24, end=70,
                   sentences=spans[1:])
    assert sentence_texts(second) == ["Storms closed the strait.", "Crews waited a week."]
    recording = Recording(encoder)
    vectors = embed_sentences(recording, [first, second])
    assert sorted(recording.asked) == sorted(text[s:e] for s, e in spans)
    assert [len(v) for v in vectors] == [2, 2]
    np.testing.assert_array_equal(vectors[0][1], vectors[1][0])
    whole = Chunk(id="b0", article_id="b", ordinal=0, text="No spans here.", start=5, end=19)
    assert sentence_texts(whole) == ["No spans here."]


def test_clause_vectors_come_from_the_questions_own_pass(encoder: Encoder) -> None:
    assert isinstance(encoder, OnnxMiniLM)
    question = "Who bought the steel mill in Ohio, and what did the union say about wages?"
    spans = [(0, 33), (39, 73)]
    vector, parts = embed_with_parts(encoder, question, spans)
    np.testing.assert_array_equal(vector, encoder.embed([question])[0])
    alone = encoder.embed([question[s:e] for s, e in spans])
    np.testing.assert_allclose(np.linalg.norm(parts, axis=1), 1.0, rtol=1e-5)
    # Each clause's vector is nearer the clause embedded alone than the other clause.
    similarity = parts @ alone.T
    assert similarity[0, 0] > similarity[0, 1] and similarity[1, 1] > similarity[1, 0]


def test_ingestion_stores_sentence_vectors_the_snapshot_holds(
        small_services: Services) -> None:
    snapshot = small_services.engine.retriever.refresh()
    assert snapshot.sentences.held and len(snapshot.sentences) == len(snapshot.corpus)
    held = snapshot.sentences.rows(range(len(snapshot.corpus)))
    counts = np.diff(held.offsets)
    assert counts.tolist() == [len(sentence_texts(chunk)) for chunk in snapshot.corpus]
    # Each chunk's first sentence vector is that sentence embedded alone by the questions'
    # encoder (a run a sentence).
    chunk = snapshot.corpus[0]
    alone = small_services.engine.retriever.encoder.embed(sentence_texts(chunk)[:1])[0]
    first = held.codes[held.offsets[0]].astype(np.float32) * held.scales[held.offsets[0]]
    assert float(first @ alone) > 0.995
    # The store gives the same vectors back, chunk by chunk (what benchmark stores copy).
    stored = small_services.engine.store.sentence_vectors([chunk.id, "missing"])
    assert list(stored) == [chunk.id] and len(stored[chunk.id]) == counts[0]
    np.testing.assert_allclose(stored[chunk.id][0], first, atol=1e-6)


def test_with_sentence_vectors_off_ingestion_embeds_chunks_only(
        tmp_path: Path, encoder: Encoder) -> None:
    services = make_services(tmp_path, encoder, sentence_vectors=False)
    services.ingestor.ingest_documents([Document(
        kind="record", path="budget.json", title="Budget", source="Capital Ledger",
        text="Finance minister Aurelia Quillfeather unveiled a budget that cuts fuel taxes.")])
    snapshot = services.engine.retriever.refresh()
    assert len(snapshot.corpus) and not snapshot.sentences.held
    assert services.engine.retriever.search("What did Quillfeather unveil?").hits
