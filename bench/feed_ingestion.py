"""Feed ingestion against the file pipeline on the same articles, then an unchanged re-poll.

    python -m bench.feed_ingestion [--items N] [--rounds 2]

Both run in this process with the same warmed encoder, each on a fresh store, taking turns;
the ratio is of articles a second. Method: docs/benchmarks.md, "Feed ingestion".
"""

from __future__ import annotations

import argparse
import html
import json
import shutil
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from bench.common import MULTIHOP, markdown_table, settings_for, write_results
from index.fetch import Fetcher
from index.pipeline import Ingestor
from index.watch import StoreDestination, poll_all
from rag.embeddings import encoder_for
from rag.store import Store
from rag.subscriptions import subscribe

SLICE = 800  # characters of a story an item


def items(count: int) -> list[dict]:
    """`count` distinct stories: consecutive slices of the corpus' articles, cut at sentence
    ends, the first slice of every article before any second one."""
    records = json.loads((MULTIHOP / "corpus.json").read_text())
    found: list[dict] = []
    part = 0
    while len(found) < count:
        for number, record in enumerate(records):
            sentences = record["body"].replace("\n", " ").split(". ")
            text, pieces = "", []
            for sentence in sentences:
                pieces.append(sentence)
                if len(". ".join(pieces)) >= SLICE * (part + 1):
                    break
            text = ". ".join(pieces)[SLICE * part:].strip()
            if len(text) < 300:
                continue
            found.append({"title": f"{record['title']} ({part + 1})", "text": text,
                          "published": record["published_at"][:10],
                          "path": f"/articles/{part}-{number}.html"})
            if len(found) == count:
                break
        part += 1
    return found


def page(item: dict) -> str:
    paragraphs = "".join(f"<p>{html.escape(p.strip())}.</p>"
                         for p in item["text"].split(". ") if p.strip())
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>"
            f"{html.escape(item['title'])}</title></head><body><article><h1>"
            f"{html.escape(item['title'])}</h1>{paragraphs}</article></body></html>")


def feed(stories: list[dict], base: str) -> bytes:
    entries = "".join(
        f"<item><title>{html.escape(s['title'])}</title><link>{base}{s['path']}</link>"
        f"<guid>{s['path']}</guid><pubDate>{s['published']}T08:00:00Z</pubDate>"
        f"<content:encoded><![CDATA[{page(s)}]]></content:encoded></item>" for s in stories)
    return ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
            'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>Bench '
            f"Wire</title><link>{base}/</link>{entries}</channel></rss>").encode()


class FeedHost:
    """Serves one feed document at /feed.rss with an ETag; counts the answers by status."""

    def __init__(self) -> None:
        self.body = b""
        self.answers: list[int] = []
        host = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                etag = f'"{hash(host.body) & 0xFFFFFFFF:x}"'
                if self.path != "/feed.rss":
                    status, body = 404, b""
                elif self.headers.get("If-None-Match") == etag:
                    status, body = 304, b""
                else:
                    status, body = 200, host.body
                host.answers.append(status)
                self.send_response(status)
                self.send_header("ETag", etag)
                self.send_header("Content-Type", "application/rss+xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def run_files(pages: Path, settings, encoder, store_dir: Path) -> tuple[float, int, int]:
    """The file pipeline on the pages as HTML files, into a fresh store: seconds, articles,
    chunks."""
    shutil.rmtree(store_dir, ignore_errors=True)
    store = Store.open(settings.model_copy(update={"data_dir": store_dir}))
    began = time.perf_counter()
    report = Ingestor(store, encoder, settings).ingest_paths([pages])
    return time.perf_counter() - began, len(report.added), store.chunk_count()


def run_feed(url: str, settings, encoder, store_dir: Path):
    """One poll of the feed's subscription into a fresh store, as `rag watch --once` polls:
    seconds, the poll's result, the destination (for the re-poll)."""
    shutil.rmtree(store_dir, ignore_errors=True)
    feed_settings = settings.model_copy(update={"data_dir": store_dir})
    store = Store.open(feed_settings)
    subscribe(store, url, feed_settings.max_feeds)
    destination = StoreDestination(store, Ingestor(store, encoder, feed_settings))
    fetcher = Fetcher(feed_settings)
    began = time.perf_counter()
    [polled] = poll_all(destination, fetcher, feed_settings)
    seconds = time.perf_counter() - began
    fetcher.close()
    return seconds, polled, destination


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=1,
                        help="1: files then feed; 2: files, feed, feed, files (drift cancels)")
    parser.add_argument("--work-dir", type=Path, default=Path("var/bench-feeds"))
    args = parser.parse_args()
    shutil.rmtree(args.work_dir, ignore_errors=True)
    stories = items(args.items)
    pages = args.work_dir / "pages"
    pages.mkdir(parents=True)
    for story in stories:
        (pages / Path(story["path"]).name).write_text(page(story), encoding="utf-8")
    host = FeedHost()
    host.body = feed(stories, host.url)
    url = f"{host.url}/feed.rss"

    settings = settings_for(args.work_dir / "files").model_copy(update={
        "feeds_allow_networks": ["127.0.0.1"], "feed_max_entries": max(args.items, 100),
        "feed_max_bytes": max(len(host.body) + 1, 5_000_000)})
    encoder = encoder_for(settings)
    warm = Ingestor(Store.open(settings_for(args.work_dir / "warm")), encoder, settings)
    warm.ingest_paths(sorted(pages.iterdir())[:5])  # load the encoders and readers once

    order = ["files", "feed"] if args.rounds == 1 else ["files", "feed", "feed", "files"]
    order = order * max(1, args.rounds // 2)
    timings: dict[str, list[float]] = {"files": [], "feed": []}
    counts: dict[str, tuple[int, int]] = {}
    for position, run in enumerate(order):
        store_dir = args.work_dir / f"{run}-{position}"
        if run == "files":
            seconds, articles, chunks = run_files(pages, settings, encoder, store_dir)
        else:
            seconds, polled, destination = run_feed(url, settings, encoder, store_dir)
            articles, chunks = len(polled.report.added), destination.store.chunk_count()
            assert polled.poll.status == "ok" and not polled.report.skipped, polled.line()
        timings[run].append(seconds)
        counts[run] = (articles, chunks)
        print(f"{run}: {articles} articles, {chunks} chunks, {seconds:.1f} s", flush=True)

    # The last feed store polled again, unchanged, by a new fetcher (as a new `rag watch`).
    host.answers.clear()
    chunks_before = destination.store.chunk_count()
    fetcher = Fetcher(settings)
    began = time.perf_counter()
    [again] = poll_all(destination, fetcher, settings)
    repoll_seconds = time.perf_counter() - began
    fetcher.close()
    host.close()

    files_seconds, feed_seconds = sum(timings["files"]), sum(timings["feed"])
    files_rate = counts["files"][0] * len(timings["files"]) / files_seconds
    feed_rate = counts["feed"][0] * len(timings["feed"]) / feed_seconds
    results = {
        "items": args.items, "order": order,
        "file_pipeline": {"articles": counts["files"][0], "chunks": counts["files"][1],
                          "seconds": [round(t, 2) for t in timings["files"]],
                          "articles_per_s": round(files_rate, 2)},
        "feed": {"articles": counts["feed"][0], "chunks": counts["feed"][1],
                 "seconds": [round(t, 2) for t in timings["feed"]],
                 "articles_per_s": round(feed_rate, 2)},
        "ratio_feed_to_files": round(feed_rate / files_rate, 3),
        "repoll": {"status": again.poll.status, "requests": host.answers,
                   "chunks_added": again.report.chunks_added,
                   "articles_ingested": len(again.report.added) + len(again.report.unchanged),
                   "store_chunks_changed": destination.store.chunk_count() != chunks_before,
                   "seconds": round(repoll_seconds, 3)},
    }
    table = markdown_table(
        ["run", "articles", "chunks", "s (each run)", "articles/s"],
        [["file pipeline (HTML files)", counts["files"][0], counts["files"][1],
          " / ".join(f"{t:.1f}" for t in timings["files"]), round(files_rate, 2)],
         ["feed from 127.0.0.1 (content:encoded)", counts["feed"][0], counts["feed"][1],
          " / ".join(f"{t:.1f}" for t in timings["feed"]), round(feed_rate, 2)]])
    table += (f"\n\nfeed / files: **{results['ratio_feed_to_files']}x**; re-poll unchanged: "
              f"{again.poll.status}, requests answered {host.answers}, "
              f"{again.report.chunks_added} chunks embedded, {repoll_seconds:.3f} s")
    write_results(f"feed_ingestion-{args.items}", results, table)


if __name__ == "__main__":
    main()
