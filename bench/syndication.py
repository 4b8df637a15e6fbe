"""Syndicated copies: detection precision and recall on a synthetic set made from MultiHop-RAG
articles, and the ingestion rate with detection against without, in the same run.

    python -m bench.syndication [--stories 200] [--distinct 200] [--rate-documents 120]

The set and how the threshold is chosen: docs/benchmarks.md, "Syndicated copies".
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import itertools
import json
import random
import re
import shutil
import time
from collections import Counter
from pathlib import Path

import numpy as np

from bench.common import MULTIHOP, markdown_table, settings_for, write_results
from index import stories
from index.load import Document
from index.pipeline import Ingestor
from index.stories import StoryIndex
from rag.embeddings import encoder_for
from rag.schemas import Article, article_id_for
from rag.store import Store

SHINGLES = (2, 3, 4, 5)
THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
OUTLETS = ("Harbour Times", "Valley Ledger", "Metro Courier", "Plains Gazette", "Coast Wire",
           "Northern Post")
CITIES = ("LONDON", "NEW YORK", "SAN FRANCISCO", "CHICAGO", "TORONTO", "SYDNEY")
# Word swaps a copy desk makes when it rewords a sentence.
REWORDINGS = {"said": "stated", "says": "states", "also": "additionally", "however": "but",
              "big": "large", "about": "around", "new": "fresh", "many": "numerous",
              "because": "since", "before": "prior to", "after": "following", "show": "reveal",
              "help": "assist", "get": "obtain", "use": "employ", "start": "begin"}
HEADLINE_OPENINGS = ("UPDATE: ", "Analysis: ", "Exclusive: ", "Report: ", "Explainer: ")
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def _half(url: str) -> str:
    return "fit" if int(hashlib.sha256(url.encode()).hexdigest(), 16) % 2 else "held_out"


def _paragraphs(body: str) -> list[str]:
    return [p for p in body.split("\n\n") if p.strip()]


def _reword(paragraphs: list[str], rng: random.Random) -> list[str]:
    """One sentence reworded: up to three of its words swapped for others."""
    out = list(paragraphs)
    order = list(range(len(out)))
    rng.shuffle(order)
    for n in order:
        sentences = _SENTENCE.split(out[n])
        for s, sentence in enumerate(sentences):
            words = sentence.split(" ")
            swaps = [i for i, w in enumerate(words) if w.lower() in REWORDINGS][:3]
            if swaps:
                for i in swaps:
                    words[i] = REWORDINGS[words[i].lower()]
                sentences[s] = " ".join(words)
                out[n] = " ".join(sentences)
                return out
    return out


def _trim(paragraphs: list[str], rng: random.Random) -> list[str]:
    """One paragraph (not the first) left out; a one-paragraph text loses its last sentence."""
    if len(paragraphs) >= 3:
        drop = rng.randrange(1, len(paragraphs))
        return [p for i, p in enumerate(paragraphs) if i != drop]
    sentences = _SENTENCE.split(paragraphs[-1])
    return [*paragraphs[:-1], " ".join(sentences[:-1]) or paragraphs[-1]]


def _copy(record: dict, number: int, rng: random.Random) -> Document:
    """A lightly edited copy: another outlet and headline, a dateline or byline, then a
    paragraph trimmed (copies 1 and 2) and a sentence reworded (copies 0 and 2)."""
    outlet = OUTLETS[(number + rng.randrange(len(OUTLETS))) % len(OUTLETS)]
    paragraphs = _paragraphs(record["body"])
    if number in (1, 2):
        paragraphs = _trim(paragraphs, rng)
    if number in (0, 2):
        paragraphs = _reword(paragraphs, rng)
    opening = (f"{rng.choice(CITIES)} ({outlet}) - " if number != 1
               else f"By {outlet} staff\n\n")
    published = dt.date.fromisoformat(record["published_at"][:10])
    return Document(text=opening + "\n\n".join(paragraphs), kind="record",
                    title=rng.choice(HEADLINE_OPENINGS) + (record["title"] or ""),
                    source=outlet, published=published + dt.timedelta(days=number),
                    url=f"{record['url'].rstrip('/')}/copy-{number}")


def synthetic_set(stories_wanted: int, distinct_wanted: int, seed: int = 7
                  ) -> tuple[list[Document], dict[str, str]]:
    """The shuffled documents and each one's true story (its source article's URL)."""
    records = json.loads((MULTIHOP / "corpus.json").read_text())
    records = [r for r in records if len(r["body"].split()) >= 150]
    rng = random.Random(seed)
    rng.shuffle(records)
    # Syndicated and distinct stories drawn category by category, so the distinct ones are
    # on the same topics.
    by_category: dict[str, list[dict]] = {}
    for record in records:
        by_category.setdefault(record["category"], []).append(record)
    total = stories_wanted + distinct_wanted
    chosen: list[dict] = []
    for _, items in sorted(by_category.items()):
        share = -(-total * len(items) // len(records))  # rounded up: `total` in all
        chosen += items[:share]
    chosen = chosen[:total]
    syndicated, distinct = chosen[0::2][:stories_wanted], chosen[1::2][:distinct_wanted]
    documents: list[Document] = []
    truth: dict[str, str] = {}
    for record in syndicated:
        for number in range(3):
            documents.append(_copy(record, number, rng))
            truth[documents[-1].url] = record["url"]
    for record in distinct:
        documents.append(Document(text=record["body"], kind="record", title=record["title"],
                                  source=record["source"], url=record["url"],
                                  published=dt.date.fromisoformat(record["published_at"][:10])))
        truth[record["url"]] = record["url"]
    rng.shuffle(documents)
    return documents, truth


def _articles(documents: list[Document]) -> list[Article]:
    return [Article(id=article_id_for(d.text), text=d.text, title=d.title, source=d.source,
                    published=d.published, url=d.url) for d in documents]


def scores(predicted: dict[str, str], truth: dict[str, str], urls: list[str]) -> dict:
    """Pairwise precision and recall over the documents `urls`: a pair is found when both
    got one story, true when both copy one article."""
    found = true = both = 0
    for a, b in itertools.combinations(urls, 2):
        same_found = predicted[a] == predicted[b]
        same_true = truth[a] == truth[b]
        found += same_found
        true += same_true
        both += same_found and same_true
    return {"precision": round(both / found, 4) if found else 1.0,
            "recall": round(both / true, 4) if true else 1.0, "pairs_found": found,
            "pairs_true": true, "documents": len(urls)}


def detect(articles: list[Article], shingle_words: int, threshold: float) -> dict[str, str]:
    """Each article's story (by URL) as ingestion assigns them, in the set's order."""
    index = StoryIndex(threshold=threshold, shingle_words=shingle_words)
    return {a.url: index.assign(a).story_id for a in articles}


def _margins(articles: list[Article], truth: dict[str, str], urls: list[str]) -> dict:
    """For each shingle size, over the `urls` documents: the lowest estimated Jaccard
    similarity of two copies of one story and the highest of two different stories."""
    wanted = set(urls)
    kept = [a for a in articles if a.url in wanted]
    stories_of = np.array([truth[a.url] for a in kept])
    same = stories_of[:, None] == stories_of[None, :]
    upper = np.triu(np.ones_like(same), k=1)
    found = {}
    for size in SHINGLES:
        values = np.stack([stories.signature(a.text, size).hashvalues for a in kept])
        similarity = np.zeros(same.shape)
        for row in range(len(kept)):
            similarity[row] = (values == values[row]).mean(axis=1)
        found[size] = {"lowest_copies": round(float(similarity[same & upper].min()), 4),
                       "highest_distinct": round(float(similarity[~same & upper].max()), 4)}
    return found


def _fit(articles: list[Article], truth: dict[str, str], halves: dict[str, list[str]]) -> dict:
    """Every shingle size and threshold scored on both halves. The choice, on the fit half
    alone: the shingle size whose copies and distinct stories lie furthest apart, and the
    grid's threshold nearest the middle of that gap (the best F1 among those)."""
    margins = _margins(articles, truth, halves["fit"])
    widest = max(margins, key=lambda n: margins[n]["lowest_copies"]
                 - margins[n]["highest_distinct"])
    middle = (margins[widest]["lowest_copies"] + margins[widest]["highest_distinct"]) / 2
    grid = []
    for size, threshold in itertools.product(SHINGLES, THRESHOLDS):
        predicted = detect(articles, size, threshold)
        row = {"shingle_words": size, "threshold": threshold}
        for half, urls in halves.items():
            row[half] = scores(predicted, truth, urls)
        fit = row["fit"]
        row["fit_f1"] = round(2 * fit["precision"] * fit["recall"]
                              / ((fit["precision"] + fit["recall"]) or 1), 4)
        grid.append(row)
    best = max((r for r in grid if r["shingle_words"] == widest),
               key=lambda r: (r["fit_f1"], -abs(r["threshold"] - middle)))
    return {"grid": grid, "chosen": best, "fit_margins": margins}


def _ingest(documents: list[Document], work: Path, syndication: bool) -> tuple[float, Store]:
    shutil.rmtree(work, ignore_errors=True)
    settings = settings_for(work).model_copy(update={"syndication": syndication})
    store = Store.open(settings)
    ingestor = Ingestor(store, encoder_for(settings), settings)
    ingestor.encoder.embed(["warm-up"] * 4)
    began = time.perf_counter()
    report = ingestor.ingest_documents(documents)
    seconds = time.perf_counter() - began
    if report.skipped:
        raise RuntimeError(f"skipped: {report.skipped[:3]}")
    return seconds, store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stories", type=int, default=200)
    parser.add_argument("--distinct", type=int, default=200)
    parser.add_argument("--rate-documents", type=int, default=120,
                        help="documents of the set ingested with and without detection")
    parser.add_argument("--rounds", type=int, default=2, help="rate runs of each, alternating")
    parser.add_argument("--work-dir", type=Path, default=Path("var/bench-syndication"))
    args = parser.parse_args()
    documents, truth = synthetic_set(args.stories, args.distinct)
    articles = _articles(documents)
    halves: dict[str, list[str]] = {"fit": [], "held_out": []}
    for document in documents:
        halves[_half(truth[document.url])].append(document.url)
    fitted = _fit(articles, truth, halves)
    chosen = fitted["chosen"]
    shipped = {"shingle_words": stories.SHINGLE_WORDS, "threshold": stories.THRESHOLD}
    shipped_row = next(r for r in fitted["grid"] if r["shingle_words"] == shipped[
        "shingle_words"] and r["threshold"] == shipped["threshold"])

    # Ingestion rate, with and without detection, taking turns on the same documents.
    part = documents[: args.rate_documents]
    rates: dict[str, list[float]] = {"with": [], "without": []}
    stored_agree = None
    for round_ in range(args.rounds):
        for name, on in (("without", False), ("with", True)):
            # A store of its own each run: Chroma keeps a client per path for the process.
            seconds, store = _ingest(part, args.work_dir / f"{name}-{round_}", on)
            rates[name].append(len(part) / seconds)
            if on:
                expected = detect(_articles(part), stories.SHINGLE_WORDS, stories.THRESHOLD)
                metas = store.stored_metadata([article_id_for(d.text) for d in part])
                by_url = {m["url"]: m.get("story_id") for m in metas.values()}
                stored_agree = all(by_url[u] == expected[u] for u in by_url)
    best = {name: max(values) for name, values in rates.items()}
    ratio = round(best["with"] / best["without"], 3)

    # Keeping the index in step with a store: signatures read back, or texts signed again.
    sync_source = Store.open(settings_for(args.work_dir / f"with-{args.rounds - 1}"))
    began = time.perf_counter()
    StoryIndex().sync(sync_source)
    from_signatures = time.perf_counter() - began
    began = time.perf_counter()
    for article_id in sync_source.article_ids():
        stories.signature(sync_source.get_article(article_id).text)
    from_texts = time.perf_counter() - began

    payload = {"set": {"stories": args.stories, "copies": 3, "distinct": args.distinct,
                       "documents": len(documents),
                       "halves": dict(Counter(_half(truth[d.url]) for d in documents))},
               "shipped": shipped, "shipped_scores": shipped_row, "fit_choice": chosen,
               "grid": fitted["grid"], "fit_margins": fitted["fit_margins"],
               "rate": {"documents": len(part), "rounds": args.rounds,
                        "with_docs_per_s": [round(r, 2) for r in rates["with"]],
                        "without_docs_per_s": [round(r, 2) for r in rates["without"]],
                        "ratio_best": ratio, "stored_story_ids_match": stored_agree},
               "sync_seconds": {"articles": sync_source.article_count(),
                                "from_stored_signatures": round(from_signatures, 3),
                                "signing_texts_again": round(from_texts, 3)}}
    held = shipped_row["held_out"]
    table = markdown_table(
        ["measure", "value"],
        [["documents (stories x 3 + distinct)", len(documents)],
         ["shipped shingle words / threshold",
          f"{shipped['shingle_words']} / {shipped['threshold']}"],
         ["fit half's choice (widest gap)",
          f"{chosen['shingle_words']} / {chosen['threshold']} (F1 {chosen['fit_f1']})"],
         ["held-out precision / recall", f"{held['precision']} / {held['recall']}"],
         ["fit precision / recall", f"{shipped_row['fit']['precision']} / "
                                    f"{shipped_row['fit']['recall']}"],
         ["ingestion docs/s with / without (best of rounds)",
          f"{best['with']:.2f} / {best['without']:.2f}"],
         ["ratio with / without", ratio],
         ["stored story ids as detected", stored_agree],
         ["sync from stored signatures / signing texts (s)",
          f"{from_signatures:.3f} / {from_texts:.3f}"]])
    write_results("syndication", payload, table)


if __name__ == "__main__":
    main()
