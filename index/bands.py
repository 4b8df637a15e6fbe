"""MinHash signatures by key in numpy arrays, banded for locality-sensitive lookup: the keys
whose signature equals a query's in at least one whole band, as datasketch's `MinHashLSH`
finds them, with its banding (docs/ingestion.md, "Syndicated copies").
"""

from __future__ import annotations

import numpy as np

# A band's values folded into one 64-bit key (multiply and add, wrapping): equal bands give
# equal keys; a rare collision of unequal ones is dropped by comparing the band itself.
_FOLD = np.uint64(0x9E3779B97F4A7C15)
# Rows added since the sorted keys were made are searched one by one, up to this many (or an
# eighth of the index), then sorted in with the others.
_UNSORTED_MAX = 1024


class BandIndex:
    """Signatures of `width` uint32 values held by key, banded over their first `bands` x
    `rows` values as datasketch bands them: `add`, `remove`, `candidates`, `signature`."""

    def __init__(self, bands: int, rows: int, width: int | None = None) -> None:
        self.bands, self.rows = bands, rows
        self.width = width or bands * rows
        if self.width < bands * rows:
            raise ValueError(f"{bands} bands of {rows} values need {bands * rows} values")
        self._keys: list[str] = []
        self._row_of: dict[str, int] = {}
        self._values = np.zeros((0, self.width), dtype=np.uint32)
        self._folded = np.zeros((0, bands), dtype=np.uint64)
        self._alive = np.zeros(0, dtype=bool)
        self._used = 0
        # Per band, the keys of rows below `_sorted_rows`, sorted, and the row of each.
        self._sorted_keys = np.zeros((bands, 0), dtype=np.uint64)
        self._sorted_order = np.zeros((bands, 0), dtype=np.int64)
        self._sorted_rows = 0

    def __len__(self) -> int:
        return len(self._row_of)

    def __contains__(self, key: str) -> bool:
        return key in self._row_of

    def add(self, keys: list[str], values: np.ndarray) -> None:
        """Hold each key's signature (a row of `values`, uint32, `width` wide); a key held
        already is replaced. Raises ValueError for rows of another width."""
        values = np.asarray(values, dtype=np.uint32).reshape(len(keys), -1)
        if values.shape[1] != self.width:
            raise ValueError(f"signatures of {values.shape[1]} values, not {self.width}")
        for key in keys:
            if key in self._row_of:
                self.remove(key)
        self._grow(len(keys))
        rows = np.arange(self._used, self._used + len(keys))
        self._values[rows] = values
        self._folded[rows] = self._fold(values)
        self._alive[rows] = True
        self._keys.extend(keys)
        self._row_of.update(zip(keys, rows.tolist(), strict=True))
        self._used += len(keys)
        if self._used - self._sorted_rows > max(_UNSORTED_MAX, self._used // 8):
            self._sort()

    def remove(self, key: str) -> None:
        """Stop holding the key. Raises KeyError when it is not held."""
        self._alive[self._row_of.pop(key)] = False

    def signature(self, key: str) -> np.ndarray:
        """The key's signature. Raises KeyError when it is not held."""
        return self._values[self._row_of[key]]

    def signatures(self, keys: list[str]) -> np.ndarray:
        """These keys' signatures, a row each. Raises KeyError for a key not held."""
        return self._values[[self._row_of[key] for key in keys]].reshape(len(keys), self.width)

    def candidates(self, values: np.ndarray) -> list[str]:
        """The held keys whose signature equals `values` in at least one whole band."""
        values = np.asarray(values, dtype=np.uint32)
        folded = self._fold(values[None, :])[0]
        found = []
        for band in range(self.bands):
            keys = self._sorted_keys[band]
            begin, end = np.searchsorted(keys, folded[band], side="left"), np.searchsorted(
                keys, folded[band], side="right")
            found.append(self._sorted_order[band, begin:end])
        unsorted = np.arange(self._sorted_rows, self._used)
        found.append(unsorted[(self._folded[unsorted] == folded).any(axis=1)])
        rows = np.unique(np.concatenate(found))
        rows = rows[self._alive[rows]]
        banded = self.bands * self.rows
        same = (self._values[rows, :banded].reshape(len(rows), self.bands, self.rows)
                == values[:banded].reshape(self.bands, self.rows)).all(axis=2).any(axis=1)
        return [self._keys[row] for row in rows[same].tolist()]

    def _fold(self, values: np.ndarray) -> np.ndarray:
        """Each row's band keys (rows x bands, uint64)."""
        banded = values[:, : self.bands * self.rows].reshape(
            len(values), self.bands, self.rows).astype(np.uint64)
        folded = np.zeros((len(values), self.bands), dtype=np.uint64)
        with np.errstate(over="ignore"):
            for column in range(self.rows):
                folded = folded * _FOLD + banded[:, :, column] + np.uint64(1)
        return folded

    def _grow(self, more: int) -> None:
        if self._used + more <= len(self._alive):
            return
        capacity = max(self._used + more, 2 * len(self._alive), 64)
        for name in ("_values", "_folded", "_alive"):
            old = getattr(self, name)
            new = np.zeros((capacity, *old.shape[1:]), dtype=old.dtype)
            new[: self._used] = old[: self._used]
            setattr(self, name, new)

    def _sort(self) -> None:
        """Sort every held row's band keys in (rows no longer held are left out)."""
        live = np.flatnonzero(self._alive[: self._used])
        if len(live) < self._used:  # compact: forgotten rows go
            self._keys = [self._keys[row] for row in live.tolist()]
            self._row_of = {key: row for row, key in enumerate(self._keys)}
            for name in ("_values", "_folded", "_alive"):
                old = getattr(self, name)
                new = np.zeros_like(old)
                new[: len(live)] = old[live]
                setattr(self, name, new)
            self._used = len(live)
        folded = self._folded[: self._used].T
        self._sorted_order = np.argsort(folded, axis=1, kind="stable")
        self._sorted_keys = np.take_along_axis(folded, self._sorted_order, axis=1)
        self._sorted_rows = self._used
