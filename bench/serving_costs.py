"""What a replica of a large store pays beside answering, the way it was paid before and the
way it is now, in turns in one run (method and the costs measured: docs/benchmarks.md, "Costs
beside the asks").

    python -m bench.serving_costs --store-dir var/bench-scale-1M [--questions 200]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from bench.common import markdown_table, questions, settings_for, write_results
from bench.scale import commit
from index.pipeline import STORIES_FILE
from index.stories import StoryIndex
from rag.lexical import top_positions
from rag.snapshot import Snapshot, root_for
from rag.store import Store

REVISION_CHECKS, CHUNK_ROUNDS, STORY_STARTS = 30, 10, 3


def timed(call: Callable[[], object]) -> float:
    """Milliseconds `call` took."""
    began = time.perf_counter()
    call()
    return (time.perf_counter() - began) * 1000


def revision_checks(store: Store) -> dict[str, list[float]]:
    known = store.revision()
    times: dict[str, list[float]] = {"counts": [], "token": []}
    for _ in range(REVISION_CHECKS):
        times["counts"].append(timed(store.revision))
        times["token"].append(timed(lambda: store.revision_since(known)))
    return times


def best_rows(snapshot: Snapshot, asked: list[str], n: int) -> dict[str, list[float]]:
    """Each question's BM25 scores of every chunk, then its `n` best rows both ways, which
    must be the same rows."""
    ids = snapshot.corpus.ids
    times: dict[str, list[float]] = {"every score partitioned": [], "above a sampled cut": []}
    for number, question in enumerate(asked):
        scores = snapshot.lexical.scores(question)
        found: dict[str, np.ndarray] = {}
        turns = [("every score partitioned", partition_all), ("above a sampled cut", above_cut)]
        for name, find in turns if number % 2 == 0 else turns[::-1]:
            began = time.perf_counter()
            found[name] = find(scores, n, ids)
            times[name].append((time.perf_counter() - began) * 1000)
        whole, cut = (scores[found[name]] for name in times)
        if not np.array_equal(np.sort(whole), np.sort(cut)):
            raise SystemExit(f"the two ways chose different scores for question {number}")
    return times


def partition_all(scores: np.ndarray, n: int, ids: np.ndarray) -> np.ndarray:
    """The `n` best rows as found before: every score partitioned."""
    return np.argpartition(-scores, n - 1)[:n]


def above_cut(scores: np.ndarray, n: int, ids: np.ndarray) -> np.ndarray:
    """The `n` best rows as the product finds them (`top_positions`)."""
    return top_positions(scores, n, ids)


def chunk_reads(store: Store, rounds: int) -> dict[str, list[float]]:
    """A written article's chunks with their vectors, as an appended snapshot reads them:
    filtered on their article id as before, or by chunk id from the chunk count its record
    states (read beforehand, as `Snapshot.appended` has it); each read another article, so
    none finds it cached."""
    committed = store.article_ids()
    times: dict[str, list[float]] = {"filtered on article id": [], "by chunk id": []}
    for attempt in range(rounds):
        turns = ["filtered on article id", "by chunk id"]
        for place, name in enumerate(turns if attempt % 2 == 0 else turns[::-1]):
            article_id = committed[(2 * attempt + place + 1) * len(committed) // (2 * rounds + 2)]
            counts = store.article_chunk_counts([article_id]) if name == "by chunk id" else None
            began = time.perf_counter()
            store.committed_chunks([article_id], counts)
            times[name].append((time.perf_counter() - began) * 1000)
    return times


def story_starts(settings_dir: Path) -> dict[str, list[float]]:
    """A start's copy-detection index, each on a store handle of its own (nothing read
    before): from every stored signature, or restored from the saved file and synced."""
    settings = settings_for(settings_dir)
    saved = root_for(settings) / STORIES_FILE
    times: dict[str, list[float]] = {"every signature read": [], "saved, then the new ones": []}

    def whole() -> None:
        index = StoryIndex()
        index.sync(Store.open(settings))
        index.save(saved, Store.open(settings).identity)

    def restored() -> None:
        store = Store.open(settings)
        index = StoryIndex()
        index.restore(saved, store.identity)
        index.sync(store)

    whole()  # the file the restores read
    for attempt in range(STORY_STARTS):
        turns = [("every signature read", whole), ("saved, then the new ones", restored)]
        for name, start in turns if attempt % 2 == 0 else turns[::-1]:
            times[name].append(timed(start))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store-dir", type=Path, default=Path("var/bench-scale-100k"))
    parser.add_argument("--questions", type=int, default=200)
    args = parser.parse_args()
    settings = settings_for(args.store_dir)
    load = [round(os.getloadavg()[0], 2)]
    store = Store.open(settings)
    snapshot = Snapshot.latest(root_for(settings), store)
    if snapshot is None:
        raise SystemExit(f"no saved snapshot under {root_for(settings)}")
    results = {"revision check": revision_checks(store),
               "best BM25 rows": best_rows(snapshot, questions(args.questions),
                                           settings.candidates),
               "a written article's chunks read": chunk_reads(store, CHUNK_ROUNDS),
               "copy-detection index at a start": story_starts(args.store_dir)}
    load.append(round(os.getloadavg()[0], 2))
    medians = {part: {way: round(statistics.median(samples), 2) for way, samples in ways.items()}
               for part, ways in results.items()}
    rows = []
    for part, ways in medians.items():
        (old_way, old_ms), (new_way, new_ms) = ways.items()
        rows.append([part, f"{old_way}: {old_ms:,.2f} ms", f"{new_way}: {new_ms:,.2f} ms",
                     f"{new_ms / old_ms:.3f}"])
    table = markdown_table(["cost", "before (median)", "now (median)", "now / before"], rows)
    write_results("serving_costs", {
        "store": str(args.store_dir), "chunks": len(snapshot.corpus), "commit": commit(),
        "questions": args.questions,
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"), "load_average_1m": load,
        "medians_ms": medians,
        "samples_ms": {part: {way: [round(s, 3) for s in samples] for way, samples in ways.items()}
                       for part, ways in results.items()}}, table)


if __name__ == "__main__":
    main()
