"""Every sentence of every chunk embedded on its own: what the re-ranker reads meaning from.

Sentences are embedded at ingestion by the int8 encoder and stored packed in 8 bits with a
scale each (`pack`/`unpack`), by chunk id beside the store (`rag.blobs`).
Why and what it measured: docs/evaluation.md, "Sentence vectors".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from rag.embeddings import DIMENSIONS, Encoder
from rag.schemas import Chunk

CODES, SCALES, OFFSETS = "sentence_codes.npy", "sentence_scales.npy", "sentence_offsets.npy"
_SCALE = np.dtype("<f2")


def sentence_texts(chunk: Chunk) -> list[str]:
    """The chunk's sentences (the whole chunk when it has no sentence spans)."""
    spans = chunk.sentences or ((chunk.start, chunk.end),)
    return [chunk.text[start - chunk.start : end - chunk.start] for start, end in spans]


def embed_sentences(encoder: Encoder, chunks: Sequence[Chunk]) -> list[np.ndarray]:
    """Each chunk's sentence vectors (one row a sentence). A sentence that several chunks share
    (their overlap) is embedded once."""
    per_chunk = [sentence_texts(chunk) for chunk in chunks]
    unique = list(dict.fromkeys(text for texts in per_chunk for text in texts))
    row = {text: i for i, text in enumerate(unique)}
    vectors = encoder.embed(unique)
    return [vectors[[row[text] for text in texts]] for texts in per_chunk]


def pack(vectors: np.ndarray) -> bytes:
    """Unit vectors packed: per-row float16 scales, then the int8 codes."""
    vectors = np.asarray(vectors, dtype=np.float32)
    scales = np.abs(vectors).max(axis=1) / 127.0
    scales[scales == 0] = 1.0
    codes = np.rint(vectors / scales[:, None]).astype(np.int8)
    return scales.astype(_SCALE).tobytes() + codes.tobytes()


def unpack(raw: bytes, dimensions: int = DIMENSIONS) -> tuple[np.ndarray, np.ndarray]:
    """The codes (rows, dimensions) int8 and scales (rows,) float32 `pack` wrote; raises
    `ValueError` for bytes of the wrong length."""
    rows, rest = divmod(len(raw), dimensions + _SCALE.itemsize)
    if rest:
        raise ValueError("packed sentence vectors of the wrong length")
    scales = np.frombuffer(raw, dtype=_SCALE, count=rows).astype(np.float32)
    codes = np.frombuffer(raw, dtype=np.int8, offset=rows * _SCALE.itemsize)
    return codes.reshape(rows, dimensions), scales


class SentenceReader(Protocol):
    """What the re-ranker and the answerer read of chunks' sentence vectors, by row: a
    `SentenceVectors`, or `rag.stored_sentences.StoredSentences` reading them from the store."""

    @property
    def held(self) -> bool:
        """Whether any chunk has sentence vectors."""

    def best_cosines(self, positions: Sequence[int], queries: np.ndarray) -> np.ndarray:
        """(positions, queries): each row's best sentence cosine to each query vector."""

    def cosines(self, position: int, query: np.ndarray) -> np.ndarray:
        """Each of one row's sentences' cosine to a query vector."""


@dataclass(frozen=True)
class SentenceVectors:
    """The sentence vectors of some chunks, in their order: chunk i's sentences are
    rows `offsets[i]:offsets[i + 1]` of `codes` (int8) times `scales`. A chunk stored without
    them (written before they existed, or with `RAG_SENTENCE_VECTORS` off) has none."""

    codes: np.ndarray
    scales: np.ndarray
    offsets: np.ndarray

    @classmethod
    def from_packed(cls, packed: Iterable[bytes | None],
                    dimensions: int = DIMENSIONS) -> SentenceVectors:
        """One chunk's packed vectors (or None) at a time, in row order."""
        codes, scales = [np.zeros((0, dimensions), np.int8)], [np.zeros(0, np.float32)]
        counts = []
        for raw in packed:
            chunk_codes, chunk_scales = (unpack(raw, dimensions) if raw
                                         else (codes[0], scales[0]))
            codes.append(chunk_codes)
            scales.append(chunk_scales)
            counts.append(len(chunk_scales))
        return cls(np.concatenate(codes), np.concatenate(scales), _offsets(counts))

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def held(self) -> bool:
        """Whether any chunk has sentence vectors."""
        return bool(len(self.scales))

    def best_cosines(self, positions: Sequence[int], queries: np.ndarray) -> np.ndarray:
        """(positions, queries): each chunk's best sentence cosine to each query vector, 0 for
        a chunk without sentence vectors."""
        best = np.zeros((len(positions), len(queries)), dtype=np.float32)
        if not len(positions) or not len(queries):
            return best
        begins = self.offsets[:-1][positions]
        counts = self.offsets[1:][positions] - begins
        having = np.flatnonzero(counts)
        if not having.size:
            return best
        rows = _ranges(begins[having], counts[having])
        # einsum, not `@`: numpy's OpenBLAS splits even this small product over both cores,
        # and under concurrent requests waiting for the second thread cost more than the
        # product (rag/retrieve.py's dense scan says the same).
        cosines = (np.einsum("ij,kj->ik", self.codes[rows].astype(np.float32), queries)
                   * self.scales[rows, None])
        starts = np.concatenate([[0], np.cumsum(counts[having])[:-1]])
        best[having] = np.maximum.reduceat(cosines, starts, axis=0)
        return best

    def cosines(self, position: int, query: np.ndarray) -> np.ndarray:
        """Each of one chunk's sentences' cosine to a query vector (empty without any)."""
        begin, end = self.offsets[position], self.offsets[position + 1]
        return (np.einsum("ij,j->i", self.codes[begin:end].astype(np.float32), query)
                * self.scales[begin:end])

    def save(self, directory: Path) -> None:
        np.save(directory / CODES, self.codes)
        np.save(directory / SCALES, self.scales)
        np.save(directory / OFFSETS, self.offsets)

    @classmethod
    def load(cls, directory: Path, chunks: int) -> SentenceVectors:
        """What `save` wrote (as snapshots before format 7 did), the codes memory-mapped."""
        loaded = cls(np.asarray(np.load(directory / CODES, mmap_mode="r")),
                     np.load(directory / SCALES), np.load(directory / OFFSETS))
        if len(loaded) != chunks or loaded.offsets[-1] != len(loaded.scales):
            raise ValueError("the sentence vectors do not match their corpus")
        return loaded


def _ranges(begins: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The row numbers `begins[i]:begins[i] + counts[i]`, one range after another."""
    total = int(counts.sum())
    within = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
    return np.repeat(begins, counts) + within


def _offsets(counts: Sequence[int] | np.ndarray) -> np.ndarray:
    """Where each chunk's rows begin, and the end: (chunks + 1,) int64."""
    return np.concatenate([[0], np.cumsum(np.asarray(counts, dtype=np.int64))]).astype(np.int64)
