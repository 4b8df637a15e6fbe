"""A snapshot's base and the chunks appended to it, read as one: their vectors side by side,
and the appended chunks' BM25 scores weighed by the base's statistics."""

from __future__ import annotations

import numpy as np

from api.services import Services
from rag.lexical import LexicalIndex, Tokens, lexical_text
from rag.segments import StackedRows, weighed_by


def test_stacked_rows_read_as_the_two_matrices_joined() -> None:
    rng = np.random.default_rng(7)
    first, second = rng.normal(size=(6, 4)).astype(np.float32), rng.normal(size=(3, 4))
    second = second.astype(np.float32)
    stacked, joined = StackedRows(first, second), np.concatenate([first, second])
    rows = np.array([8, 0, 6, 5, 2])
    assert len(stacked) == 9 and stacked.shape == (9, 4)
    np.testing.assert_array_equal(stacked[rows], joined[rows])
    vector = rng.normal(size=4).astype(np.float32)
    np.testing.assert_array_equal(stacked.dot(vector), np.einsum("ij,j->i", joined, vector))
    np.testing.assert_array_equal(np.asarray(stacked), joined)
    nothing_added = StackedRows(first, np.zeros((0, 4), np.float32))
    np.testing.assert_array_equal(nothing_added[np.array([3, 1])], first[[3, 1]])


def test_an_appended_copy_of_a_held_chunk_scores_as_the_held_chunk(
        small_services: Services) -> None:
    chunks = list(small_services.engine.store.iter_chunks())
    base = LexicalIndex.of_chunks(chunks)
    copy = chunks[2].model_copy(update={"id": "copy:0", "article_id": "copy"})
    added = Tokens()
    added.add_chunks([copy, chunks[0].model_copy(update={
        "id": "rare:0", "article_id": "rare",
        "text": chunks[0].text + " Zorblatt", "end": chunks[0].end + 9})])
    bm25 = weighed_by(base, added)
    terms = sorted(base.analyzer.terms(lexical_text(chunks[2])))
    assert len(terms) > 5
    for term in terms:
        held = base.scores(term)[2]
        assert held > 0 and bm25.get_scores([term])[0] == held
    # A term no held chunk has still scores the chunk that has it.
    assert bm25.get_scores(["zorblatt"]).tolist()[1] > 0
