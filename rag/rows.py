"""Rows appended a page at a time into one preallocated matrix, what a snapshot build reads its
vectors into: joining the pages at the end would hold every row twice (150 MB of chunk vectors
and 350 MB of sentence codes more at 100k chunks, at the peak of a build)."""

from __future__ import annotations

import numpy as np

# When the rows outgrow the matrix (more were written since it was sized, or the size was an
# estimate), it grows by at least this factor, so a few estimates off cost a few copies.
GROWTH = 1.25


class Rows:
    """A matrix of `capacity` rows, filled page by page and grown when it must be."""

    def __init__(self, capacity: int, width: int = 0, dtype: type = np.float32) -> None:
        self._capacity, self._dtype = capacity, dtype
        self._matrix = np.zeros((0, width), dtype=dtype)
        self._filled = 0

    def __len__(self) -> int:
        return self._filled

    def add(self, rows: np.ndarray) -> None:
        if not len(rows):
            return
        needed = self._filled + len(rows)
        if needed > len(self._matrix):
            size = max(needed, self._capacity if not self._filled else 0,
                       int(GROWTH * len(self._matrix)))
            grown = np.empty((size, rows.shape[1]), dtype=self._dtype)
            if self._filled:
                grown[: self._filled] = self._matrix[: self._filled]
            self._matrix = grown
        self._matrix[self._filled : needed] = rows
        self._filled = needed

    def array(self) -> np.ndarray:
        """The rows added (a view: the matrix is not copied)."""
        return self._matrix[: self._filled]
