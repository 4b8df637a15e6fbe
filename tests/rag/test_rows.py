"""The row buffer snapshot builds read vectors into."""

from __future__ import annotations

import numpy as np

from rag.rows import Rows


def test_pages_fill_the_sized_matrix_and_grow_it_when_they_outrun_it() -> None:
    pages = [np.full((n, 3), n, dtype=np.float32) for n in (2, 0, 3, 4)]
    sized = Rows(capacity=9)
    for page in pages:
        sized.add(page)
    np.testing.assert_array_equal(sized.array(), np.concatenate(pages))
    short = Rows(capacity=2, dtype=np.int8)
    for page in pages:
        short.add(page.astype(np.int8))
    assert len(short) == 9 and short.array().dtype == np.int8
    np.testing.assert_array_equal(short.array(), np.concatenate(pages).astype(np.int8))
    assert Rows(capacity=5, width=4).array().shape == (0, 4)
