"""Ingestion throughput on MultiHop-RAG, beside the raw encoder and llama-index's pipeline, then
re-indexing the unchanged corpus (docs/benchmarks.md, section 2).
`python -m bench.ingestion [--quick] [--articles N]`
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from bench import baseline
from bench.common import MULTIHOP, SOURCE_STORE, markdown_table, settings_for, write_results
from index.pipeline import Ingestor
from rag.embeddings import encoder_for
from rag.sentence_vectors import sentence_texts
from rag.store import Store
from rag.tokens import count_tokens

LLAMA_SLICE = 200  # articles a llama-index pipeline run: ~2,700 nodes, under Chroma's limit


def _fresh(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def _rates(seconds: float, articles: int, chunks: int, tokens: int) -> dict:
    return {"seconds": round(seconds, 2), "articles": articles, "chunks": chunks,
            "tokens": tokens, "articles_per_s": round(articles / seconds, 2),
            "chunks_per_s": round(chunks / seconds, 2), "tokens_per_s": round(tokens / seconds)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a 40-article slice")
    parser.add_argument("--articles", type=int, default=None, help="a slice of this many")
    parser.add_argument("--work-dir", type=Path, default=Path("var/bench-ingest"))
    args = parser.parse_args()
    records = json.loads((MULTIHOP / "corpus.json").read_text())
    records = records[: args.articles or (40 if args.quick else len(records))]
    work = _fresh(args.work_dir)
    corpus = work / "corpus.json"
    corpus.write_text(json.dumps(records))

    settings = settings_for(work / "product")
    encoder = encoder_for(settings)
    encoder.embed(["warm-up"] * 8)

    # 1. Our pipeline: read, clean, chunk, embed, store; by default every sentence is embedded
    # on its own as well (rag/sentence_vectors.py), with RAG_SENTENCE_VECTORS=false only chunks.
    # Both embed with the int8 encoder, one text a run (index/pipeline.py).
    products = {}
    for name, overrides in (("chunks_only", {"sentence_vectors": False}), ("default", {})):
        run_settings = settings_for(work / f"product-{name}").model_copy(update=overrides)
        store = Store.open(run_settings)
        ingestor = Ingestor(store, encoder, run_settings)
        int8 = ingestor.encoder
        int8.embed(["warm-up"])  # loaded before the clock starts
        began = time.perf_counter()
        report = ingestor.ingest_paths([corpus])
        product_s = time.perf_counter() - began
        chunks = list(store.iter_chunks())
        texts = [c.text for c in chunks]
        tokens = sum(count_tokens(t) for t in texts)
        products[name] = _rates(product_s, len(report.added), len(texts), tokens)
    product = products["chunks_only"]

    # 2. The encoders alone: the shipped model batched on the same chunk texts (how documents
    # were embedded before commit 434079e, and how llama-index embeds them), and the int8 model on
    # the texts the default pipeline embeds (each chunk, each distinct sentence), a run a text.
    articles = len(report.added)

    def timed(run: Callable[[], object]) -> float:
        began = time.perf_counter()
        run()
        return time.perf_counter() - began

    raw = _rates(timed(lambda: encoder.embed(texts)), articles, len(texts), tokens)
    sentences = list(dict.fromkeys(t for c in chunks for t in sentence_texts(c)))
    int8_chunks_s = timed(lambda: int8.embed(texts))
    int8_sentences_s = timed(lambda: int8.embed(sentences))
    raw_int8 = _rates(int8_chunks_s + int8_sentences_s, articles, len(texts), tokens)
    raw_int8["sentences"] = len(sentences)
    raw_int8["chunks_seconds"] = round(int8_chunks_s, 2)
    print(f"newsrag {products}\nraw encoder {raw}\nraw int8 {raw_int8}", flush=True)

    # 3. llama-index's IngestionPipeline into Chroma, same model, same chunk size; run on slices
    # of the corpus, as ChromaVectorStore.add sends all its nodes in one call and Chroma
    # refuses more than 5,461 (the whole corpus makes 8,120).
    began = time.perf_counter()
    nodes = []
    for begin in range(0, len(records), LLAMA_SLICE):
        nodes += baseline.ingest(records[begin : begin + LLAMA_SLICE], work / "llama-index",
                                 encoder, settings.chunk_tokens, settings.chunk_overlap)
    llama_s = time.perf_counter() - began
    llama = _rates(llama_s, len(records), len(nodes), sum(count_tokens(n.text) for n in nodes))

    # 4. Re-indexing the whole unchanged corpus over a copy of the embedded store.
    reindex_dir = work / "reindex"
    shutil.copytree(SOURCE_STORE, reindex_dir)
    full = settings_for(reindex_dir)
    reindexer = Ingestor(Store.open(full), encoder, full)
    seconds = []
    for _ in range(2):  # the first pass reads the copied store from disk; the second is warm
        began = time.perf_counter()
        again = reindexer.ingest_paths([MULTIHOP / "corpus.json"])
        seconds.append(round(time.perf_counter() - began, 2))
    reindex = {"seconds": seconds[0], "seconds_warm": seconds[1],
               "unchanged": len(again.unchanged), "added": len(again.added)}

    ratios = {"default_over_raw_int8_same_texts": round(raw_int8["seconds"]
                                                        / products["default"]["seconds"], 2),
              "chunks_only_over_raw_int8_chunks": round(int8_chunks_s / product["seconds"], 2)}
    ratios.update({f"{key}_over_{base}": round(run[unit] / reference[unit], 2)
                   for key, run in (("chunks_only", product), ("default", products["default"]))
                   for base, reference, unit in (("raw_encoder", raw, "tokens_per_s"),
                                                 ("llama_index_articles", llama,
                                                  "articles_per_s"))})
    rows = [[name, r["articles"], r["chunks"], r["tokens"], r["seconds"], r["articles_per_s"],
             r["chunks_per_s"], r["tokens_per_s"]]
            for name, r in (("newsrag ingest (default: chunks and sentences)",
                             products["default"]),
                            ("newsrag ingest, chunks only (RAG_SENTENCE_VECTORS=false)", product),
                            (f"raw int8 encoder, a run a text: the chunks and their "
                             f"{len(sentences)} sentences", raw_int8),
                            ("raw shipped encoder, batched, the same chunks", raw),
                            ("llama-index IngestionPipeline + Chroma", llama))]
    table = markdown_table(["pipeline", "articles", "chunks", "tokens", "s", "articles/s",
                            "chunks/s", "tokens/s"], rows)
    table += "\n\n" + "; ".join(f"{key}: {value}" for key, value in ratios.items())
    table += (f"\nre-indexing the unchanged {reindex['unchanged']}-article corpus: "
              f"{reindex['seconds']} s, again {reindex['seconds_warm']} s "
              f"({reindex['added']} embedded again)")
    # A slice (--quick, --articles) goes to ingestion-quick.*: it never replaces the record.
    name = "ingestion-quick" if args.quick or args.articles else "ingestion"
    write_results(name, {"product": products, "raw_encoder": raw, "raw_int8": raw_int8,
                         "llama_index": llama,
                                "ratios": ratios, "reindex_unchanged": reindex}, table)


if __name__ == "__main__":
    main()
