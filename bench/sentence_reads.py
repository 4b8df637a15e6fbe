"""A question's candidates' sentence vectors read from the store's SQLite blobs beside the same
read from a snapshot's memory-mapped arrays (what snapshots held before format 7).

    python -m bench.sentence_reads --store-dir var/bench-scale-100k [--questions 400]

The store is only read (its blobs file copied through SQLite's backup, opened immutable);
both readers must answer alike to the bit. Method: docs/benchmarks.md, "Sentence vectors read
from the store".
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.common import markdown_table, percentiles, write_results
from rag.blobs import SqliteBlobs
from rag.corpus import Corpus
from rag.sentence_vectors import CODES, OFFSETS, SCALES, SentenceReader, SentenceVectors
from rag.stored_sentences import PackedCache, StoredSentences


def copied_blobs(source: Path, folder: Path) -> Path:
    """A copy of the store's blobs file, read through a read-only connection."""
    copy = folder / source.name
    reading = sqlite3.connect(f"file:{source}?mode=ro&immutable=1", uri=True)
    writing = sqlite3.connect(copy)
    with writing:
        reading.backup(writing)
    reading.close()
    writing.close()
    return copy


def newest_snapshot(store_dir: Path) -> Path:
    """The saved snapshot (of any format) that still holds sentence vector arrays."""
    found = sorted((p.parent for p in (store_dir / "snapshots").glob(f"*/*/{CODES}")),
                   key=lambda p: p.stat().st_mtime)
    if not found:
        raise SystemExit(f"no snapshot with {CODES} under {store_dir / 'snapshots'}")
    return found[-1]


def one_question(reader: SentenceReader, rows: list[int], hits: list[int],
                 queries: np.ndarray) -> tuple[float, list[np.ndarray]]:
    began = time.perf_counter()
    answers = [reader.best_cosines(rows, queries)]
    answers += [reader.cosines(row, queries[0]) for row in hits]
    return (time.perf_counter() - began) * 1000, answers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store-dir", type=Path, default=Path("var/bench-scale-100k"))
    parser.add_argument("--questions", type=int, default=400)
    parser.add_argument("--candidates", type=int, default=60)
    parser.add_argument("--hits", type=int, default=10)
    parser.add_argument("--cache", type=int, default=10_000,
                        help="chunks the cached reader keeps (RAG_SENTENCE_CACHE)")
    args = parser.parse_args()
    snapshot = newest_snapshot(args.store_dir)
    corpus = Corpus.load(snapshot)
    mapped = SentenceVectors.load(snapshot, len(corpus))
    array_bytes = sum((snapshot / name).stat().st_size for name in (CODES, SCALES, OFFSETS))
    rng = np.random.default_rng(0)
    order = random.Random(0)
    with tempfile.TemporaryDirectory(prefix="sentence-reads-") as folder:
        blobs = SqliteBlobs(copied_blobs(args.store_dir / "blobs" / "news.sqlite3",
                                         Path(folder)), "sentence_vectors")
        # Rows of chunks deleted from the store since the snapshot was saved (the scale
        # benchmark adds and removes articles) read as chunks without vectors: left out.
        stored = set(blobs.ids())
        held = np.flatnonzero([str(i) in stored for i in corpus.ids])
        readers: dict[str, SentenceReader] = {
            "memory-mapped arrays (snapshot format 6)": mapped,
            "SQLite blobs, no cache": StoredSentences(PackedCache(blobs.get, 0).get,
                                                      corpus.ids, True),
        }
        cached = PackedCache(blobs.get, args.cache)
        readers[f"SQLite blobs, {args.cache:,}-chunk cache"] = StoredSentences(
            cached.get, corpus.ids, True)
        # Warm-up: the first reads of either map pages in; not counted.
        for reader in readers.values():
            one_question(reader, rng.choice(held, args.candidates).tolist(), [],
                         rng.normal(size=(3, 384)).astype(np.float32))
        samples: dict[str, list[float]] = {name: [] for name in readers}
        for _ in range(args.questions):
            # A pool of distinct rows, a fifth of it asked by an earlier question too (the
            # stories in the news that many questions find).
            rows = rng.choice(held, args.candidates, replace=False).tolist()
            hot = held[rng.choice(2_000, args.candidates // 5, replace=False)].tolist()
            rows = list(dict.fromkeys(hot + rows))[: args.candidates]
            hits = rows[: args.hits]
            queries = rng.normal(size=(3, 384)).astype(np.float32)
            queries /= np.linalg.norm(queries, axis=1, keepdims=True)
            names = list(readers)
            order.shuffle(names)
            answers = {}
            for name in names:
                elapsed, answers[name] = one_question(readers[name], rows, hits, queries)
                samples[name].append(elapsed)
            first, *others = answers.values()
            for other in others:
                for a, b in zip(first, other, strict=True):
                    np.testing.assert_array_equal(a, b)  # the same cosines, to the bit
    results = {name: percentiles(times) for name, times in samples.items()}
    baseline = results["memory-mapped arrays (snapshot format 6)"]["p50_ms"]
    table = markdown_table(
        ["reader", "p50 ms a question", "p95 ms", "p50 / arrays"],
        [[name, r["p50_ms"], r["p95_ms"], round(r["p50_ms"] / baseline, 2)]
         for name, r in results.items()])
    chunks = len(corpus)
    missing = chunks - len(held)
    table += (f"\n\n{chunks:,} chunks; {args.candidates} candidates and {args.hits} hits a "
              f"question, {args.questions} questions; snapshot arrays no longer saved: "
              f"{array_bytes / 2**20:.1f} MB, {array_bytes / 1024 / chunks:.2f} KB a chunk; "
              f"{missing} rows of chunks deleted since the snapshot left out")
    write_results("sentence_reads", {
        "store_dir": str(args.store_dir), "snapshot": snapshot.name, "chunks": chunks,
        "rows_deleted_since": missing,
        "candidates": args.candidates, "hits": args.hits, "questions": args.questions,
        "cache_chunks": args.cache, "sentence_array_bytes": array_bytes,
        "sentence_array_kb_per_chunk": round(array_bytes / 1024 / chunks, 2),
        "results": results}, table)


if __name__ == "__main__":
    main()
