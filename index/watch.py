"""One poll of every feed subscription: download each feed (conditionally), turn its entries
into documents (the entry's content, else its page read by `index.html`), and hand them to
the store's ingestion, or to the server holding the store. One feed's or entry's failure is
its own."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from index.encoding import decode_text
from index.feeds import Feed, FeedEntry, UnreadableFeed, parse_feed
from index.fetch import ACCEPT_PAGE, Fetcher, FetchError
from index.html import UnreadablePage, extract_html, looks_like_html
from index.load import Document
from index.pipeline import Ingestor, IngestReport
from rag.config import Settings
from rag.store import Store
from rag.subscriptions import PollRecord, now, record_poll
from rag.urls import canonical_url


class Destination(Protocol):
    """Where subscriptions are read and entries go: the store, or the server holding it."""

    def subscriptions(self) -> list[dict[str, Any]]: ...

    def ingest(self, documents: list[Document], report: IngestReport) -> None: ...

    def record(self, feed_id: str, poll: PollRecord) -> None: ...


@dataclass
class FeedResult:
    """What polling one subscription did."""

    feed: dict[str, Any]
    poll: PollRecord
    report: IngestReport = field(default_factory=IngestReport)

    @property
    def failed(self) -> bool:
        return self.poll.status == "error"

    def line(self) -> str:
        """The feed's one-line summary."""
        name = f"{self.poll.title or self.feed.get('title') or self.feed['url']} " \
               f"({self.feed['id']})"
        if self.poll.status == "error":
            return f"{name}: failed: {self.poll.error}"
        if self.poll.status == "not_modified":
            return f"{name}: not modified"
        r = self.report
        return (f"{name}: {self.poll.entries} entries: {len(r.added)} added, "
                f"{len(r.unchanged)} unchanged, {len(r.updated)} updated, "
                f"{len(r.removed)} replaced, {len(r.skipped)} skipped")

    def as_json(self) -> dict[str, Any]:
        r = self.report
        return {"id": self.feed["id"], "url": self.feed["url"], **self.poll.model_dump(),
                "added": [a.id for a in r.added], "unchanged": [a.id for a in r.unchanged],
                "updated": [a.id for a, _ in r.updated], "replaced": r.removed,
                "skipped": [{"entry": name, "reason": reason} for name, reason in r.skipped]}


def poll_all(destination: Destination, fetcher: Fetcher, settings: Settings,
             on_result: Callable[[FeedResult], None] | None = None) -> list[FeedResult]:
    """Poll every subscription once, in the order they were added."""
    results = []
    for feed in destination.subscriptions():
        result = poll_feed(feed, destination, fetcher, settings)
        results.append(result)
        if on_result:
            on_result(result)
    return results


def poll_feed(feed: dict[str, Any], destination: Destination, fetcher: Fetcher,
              settings: Settings) -> FeedResult:
    began = now()
    try:
        fetched = fetcher.get(feed["url"], feed.get("etag"), feed.get("last_modified"))
        if fetched.status == 304:
            poll = PollRecord(polled_at=began, status="not_modified")
            destination.record(feed["id"], poll)
            return FeedResult(feed, poll)
        parsed = parse_feed(fetched.body, fetched.content_type, settings.feed_max_entries)
    except Exception as error:  # FetchError, UnreadableFeed, or a reader's own failure
        poll = PollRecord(polled_at=began, status="error", error=_reason(error)[:2000])
        destination.record(feed["id"], poll)
        return FeedResult(feed, poll)
    result = FeedResult(feed, PollRecord(
        polled_at=began, status="ok", etag=fetched.etag, last_modified=fetched.last_modified,
        title=(parsed.title or "")[:1000] or None, entries=len(parsed.entries)))
    report = result.report
    report.skipped += [(feed["url"], problem) for problem in parsed.problems]
    documents, links = [], set()
    for position, entry in enumerate(parsed.entries):
        label = entry.link or entry.title or f"entry {position + 1}"
        link = canonical_url(entry.link)
        if link in links:  # one article a link: the feed's first (newest) entry for it
            report.skipped.append((label, "the same link as an earlier entry of the feed"))
            continue
        if link is not None:
            links.add(link)
        try:
            documents.append(entry_document(entry, parsed, fetcher))
        except Exception as error:  # one entry's failure is its own skip
            report.skipped.append((label, _reason(error)))
    if documents:
        try:
            destination.ingest(documents, report)
        except Exception as error:  # the store or the server failed: this feed's failure
            result.poll = PollRecord(polled_at=began, status="error",
                                     error=_reason(error)[:2000])
    # Validators are kept only once the entries are stored: a run that failed before that
    # downloads the feed whole again next time.
    destination.record(feed["id"], result.poll)
    return result


def entry_document(entry: FeedEntry, feed: Feed, fetcher: Fetcher) -> Document:
    """The entry as a document: its own content when the feed carries it, else its linked
    page read as `rag index` reads an HTML file. Raises `FetchError`, `UnreadablePage` or
    `ValueError` with the reason it cannot be read."""
    page = None
    if entry.content:
        text = entry.content
        if looks_like_html(text):
            page = extract_html(text, url=entry.link)
            if page is None:
                raise ValueError("no article text in the entry's content")
            text = page.text
    elif entry.link:
        fetched = fetcher.get(entry.link, accept=ACCEPT_PAGE)
        page = extract_html(decode_text(fetched.body, html=True), url=fetched.url)
        if page is None:
            raise ValueError(f"no article text in the page at {fetched.url}")
        text = page.text
    else:
        raise ValueError("the entry has neither content nor a link")
    if not text.strip():
        raise ValueError("the entry's content is empty")
    return Document(
        text=text, kind="record", title=entry.title or (page.title if page else None),
        source=feed.title or (page.source if page else None),
        published=entry.published or (page.published if page else None),
        url=entry.link or (page.url if page else None),
        author=entry.author or (page.author if page else None))


def _reason(error: Exception) -> str:
    """Why something failed, on one line: our own errors' messages as they are, any other
    error's type too."""
    message = " ".join(str(error).split())
    if isinstance(error, FetchError | UnreadableFeed | UnreadablePage | ValueError):
        return message or type(error).__name__
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


class StoreDestination:
    """The embedded or Chroma-server store this process holds."""

    def __init__(self, store: Store, ingestor: Ingestor) -> None:
        self.store, self.ingestor = store, ingestor

    def subscriptions(self) -> list[dict[str, Any]]:
        return self.store.feeds()

    def ingest(self, documents: list[Document], report: IngestReport) -> None:
        self.ingestor.ingest_documents(documents, report)

    def record(self, feed_id: str, poll: PollRecord) -> None:
        record_poll(self.store, feed_id, poll)


def results_json(results: list[FeedResult]) -> str:
    return json.dumps([r.as_json() for r in results], indent=2)
