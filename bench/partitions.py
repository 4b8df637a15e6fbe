"""Partitions: whether three month partitions behind the router rank the MultiHop-RAG dev
questions as one store does, and the router's overhead, interleaved question by question.

    python -m bench.partitions [--chunks 10000] [--questions 300] [--single DIR] [--servers]
                               [--against REF]

Method and results: docs/operations.md, "Partitions"; bench/results/partitions.{json,md}.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import shutil
import statistics
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from unittest import mock

from bench.common import (
    ROOT,
    ChromaServer,
    _source_articles,
    build_store,
    markdown_table,
    percentiles,
    questions,
    settings_for,
    write_results,
)
from rag import query as reading
from rag.config import Settings
from rag.embeddings import embed_with_parts, load_encoder, text_encoder_for
from rag.partitions import PartitionMap, open_stores
from rag.retrieve import Retriever
from rag.router import Router
from rag.store import WRITE_BATCH, Store

WORK = ROOT / "var" / "bench-partitions"
PARTITIONS = 3
WARM_UP = 20


def copy_articles(source: Store, targets: list[Store], partition_map: PartitionMap) -> list[int]:
    """Every article of `source` (chunks, vectors, sentence vectors, metadata) written to the
    target of its month; returns the chunk count of each target."""
    batches: list[list] = [[] for _ in targets]
    for article, chunks, vectors, sentences in _source_articles(source):
        batch = batches[partition_map.of(article.published)]
        batch.append((article, chunks, vectors, sentences))
        if sum(len(b[1]) for b in batch) >= WRITE_BATCH - 100:
            _write(targets[partition_map.of(article.published)], batch)
            batch.clear()
    for target, batch in zip(targets, batches, strict=True):
        _write(target, batch)
    return [target.chunk_count() for target in targets]


def _write(store: Store, batch: list) -> None:
    if batch:
        store.add_articles([(a, c, v) for a, c, v, _ in batch],
                           [s for *_, sentences in batch for s in sentences])


@contextlib.contextmanager
def chroma_servers(folder: Path, count: int) -> Iterator[list[str]]:
    """`count` fresh `chroma run` servers on 127.0.0.1, stopped on the way out."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    with contextlib.ExitStack() as servers:
        yield [servers.enter_context(ChromaServer(folder / f"data-{number}",
                                                  folder / f"chroma-{number}.log")).url
               for number in range(count)]


def stores_for(chunks: int, servers: list[str] | None,
               single_dir: Path | None = None) -> tuple[Settings, Settings, list[int]]:
    """The single store's settings and the partitioned one's (built when missing), and the
    partitions' chunk counts. `single_dir`: an embedded store to split instead of one of
    `chunks` chunks built by `build_store` (the MultiHop-RAG evaluation store, say)."""
    if single_dir is None:
        single_dir = WORK / f"single-{chunks}"
        build_store(chunks, single_dir)
    source = Store.open(settings_for(single_dir))
    partition_map = PartitionMap(PARTITIONS)
    if servers:
        single = Settings(data_dir=WORK / "servers" / "single", chroma_url=servers[0],
                          _env_file=None)
        parted = Settings(data_dir=WORK / "servers" / "router", partitions=servers[1:],
                          _env_file=None)
        copy_articles(source, [Store.open(single)], PartitionMap(1))
        counts = copy_articles(source, open_stores(parted), partition_map)
        return single, parted, counts
    parted = Settings(data_dir=WORK / f"partitioned-{single_dir.name}", _env_file=None,
                      partitions=[f"month{k}" for k in range(PARTITIONS)])
    marker = parted.data_dir / "bench-partitions.json"
    held = source.chunk_count()
    if marker.exists() and json.loads(marker.read_text()).get("chunks") == held:
        counts = json.loads(marker.read_text())["counts"]
    else:
        shutil.rmtree(parted.data_dir, ignore_errors=True)
        counts = copy_articles(source, open_stores(parted), partition_map)
        marker.write_text(json.dumps({"chunks": held, "counts": counts}))
    return settings_for(single_dir), parted, counts


def router_at(ref: str) -> ModuleType:
    """rag/router.py as it is at git `ref`, imported beside the current one (the rest of `rag`
    is the current code's), to be timed in turns with it."""
    source = subprocess.run(["git", "-C", str(ROOT), "show", f"{ref}:rag/router.py"],
                            check=True, capture_output=True, text=True).stdout
    name = "router_at_" + "".join(c if c.isalnum() else "_" for c in ref)
    path = WORK / f"{name}.py"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def measure(single: Settings, parted: Settings, asked: list[str], timed: int,
            against: ModuleType | None = None) -> dict:
    """Top-10 agreement over `asked`; search times over the first `timed`, each question
    asked of every side in turn (which goes first rotates): whole searches, then with each
    question's vectors computed once and reused (the embedding is the same work on every
    side, and most of a search's time and noise). `against`: another router module
    (`router_at`) timed in the same turns over the same partitions."""
    encoder = text_encoder_for(single, load_encoder("onnx"))
    retriever = Retriever(Store.open(single), encoder, single)
    sides = [retriever, Router.open(parted, encoder)]
    if against is not None:
        sides.append(against.Router.open(parted, encoder))
    for question in asked[:WARM_UP]:
        for side in sides:
            side.search(question, top_k=10)
    same_top10, same_but_ties, worst, same_against = 0, 0, 0.0, 0
    whole: list[list[float]] = [[] for _ in sides]
    for number, question in enumerate(asked):
        hits, times = _turn(sides, question, number % len(sides))
        if number < timed:
            for side, took in zip(whole, times, strict=True):
                side.append(took)
        a, b = hits[0], hits[1]
        same_top10 += [h.chunk.id for h in a] == [h.chunk.id for h in b]
        same_but_ties += _same_but_ties(a, b)
        worst = max([worst, *(abs(x.score - y.score) for x, y in zip(a, b, strict=False))])
        same_against += [h.chunk.id for h in hits[-1]] == [h.chunk.id for h in b]
    memo: dict = {}

    def embedded_once(encoder: object, text: str, spans: list) -> object:
        key = (text, tuple(spans))
        if key not in memo:
            memo[key] = embed_with_parts(encoder, text, spans)
        return memo[key]

    retrieval: list[list[float]] = [[] for _ in sides]
    with mock.patch.object(reading, "embed_with_parts", embedded_once):
        for number, question in enumerate(asked[:timed]):
            _turn(sides, question, 0)  # embeds, once for every side
            _, times = _turn(sides, question, number % len(sides))
            for side, took in zip(retrieval, times, strict=True):
                side.append(took)
    found = {"questions": len(asked), "same_top10": same_top10,
             "same_top10_but_order_within_exact_ties": same_but_ties,
             "max_abs_score_difference": worst, "timed_questions": timed,
             "whole_search": _timings(*whole[:2]),
             "question_embedded_once": _timings(*retrieval[:2])}
    if against is not None:
        found["against"] = {
            "same_top10_as_router": same_against,
            "whole_search": _timings(whole[0], whole[2]),
            "question_embedded_once": _timings(retrieval[0], retrieval[2]),
            "router_minus_against_p50_ms": {
                key: round(statistics.median([b - c for b, c in
                                              zip(times[1], times[2], strict=True)]), 2)
                for key, times in (("whole_search", whole),
                                   ("question_embedded_once", retrieval))}}
    return found


def _same_but_ties(a: list, b: list) -> bool:
    """The same chunks with the same scores rank by rank, chunks of exactly equal scores (one
    store's) in any order among themselves."""
    if len(a) != len(b) or {h.chunk.id for h in a} != {h.chunk.id for h in b}:
        return False
    score_of = {h.chunk.id: h.score for h in a}
    return all(abs(score_of[y.chunk.id] - x.score) <= 1e-6 * abs(x.score)
               for x, y in zip(a, b, strict=True))


def _turn(sides: list, question: str, first: int) -> tuple[list[list], list[float]]:
    """Every side's top 10 and milliseconds for one question, asked from side `first` on."""
    hits: list[list] = [[] for _ in sides]
    times = [0.0 for _ in sides]
    for side in [*range(first, len(sides)), *range(first)]:
        began = time.perf_counter()
        hits[side] = sides[side].search(question, top_k=10).hits
        times[side] = (time.perf_counter() - began) * 1000
    return hits, times


def _timings(one_ms: list[float], routed_ms: list[float]) -> dict:
    return {"single_store": percentiles(one_ms), "router": percentiles(routed_ms),
            "router_overhead_p50_ms": round(statistics.median(
                [b - a for a, b in zip(one_ms, routed_ms, strict=True)]), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chunks", type=int, default=10_000)
    parser.add_argument("--questions", type=int, default=300, help="timed")
    parser.add_argument("--equality-questions", type=int, default=None,
                        help="top-10 compared (default: every dev question)")
    parser.add_argument("--single", type=Path, default=None,
                        help="an embedded store to split instead of a built one of --chunks")
    parser.add_argument("--servers", action="store_true",
                        help="one `chroma run` for the single store, one a partition")
    parser.add_argument("--against", default=None, metavar="REF",
                        help="also time rag/router.py of this git ref, in the same turns")
    args = parser.parse_args()
    against = router_at(args.against) if args.against else None
    asked = questions(args.equality_questions)
    with (chroma_servers(WORK / "servers", PARTITIONS + 1) if args.servers
          else contextlib.nullcontext(None)) as servers:
        single, parted, counts = stores_for(args.chunks, servers, args.single)
        found = measure(single, parted, asked, min(args.questions, len(asked)), against)
    chunks = sum(counts)
    found.update({"chunks": chunks, "store": str(args.single or f"built, {args.chunks}"),
                  "partition_chunks": counts,
                  "mode": "chroma servers" if args.servers else "embedded collections"})
    rows = [[found["mode"], chunks, "/".join(map(str, counts)),
             f"{found['same_top10']}/{found['questions']} "
             f"({found['same_top10_but_order_within_exact_ties']})",
             f"{found['max_abs_score_difference']:.1e}", what,
             found[key]["single_store"]["p50_ms"], found[key]["router"]["p50_ms"],
             found[key]["router_overhead_p50_ms"]]
            for what, key in (("whole search", "whole_search"),
                              ("question embedded once", "question_embedded_once"))]
    if against is not None:
        versus = found["against"]
        rows += [[f"{found['mode']}, router at {args.against}", chunks,
                  "/".join(map(str, counts)),
                  f"{versus['same_top10_as_router']}/{found['questions']} (as the router)", "",
                  what, versus[key]["single_store"]["p50_ms"], versus[key]["router"]["p50_ms"],
                  versus[key]["router_overhead_p50_ms"]]
                 for what, key in (("whole search", "whole_search"),
                                   ("question embedded once", "question_embedded_once"))]
        found["against"]["ref"] = args.against
    table = markdown_table(["partitions on", "chunks", "per partition",
                            "same top 10 (but exact ties' order)",
                            "max score diff", "timed", "one store p50 ms", "router p50 ms",
                            "overhead p50 ms (paired)"], rows)
    name = "partitions" + ("-servers" if args.servers else "") + (
        f"-{args.single.name}" if args.single else "")
    write_results(name, found, table)


if __name__ == "__main__":
    main()
