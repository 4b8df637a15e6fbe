"""Feed ingestion against the file pipeline on the same articles, then an unchanged re-poll
(docs/benchmarks.md, section 7). `python -m bench.feed_ingestion [--items N]`

The articles are slices of MultiHop-RAG's corpus (a slice of ~800 characters a story, so that
1,000 of them take minutes, not an hour), each written as an HTML page for the file pipeline
(`Ingestor.ingest_paths`) and as an RSS item with the same page in `content:encoded`, served
from 127.0.0.1 by a stdlib HTTP server, for `rag watch`'s poll (`index.watch.poll_all`). Both
run in this process with the same warmed encoder, each on a fresh store; the ratio is of
articles a second, measured in the same run.
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1000)
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

    settings = settings_for(args.work_dir / "files").model_copy(update={
        "feeds_allow_networks": ["127.0.0.1"], "feed_max_entries": max(args.items, 100),
        "feed_max_bytes": max(len(host.body) + 1, 5_000_000)})
    encoder = encoder_for(settings)
    warm = Ingestor(Store.open(settings_for(args.work_dir / "warm")), encoder, settings)
    warm.ingest_paths(sorted(pages.iterdir())[:5])  # load the encoders and readers once

    # 1. The file pipeline: the pages as HTML files.
    files_store = Store.open(settings)
    began = time.perf_counter()
    report = Ingestor(files_store, encoder, settings).ingest_paths([pages])
    files_seconds = time.perf_counter() - began
    files_articles = len(report.added)

    # 2. The feed: one poll of its subscription, in process, into a fresh store.
    feed_settings = settings.model_copy(update={"data_dir": args.work_dir / "feed"})
    store = Store.open(feed_settings)
    subscribe(store, f"{host.url}/feed.rss", feed_settings.max_feeds)
    ingestor = Ingestor(store, encoder, feed_settings)
    destination = StoreDestination(store, ingestor)
    fetcher = Fetcher(feed_settings)
    began = time.perf_counter()
    [polled] = poll_all(destination, fetcher, feed_settings)
    feed_seconds = time.perf_counter() - began
    feed_articles = len(polled.report.added)
    fetcher.close()

    # 3. The same feed polled again, unchanged, by a new fetcher (as a new `rag watch`).
    host.answers.clear()
    chunks_before = store.chunk_count()
    fetcher = Fetcher(feed_settings)
    began = time.perf_counter()
    [again] = poll_all(destination, fetcher, feed_settings)
    repoll_seconds = time.perf_counter() - began
    fetcher.close()
    host.close()

    files_rate = files_articles / files_seconds
    feed_rate = feed_articles / feed_seconds
    results = {
        "items": args.items,
        "file_pipeline": {"articles": files_articles, "seconds": round(files_seconds, 2),
                          "articles_per_s": round(files_rate, 2),
                          "chunks": files_store.chunk_count()},
        "feed": {"articles": feed_articles, "seconds": round(feed_seconds, 2),
                 "articles_per_s": round(feed_rate, 2), "chunks": chunks_before,
                 "skipped": len(polled.report.skipped), "status": polled.poll.status},
        "ratio_feed_to_files": round(feed_rate / files_rate, 3),
        "repoll": {"status": again.poll.status, "requests": host.answers,
                   "chunks_added": again.report.chunks_added,
                   "articles_ingested": len(again.report.added) + len(again.report.unchanged),
                   "chunks_in_store_changed": store.chunk_count() != chunks_before,
                   "seconds": round(repoll_seconds, 3)},
    }
    table = markdown_table(
        ["run", "articles", "chunks", "s", "articles/s"],
        [["file pipeline (HTML files)", files_articles, files_store.chunk_count(),
          round(files_seconds, 1), round(files_rate, 2)],
         ["feed from 127.0.0.1 (content:encoded)", feed_articles, chunks_before,
          round(feed_seconds, 1), round(feed_rate, 2)]])
    table += (f"\n\nfeed / files: **{results['ratio_feed_to_files']}x**; re-poll unchanged: "
              f"requests {host.answers}, {again.report.chunks_added} chunks embedded, "
              f"{repoll_seconds:.3f} s")
    write_results("feed_ingestion", results, table)


if __name__ == "__main__":
    main()
