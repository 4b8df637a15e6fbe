"""The int8 question encoder beside the shipped model: CPU a question, agreement of the
vectors, and MultiHop-RAG retrieval with each (the documents keep the shipped model).

    python -m bench.text_encoder [--quick] [--data-dir DIR]

CPU is process time on one thread, a question at a time, as a request embeds it; retrieval
runs over the store `bench.multihop_retrieval` builds (DIR), on both dev splits.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np

from bench.common import markdown_table, questions, write_results
from bench.multihop_retrieval import SHARED, evaluate
from rag.config import Settings
from rag.embeddings import Encoder, OnnxMiniLM, quantized_model
from rag.retrieve import Retriever
from rag.store import Store


def cpu_ms_per_question(encoder: Encoder, asked: list[str]) -> float:
    encoder.embed(asked[:5])  # warm-up
    began = time.process_time()
    for question in asked:
        encoder.embed([question])
    return (time.process_time() - began) / len(asked) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 questions, 100 a split")
    parser.add_argument("--data-dir", type=Path, default=Path("var/bench-multihop"))
    args = parser.parse_args()
    asked = questions(100 if args.quick else 400)
    settings = Settings(data_dir=args.data_dir, _env_file=None)
    model = quantized_model(settings.model_cache_dir)
    shipped_1, int8_1 = OnnxMiniLM(threads=1), OnnxMiniLM(threads=1, model=model)
    cpu = {"shipped": cpu_ms_per_question(shipped_1, asked),
           "int8": cpu_ms_per_question(int8_1, asked)}
    cosines = np.array([float(shipped_1.embed([q])[0] @ int8_1.embed([q])[0]) for q in asked])

    store = Store.open(settings)
    queries = [q for q in json.loads((SHARED / "queries_dev.json").read_text())
               if q["question_type"] != "null_query"]
    splits = {"fit": queries[0::2], "held-out": queries[1::2]}
    if args.quick:
        splits = {name: split[:100] for name, split in splits.items()}
    retrieval = {}
    for name, encoder in (("shipped", OnnxMiniLM()), ("int8", OnnxMiniLM(model=model))):
        retriever = Retriever(store, encoder, settings)
        retrieval[name] = {split: evaluate(retriever, rows) for split, rows in splits.items()}

    rows = [[name, round(cpu[name], 2), *(retrieval[name]["held-out"][k] for k in
             ("hits@4", "hits@10", "mrr@10", "map@10")), retrieval[name]["fit"]["map@10"],
             retrieval[name]["held-out"]["p50_ms"]] for name in ("shipped", "int8")]
    table = markdown_table(["question encoder", "CPU ms a question (1 thread)", "Hits@4",
                            "Hits@10", "MRR@10", "MAP@10", "MAP@10 fit",
                            "retrieval p50 ms (2 threads)"], rows)
    table += (f"\n\nCosine of the two vectors of a question ({len(asked)} MultiHop-RAG "
              f"questions): min {cosines.min():.4f}, median {statistics.median(cosines):.4f}, "
              f"mean {cosines.mean():.4f}; CPU ratio {cpu['shipped'] / cpu['int8']:.2f}x.")
    write_results("text_encoder" if not args.quick else "question_encoder-quick",
                  {"questions": len(asked), "cpu_ms": cpu,
                   "cosine": {"min": float(cosines.min()), "mean": float(cosines.mean()),
                              "median": float(statistics.median(cosines))},
                   "retrieval": retrieval}, table)


if __name__ == "__main__":
    main()
