"""Retrieval on MultiHop-RAG as published (Hits@4, Hits@10, MRR@10, MAP@10), and the fusion
weight calibration: dense weight fitted on even-numbered dev queries, reported on odd ones.

    python -m bench.multihop_retrieval [--quick] [--weights 0,0.2,0.3] [--data-dir DIR]

Indexes the corpus into its own store first (idempotent: a second run embeds nothing).
Scoring follows the upstream `retrieval_evaluate.py`: null queries skipped; spaces and newlines
removed from gold facts and chunk texts; a query is a hit at K when any gold fact is a
substring of any of its top-K chunks; MRR@10 from the first such chunk.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from tqdm import tqdm

from index.pipeline import Ingestor
from rag.config import Settings
from rag.embeddings import load_encoder
from rag.retrieve import Retriever
from rag.store import Store

SHARED = Path(__file__).resolve().parents[2] / "shared" / "bench" / "multihop_rag"


def squash(text: str) -> str:
    return text.replace(" ", "").replace("\n", "")


def score_query(chunk_texts: list[str], facts: list[str]) -> dict[str, float]:
    """Hits@4/@10, MRR@10 and MAP@10 of one ranked list against its gold facts."""
    facts = [squash(f) for f in facts]
    relevant = [any(f in squash(t) for f in facts) for t in chunk_texts[:10]]
    first = next((i for i, r in enumerate(relevant) if r), None)
    precisions = [sum(relevant[: i + 1]) / (i + 1) for i, r in enumerate(relevant) if r]
    return {
        "hits@4": float(any(relevant[:4])),
        "hits@10": float(any(relevant)),
        "mrr@10": 1.0 / (first + 1) if first is not None else 0.0,
        "map@10": sum(precisions) / min(len(facts), 10) if facts else 0.0,
    }


def evaluate(retriever: Retriever, queries: list[dict]) -> dict[str, float]:
    rows, latencies = [], []
    for query in queries:
        began = time.perf_counter()
        hits = retriever.search(query["query"], top_k=10).hits
        latencies.append((time.perf_counter() - began) * 1000)
        rows.append(score_query([h.chunk.text for h in hits],
                                [e["fact"] for e in query["evidence_list"]]))
    summary = {key: round(statistics.fmean(r[key] for r in rows), 4) for key in rows[0]}
    summary["p50_ms"] = round(statistics.median(latencies), 2)
    summary["queries"] = len(rows)
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path("var/bench-multihop"))
    parser.add_argument("--weights", default="0,0.1,0.2,0.3,0.4,0.5")
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

    retriever = Retriever(store, encoder, settings)
    results = {}
    for weight in tqdm([float(w) for w in args.weights.split(",")], desc="weights"):
        retriever.settings = settings.model_copy(update={"dense_weight": weight})
        results[weight] = evaluate(retriever, fit)
    best = max(results, key=lambda w: (results[w]["hits@10"] + results[w]["mrr@10"]))
    retriever.settings = settings.model_copy(update={"dense_weight": best})
    held = evaluate(retriever, held_out)
    by_type = {}
    for kind in sorted({q["question_type"] for q in held_out}):
        by_type[kind] = evaluate(retriever, [q for q in held_out if q["question_type"] == kind])

    output = {"chunks": store.chunk_count(), "chunk_tokens": settings.chunk_tokens,
              "chunk_overlap": settings.chunk_overlap, "fit": results, "best_weight": best,
              "held_out": held, "held_out_by_type": by_type}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(output, indent=2))
    print("| dense weight | Hits@4 | Hits@10 | MRR@10 | MAP@10 | p50 ms |")
    print("|---|---|---|---|---|---|")
    for weight, row in results.items():
        print(f"| {weight} (fit) | {row['hits@4']} | {row['hits@10']} | {row['mrr@10']} | "
              f"{row['map@10']} | {row['p50_ms']} |")
    for name, row in {"held-out": held, **by_type}.items():
        print(f"| {best} {name} | {row['hits@4']} | {row['hits@10']} | {row['mrr@10']} | "
              f"{row['map@10']} | {row['p50_ms']} |")


if __name__ == "__main__":
    main()
