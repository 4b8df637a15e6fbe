"""A question's pool of candidates' chunk vectors read from the store by id beside the same rows
read from a snapshot's memory-mapped vectors file (what snapshots held above the exact-scan
limit before), each question's pool computed by the product's search.

    python -m bench.vector_reads --store-dir DIR [--questions 300]

Both readers take turns question by question and must give the same cosines to the bit.
Method: docs/benchmarks.md, "Chunk vectors read from the store".
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import time
from pathlib import Path

import numpy as np

from bench.common import markdown_table, percentiles, questions, settings_for, write_results
from rag.embeddings import encoder_for
from rag.retrieve import Retriever
from rag.snapshot import Snapshot, root_for
from rag.store import Store
from rag.stored_vectors import StoredVectors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store-dir", type=Path, default=Path("var/bench-scale-100k"))
    parser.add_argument("--questions", type=int, default=300)
    args = parser.parse_args()
    settings = settings_for(args.store_dir)
    store = Store.open(settings)
    mapped = Snapshot.latest(root_for(settings), store)  # as saved, vectors file and all
    if mapped is None or not isinstance(mapped.vectors, np.ndarray):
        raise SystemExit(f"no snapshot with a vectors file under {root_for(settings)}")
    stored = StoredVectors(store.chunk_vectors, mapped.corpus.ids, mapped.vectors.shape[1])
    retriever = Retriever(store, encoder_for(settings), settings)
    times: dict[str, list[float]] = {"memory-mapped file": [], "store by id": []}
    load = [round(os.getloadavg()[0], 2)]
    for number, question in enumerate(questions(args.questions)):
        # The pool a search ranks: the best by cosine and the best by BM25.
        vector = retriever.search(question, top_k=10).query_vector
        lexical = mapped.lexical.best(mapped.lexical.scores(question), settings.candidates)
        pool = np.union1d(retriever.dense_candidates(mapped, vector, None), lexical)
        answers = []
        turns = [("memory-mapped file", mapped.vectors), ("store by id", stored)]
        for name, vectors in turns if number % 2 == 0 else turns[::-1]:
            began = time.perf_counter()
            answers.append(vectors[pool] @ vector)
            times[name].append((time.perf_counter() - began) * 1000)
        if not np.array_equal(answers[0], answers[1]):
            raise SystemExit(f"the readers differ on question {number}")
    load.append(round(os.getloadavg()[0], 2))
    rows = [[name, *percentiles(samples).values()] for name, samples in times.items()]
    table = markdown_table(["reader", *percentiles(times["store by id"]).keys()], rows)
    write_results("vector_reads", {
        "store": str(args.store_dir), "chunks": len(mapped.corpus), "questions": args.questions,
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"), "load_average_1m": load,
        "results": {name: percentiles(samples) for name, samples in times.items()}}, table)


if __name__ == "__main__":
    main()
