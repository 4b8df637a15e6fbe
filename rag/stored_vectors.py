"""A snapshot's chunk vectors read from the store by chunk id when a question asks for them:
above the exact-scan limit no search reads them all, and Chroma's HNSW index holds them already
(docs/operations.md, "How search follows the shared store").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

# What reads chunk vectors by id (`Store.chunk_vectors`): the ids held, each with its vector.
Read = Callable[[list[str]], Mapping[str, np.ndarray]]


class StoredVectors:
    """The vectors of a corpus's rows (`ids`), read from the store a few rows at a time; a
    chunk the store no longer holds reads as a zero vector."""

    def __init__(self, read: Read, ids: np.ndarray, dimensions: int) -> None:
        self._read, self.ids = read, ids
        self.shape = (len(ids), dimensions)
        self.dtype = np.dtype(np.float32)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, rows: np.ndarray) -> np.ndarray:
        """These rows' vectors (float32), in this order. Raises what the store's read raises."""
        rows = np.asarray(rows, dtype=np.int64)
        wanted = [str(i) for i in self.ids[rows]]
        found = self._read(list(dict.fromkeys(wanted)))
        out = np.zeros((len(rows), self.shape[1]), dtype=np.float32)
        for place, chunk_id in enumerate(wanted):
            if (vector := found.get(chunk_id)) is not None:
                out[place] = vector
        return out

    def __array__(self, dtype: np.dtype | None = None, copy: bool | None = None) -> np.ndarray:
        every = self[np.arange(len(self))]
        return every if dtype is None else every.astype(dtype)
