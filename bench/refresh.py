"""Refreshing the search snapshot after a write: the incremental update beside a full rebuild.

    python -m bench.refresh [--quick]

At 10k and 100k chunks: one article added and the snapshot updated, then the same revision
rebuilt from scratch (the baseline); the article is removed again at the end. Method:
docs/benchmarks.md, "Refresh after a write".
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from bench.common import build_store, markdown_table, settings_for, write_results
from rag.embeddings import load_encoder
from rag.retrieve import Retriever
from rag.schemas import Article, Chunk, article_id_for
from rag.snapshot import Snapshot, root_for
from rag.store import Store

SIZES = {"10k": 10_000, "100k": 100_000}


def one_article(store: Store, encoder, round_: int) -> tuple[Article, list[Chunk]]:
    """A new article made of a stored article's text, marked so that its id is new."""
    source = store.chunks_of(store.article_ids()[0])
    text = f"Benchmark refresh {round_} at {time.time()}. " + " ".join(c.text for c in source)
    article = Article(id=article_id_for(text), text=text, title="Refresh benchmark",
                      source="Bench Wire")
    chunks = [Chunk(id=f"{article.id}:{n}", article_id=article.id, ordinal=n, text=c.text,
                    start=c.start, end=c.end, title=article.title, source=article.source)
              for n, c in enumerate(source)]
    store.add_article(article, chunks, encoder.embed([c.text for c in chunks]))
    return article, chunks


def timed(action) -> tuple[float, object]:
    began = time.perf_counter()
    result = action()
    return time.perf_counter() - began, result


def measure(data_dir: Path, encoder, rounds: int) -> dict:
    settings = settings_for(data_dir)
    store = Store.open(settings)
    retriever = Retriever(store, encoder, settings)
    started, snapshot = timed(retriever.refresh)
    held = len(snapshot.corpus)
    add, delete, rebuild = [], [], []
    for round_ in range(rounds):
        article, _ = one_article(store, encoder, round_)
        seconds, snapshot = timed(retriever.refresh)
        add.append(seconds)
        if Snapshot.load(root_for(settings), snapshot.revision, store) is None:
            raise SystemExit("the update was not saved")
        rebuild.append(timed(lambda: Snapshot.build(store, store.revision()))[0])
        store.delete_article(article.id)
        delete.append(timed(retriever.refresh)[0])
    return {"chunks": held, "first_refresh_s": round(started, 2),
            "update_after_add_s": [round(s, 2) for s in add],
            "update_after_delete_s": [round(s, 2) for s in delete],
            "rebuild_s": [round(s, 2) for s in rebuild]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10k only, one round")
    parser.add_argument("--store-dir", type=Path, default=Path("var"))
    args = parser.parse_args()
    sizes = ["10k"] if args.quick else list(SIZES)
    rounds = 1 if args.quick else 3
    encoder = load_encoder()
    results, rows = {}, []
    for size in sizes:
        data_dir = args.store_dir / f"bench-store-{size}"
        build_store(SIZES[size], data_dir)
        r = results[size] = measure(data_dir, encoder, rounds)
        add, rebuild = statistics.median(r["update_after_add_s"]), statistics.median(r["rebuild_s"])
        rows.append([size, r["chunks"], add, statistics.median(r["update_after_delete_s"]),
                     rebuild, round(rebuild / add, 1)])
    table = markdown_table(["size", "chunks", "update after adding an article s (median)",
                            "update after deleting it s", "full rebuild s (baseline)",
                            "rebuild / update"], rows)
    write_results("refresh" if not args.quick else "refresh-quick",
                  {"rounds": rounds, "results": results}, table)


if __name__ == "__main__":
    main()
