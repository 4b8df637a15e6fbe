"""The banded signature index finds exactly the candidates datasketch's MinHashLSH finds."""

from __future__ import annotations

import numpy as np
import pytest
from datasketch import LeanMinHash, MinHashLSH

from index.bands import BandIndex
from index.stories import NUM_PERM, SCHEME, SEED


def _minhash(values: np.ndarray) -> LeanMinHash:
    return LeanMinHash(seed=SEED, hashvalues=values.astype(np.uint64), scheme=SCHEME)


def _signatures(rng: np.random.Generator, count: int) -> np.ndarray:
    """Random signatures, each later one a copy of an earlier one with some values changed
    (about as many as a lightly or a heavily edited copy changes), so bands collide."""
    values = rng.integers(0, 2**32, size=(count, NUM_PERM), dtype=np.uint64).astype(np.uint32)
    for row in range(1, count):
        if rng.random() < 0.6:
            source = values[rng.integers(0, row)].copy()
            changed = rng.random(NUM_PERM) < rng.uniform(0.05, 0.9)
            source[changed] = values[row][changed]
            values[row] = source
    return values


@pytest.mark.parametrize("threshold", [0.5, 0.8])
def test_candidates_are_datasketchs_after_adds_and_removals(threshold: float) -> None:
    rng = np.random.default_rng(3)
    values = _signatures(rng, 3_000)
    keys = [f"a{n}" for n in range(len(values))]
    lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM)
    index = BandIndex(lsh.b, lsh.r, NUM_PERM)
    # One large batch (sorted in at once), then one at a time past the unsorted limit.
    index.add(keys[:1_500], values[:1_500])
    for key, row in zip(keys[:1_500], values[:1_500], strict=True):
        lsh.insert(key, _minhash(row))
    for key, row in zip(keys[1_500:], values[1_500:], strict=True):
        index.add([key], row[None, :])
        lsh.insert(key, _minhash(row))
    for key in keys[::7]:
        index.remove(key)
        lsh.remove(key)
    assert len(index) == len(keys) - len(keys[::7])
    queries = np.concatenate([values[rng.integers(0, len(values), 300)],
                              _signatures(rng, 50)])
    found_any = 0
    for query in queries:
        expected = set(lsh.query(_minhash(query)))
        assert set(index.candidates(query)) == expected
        found_any += bool(expected)
    assert found_any > 100  # the sets compared are mostly not empty
    with pytest.raises(KeyError):
        index.remove(keys[0])


def test_a_key_added_again_holds_its_new_signature() -> None:
    rng = np.random.default_rng(5)
    first, second = _signatures(rng, 2)
    index = BandIndex(25, 5, NUM_PERM)
    index.add(["a"], first[None, :])
    index.add(["a"], second[None, :])
    assert len(index) == 1 and np.array_equal(index.signature("a"), second)
    assert np.array_equal(index.signatures(["a", "a"]), np.stack([second, second]))
    assert index.signatures([]).shape == (0, NUM_PERM)
    assert index.candidates(second) == ["a"]
    with pytest.raises(ValueError):
        index.add(["b"], first[None, :10])
