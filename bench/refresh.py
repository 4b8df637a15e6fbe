"""Refreshing the search snapshot after a write: appending the article, updating the snapshot,
and rebuilding it, measured in turns.

    python -m bench.refresh [--quick] [--growing] [--store-dir DIR]

One article added and removed a round, at 10k and 100k chunks. Method: docs/benchmarks.md,
"Refresh after a write".
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import time
from functools import partial
from pathlib import Path

from bench.common import build_store, markdown_table, settings_for, write_results
from rag.embeddings import load_encoder
from rag.retrieve import Retriever
from rag.schemas import Article, Chunk, article_id_for
from rag.snapshot import Snapshot, root_for
from rag.statements import StatementIndex
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


class Updating(Retriever):
    """A retriever that updates its snapshot after every write (no appending), saving its
    snapshots apart, so the appending one never loads what this one saved."""

    def __init__(self, *args: object, root: Path) -> None:
        self._root = root
        super().__init__(*args, append=False)

    def snapshot_root(self) -> Path:
        return self._root


def measure(data_dir: Path, encoder, rounds: int) -> dict:
    settings = settings_for(data_dir)
    store = Store.open(settings)
    started, appending = timed(lambda: Retriever(store, encoder, settings))
    held = len(appending.refresh().corpus)
    apart = data_dir / "snapshots-updating"
    shutil.rmtree(apart, ignore_errors=True)
    shutil.copytree(root_for(settings), apart)  # the same saved snapshot to start from
    updating = Updating(store, encoder, settings, root=apart)
    append, add, delete, rebuild, loads = [], [], [], [], []
    statements_reused, statements_anew = [], []
    for round_ in range(rounds):
        earlier = StatementIndex.from_corpus(appending.refresh().corpus)
        article, _ = one_article(store, encoder, round_)
        # Taking turns: which retriever refreshes first alternates round by round.
        turns = [("append", appending), ("update", updating)]
        for name, retriever in turns if round_ % 2 == 0 else turns[::-1]:
            loads.append(round(os.getloadavg()[0], 2))
            seconds, snapshot = timed(retriever.refresh)
            (append if name == "append" else add).append(seconds)
            if (snapshot.base is not None) != (name == "append"):
                raise SystemExit(f"the {name} retriever did not {name}")
        # Who-said-what's index of the appended snapshot: the statements read before taken
        # as they were, against all read anew (in turns).
        corpus = appending.refresh().corpus
        ways = [(statements_reused, partial(StatementIndex.from_corpus, corpus, earlier)),
                (statements_anew, partial(StatementIndex.from_corpus, corpus))]
        for seconds, way in ways if round_ % 2 == 0 else ways[::-1]:
            seconds.append(timed(way)[0])
        rebuild.append(timed(lambda: Snapshot.build(store, store.revision()))[0])
        store.delete_article(article.id)
        delete.append(timed(updating.refresh)[0])
        appending.refresh()
    shutil.rmtree(apart, ignore_errors=True)
    return {"chunks": held, "start_s": round(started, 2),
            "append_after_add_s": [round(s, 3) for s in append],
            "update_after_add_s": [round(s, 2) for s in add],
            "update_after_delete_s": [round(s, 2) for s in delete],
            "rebuild_s": [round(s, 2) for s in rebuild], "load_average_1m": loads,
            "statement_index_reused_s": [round(s, 2) for s in statements_reused],
            "statement_index_anew_s": [round(s, 2) for s in statements_anew]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10k only, one round")
    parser.add_argument("--store-dir", type=Path, default=Path("var"))
    parser.add_argument("--growing", action="store_true",
                        help="the stores whose vocabulary grows (`bench.scale`'s)")
    parser.add_argument("--sizes", nargs="+", choices=list(SIZES))
    args = parser.parse_args()
    sizes = args.sizes or (["10k"] if args.quick else list(SIZES))
    rounds = 1 if args.quick else 3
    encoder = load_encoder()
    results, rows = {}, []
    for size in sizes:
        data_dir = args.store_dir / f"bench-{'scale' if args.growing else 'store'}-{size}"
        build_store(SIZES[size], data_dir, vocabulary_growth=args.growing)
        r = results[size] = measure(data_dir, encoder, rounds)
        append = statistics.median(r["append_after_add_s"])
        add, rebuild = statistics.median(r["update_after_add_s"]), statistics.median(r["rebuild_s"])
        rows.append([size, r["chunks"], round(append, 3), add,
                     statistics.median(r["update_after_delete_s"]), rebuild,
                     round(add / append, 1), round(rebuild / append, 1),
                     statistics.median(r["statement_index_reused_s"]),
                     statistics.median(r["statement_index_anew_s"])])
    table = markdown_table(["size", "chunks", "append after adding an article s (median)",
                            "update after adding it s", "update after deleting it s",
                            "full rebuild s (baseline)", "update / append",
                            "rebuild / append", "statement index, read ones reused s",
                            "statement index read anew s"], rows)
    write_results("refresh" if not args.quick else "refresh-quick",
                  {"rounds": rounds, "growing": args.growing, "results": results}, table)


if __name__ == "__main__":
    main()
