"""A second-stage signal not yet in the product, measured: every sentence of the corpus embedded
on its own, and each re-ranked passage credited with its best sentence's cosine to the
question and to the question's clauses (each clause embedded per question).

    python -m bench.sentence_vectors [--quick] [--data-dir DIR] [--grid 0.5:1.0 ...]

Each `--grid` point is QUESTION:CLAUSE, the weights added to the re-ranker's sentence and
clause coverage (rag/rerank.py: the best sentence's cosine to the whole question is added to
its coverage of the question, the best (sentence, clause) cosine to its clause coverage).
Points are scored on the even-numbered dev queries; the best is reported on the odd-numbered
ones. Sentences and clauses are embedded by the int8 question encoder (section 5 of
docs/benchmarks.md), sentences once, cached under the store's directory. Uses the store
`bench.multihop_retrieval` builds.

The harness wraps `rag.rerank._coverages` rather than changing the product: what this would
cost (every sentence embedded at ingestion, ~0.7x more encoder time; a clause pass a
question) is set against what it gains in docs/evaluation.md.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

import rag.rerank
from bench.common import markdown_table, settings_for, write_results
from bench.multihop_retrieval import SHARED, evaluate
from rag.corpus import Corpus
from rag.embeddings import Encoder, load_encoder, question_encoder_for
from rag.lexical import LexicalIndex
from rag.retrieve import Retriever
from rag.schemas import Hit
from rag.store import Store


def sentence_vectors(corpus: Corpus, encoder: Encoder,
                     cache: Path) -> tuple[np.ndarray, np.ndarray]:
    """Every sentence's vector, and where each chunk's rows begin (`offsets[i]:offsets[i+1]`)."""
    if cache.is_file():
        saved = np.load(cache)
        return saved["vectors"], saved["offsets"]
    texts, offsets = [], [0]
    for i in range(len(corpus)):
        chunk = corpus[i]
        spans = chunk.sentences or ((chunk.start, chunk.end),)
        texts.extend(chunk.text[s - chunk.start : e - chunk.start] for s, e in spans)
        offsets.append(len(texts))
    began = time.perf_counter()
    vectors = np.concatenate([encoder.embed(texts[i : i + 2048])
                              for i in range(0, len(texts), 2048)])
    print(f"embedded {len(texts)} sentences of {len(corpus)} chunks in "
          f"{time.perf_counter() - began:.0f} s")
    np.savez(cache, vectors=vectors, offsets=np.array(offsets))
    return vectors, np.array(offsets)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path("var/bench-multihop"))
    parser.add_argument("--grid", nargs="+", default=["0:0", "0.5:0", "0.5:1.0", "0.5:1.5",
                                                       "0:1.0", "0.75:1.0", "1.0:2.0"])
    parser.add_argument("--quick", action="store_true", help="100 queries a split")
    args = parser.parse_args()

    settings = settings_for(args.data_dir)
    store = Store.open(settings)
    encoder = question_encoder_for(settings, load_encoder())
    retriever = Retriever(store, encoder, settings)
    corpus = retriever.refresh().corpus
    if not len(corpus):
        raise SystemExit(f"{args.data_dir} holds no chunks: "
                         "run `python -m bench.multihop_retrieval` first")
    vectors, offsets = sentence_vectors(corpus, encoder, args.data_dir / "sentence_vectors.npz")

    asked: dict[str, object] = {}
    weights = {"question": 0.0, "clause": 0.0}
    embed, search, coverages = encoder.embed, retriever.search, rag.rerank._coverages

    def remembered_search(question: str, *rest: object, **named: object) -> object:
        asked["question"] = question
        return search(question, *rest, **named)

    def remembered_embed(texts: list[str]) -> np.ndarray:
        found = embed(texts)
        asked["vector"] = found[0]
        return found

    def with_vectors(hits: list[Hit], whole: dict[str, float],
                     parts: list[tuple[dict[str, float], float]],
                     lexical: LexicalIndex) -> tuple[np.ndarray, np.ndarray]:
        best, by_clause = coverages(hits, whole, parts, lexical)
        if not (weights["question"] or weights["clause"]):
            return best, by_clause
        pieces = [text for text, _ in rag.rerank.clause_parts(asked["question"], lexical)]
        clause_vectors = embed(pieces) if pieces else np.zeros((0, vectors.shape[1]))
        to_question, to_clause = [], []
        for hit in hits:
            position = corpus.position(hit.chunk.id)
            rows = vectors[offsets[position] : offsets[position + 1]]
            to_question.append(float((rows @ asked["vector"]).max()))
            to_clause.append(float((rows @ clause_vectors.T).max()) if len(pieces) else 0.0)
        return (best + weights["question"] * np.array(to_question),
                by_clause + weights["clause"] * np.array(to_clause))

    retriever.search, encoder.embed = remembered_search, remembered_embed
    rag.rerank._coverages = with_vectors

    queries = [q for q in json.loads((SHARED / "queries_dev.json").read_text())
               if q["question_type"] != "null_query"]
    fit, held_out = queries[0::2], queries[1::2]
    if args.quick:
        fit, held_out = fit[:100], held_out[:100]
    results = {}
    for point in args.grid:
        weights["question"], weights["clause"] = map(float, point.split(":"))
        results[point] = evaluate(retriever, fit)
        print(point, results[point], flush=True)
    best = max(results, key=lambda p: results[p]["map@10"])
    weights["question"], weights["clause"] = map(float, best.split(":"))
    held = evaluate(retriever, held_out)
    weights["question"] = weights["clause"] = 0.0
    without = evaluate(retriever, held_out)
    rows = [[f"{p} (fit)", r["hits@4"], r["hits@10"], r["mrr@10"], r["map@10"], r["p50_ms"]]
            for p, r in results.items()]
    rows += [[f"{best} held-out", held["hits@4"], held["hits@10"], held["mrr@10"], held["map@10"],
              held["p50_ms"]],
             ["0:0 held-out", without["hits@4"], without["hits@10"], without["mrr@10"],
              without["map@10"], without["p50_ms"]]]
    table = markdown_table(["question:clause weights", "Hits@4", "Hits@10", "MRR@10", "MAP@10",
                            "p50 ms"], rows)
    write_results("sentence_vectors-quick" if args.quick else "sentence_vectors",
                  {"sentences": int(offsets[-1]), "fit": results, "best": best,
                   "held_out": held, "held_out_without": without}, table)


if __name__ == "__main__":
    main()
