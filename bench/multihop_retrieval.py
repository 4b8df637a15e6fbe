"""Retrieval on MultiHop-RAG as published (Hits@4, Hits@10, MRR@10, MAP@10), and the
calibration of retrieval settings (fitted on even-numbered dev queries, reported on odd).

    python -m bench.multihop_retrieval [--quick] [--data-dir DIR] [--grid name=v1,v2 ...]

Scoring follows the upstream `retrieval_evaluate.py` (docs/evaluation.md, "Retrieval on
MultiHop-RAG").
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import time
from pathlib import Path

from tqdm import tqdm

from index.pipeline import Ingestor
from rag.config import Settings
from rag.embeddings import load_encoder, text_encoder_for
from rag.evaluate import retrieval_metrics
from rag.retrieve import Retriever
from rag.store import Store
from rag.timescope import anchor_of, scope

SHARED = Path(__file__).resolve().parents[2] / "shared" / "bench" / "multihop_rag"


def evaluate(retriever: Retriever, queries: list[dict],
             time_words: bool = False) -> dict[str, float]:
    """Scores over the queries; with `time_words`, each is searched as the engine searches it
    under its time words (`rag/timescope.py`: a range read joins the filters, "latest" orders
    by date), counted from the corpus's newest article."""
    rows, latencies = [], []
    anchor = anchor_of(retriever.refresh().corpus, "corpus")
    for query in queries:
        began = time.perf_counter()
        if time_words:
            scoped = scope(query["query"], None, anchor, "corpus")
            hits = scoped.search(retriever, 10, retriever.settings.recency_weight).hits
        else:
            hits = retriever.search(query["query"], top_k=10).hits
        latencies.append((time.perf_counter() - began) * 1000)
        rows.append(retrieval_metrics([h.chunk.text for h in hits],
                                      [e["fact"] for e in query["evidence_list"]]))
    summary = {key: round(statistics.fmean(r[key] for r in rows), 4) for key in rows[0]}
    summary["p50_ms"] = round(statistics.median(latencies), 2)
    summary["queries"] = len(rows)
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path("var/bench-multihop"))
    parser.add_argument("--grid", action="append", default=[], metavar="SETTING=V1,V2",
                        help="values to try for a retrieval setting (repeatable)")
    parser.add_argument("--quick", action="store_true", help="100 queries a split")
    parser.add_argument("--out", type=Path, default=Path("bench/results/multihop_retrieval.json"))
    args = parser.parse_args()

    settings = Settings(data_dir=args.data_dir, _env_file=None)
    store, encoder = Store.open(settings), load_encoder()
    report = Ingestor(store, encoder, settings).ingest_paths([SHARED / "corpus.json"],
                                                             progress=True)
    print(f"corpus: {report.summary()}; store holds {store.chunk_count()} chunks")
    queries = [q for q in json.loads((SHARED / "queries_dev.json").read_text())
               if q["question_type"] != "null_query"]
    fit, held_out = queries[0::2], queries[1::2]
    if args.quick:
        fit, held_out = fit[:100], held_out[:100]

    retriever = Retriever(store, text_encoder_for(settings, encoder), settings)
    axes = dict(item.split("=", 1) for item in args.grid) or {"dense_weight": "0.3"}
    names = list(axes)
    results = {}
    for values in tqdm(list(itertools.product(*(axes[n].split(",") for n in names))),
                       desc="settings"):
        update = {n: type(getattr(settings, n))(v) for n, v in zip(names, values, strict=True)}
        retriever.settings = settings.model_copy(update=update)
        results[json.dumps(update)] = evaluate(retriever, fit)
    best = max(results, key=lambda k: (results[k]["hits@10"] + results[k]["mrr@10"]))
    retriever.settings = settings.model_copy(update=json.loads(best))
    held = evaluate(retriever, held_out)
    by_type = {}
    for kind in sorted({q["question_type"] for q in held_out}):
        by_type[kind] = evaluate(retriever, [q for q in held_out if q["question_type"] == kind])
    # The same queries searched as the engine searches them under their time words.
    timed = {"held-out, time words": evaluate(retriever, held_out, time_words=True)}
    for kind in sorted({q["question_type"] for q in held_out}):
        timed[f"{kind}, time words"] = evaluate(
            retriever, [q for q in held_out if q["question_type"] == kind], time_words=True)

    output = {"chunks": store.chunk_count(), "chunk_tokens": settings.chunk_tokens,
              "chunk_overlap": settings.chunk_overlap, "fit": results,
              "best": json.loads(best),
              "held_out": held, "held_out_by_type": by_type, "held_out_time_words": timed}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(output, indent=2))
    print("| settings | Hits@4 | Hits@10 | MRR@10 | MAP@10 | p50 ms |")
    print("|---|---|---|---|---|---|")
    for key, row in results.items():
        print(f"| {key} (fit) | {row['hits@4']} | {row['hits@10']} | {row['mrr@10']} | "
              f"{row['map@10']} | {row['p50_ms']} |")
    for name, row in {"held-out": held, **by_type, **timed}.items():
        print(f"| {best} {name} | {row['hits@4']} | {row['hits@10']} | {row['mrr@10']} | "
              f"{row['map@10']} | {row['p50_ms']} |")


if __name__ == "__main__":
    main()
