"""One poll of every feed subscription: download each feed (conditionally; a sitemap index's
sitemaps too), turn its entries into documents (the entry's content, else its page read by
`index.page`), and hand them in batches to the store's ingestion, or to the server holding the
store. One feed's or entry's failure is its own: a feed that failed waits out a backoff, a page
that failed is downloaded again after its own (docs/operations.md, "Feed subscriptions")."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from index.feeds import Feed, FeedEntry, UnreadableFeed, parse_feed
from index.fetch import Fetched, Fetcher, FetchError, FetchRefused, RobotsCopy, origin_of
from index.html import UnreadablePage, extract_html, looks_like_html
from index.load import Document
from index.page import NotAnArticle, fetch_article
from index.pipeline import Ingestor, IngestReport
from rag.config import Settings
from rag.store import Store
from rag.subscriptions import (
    MAX_RETRIES,
    PageRetry,
    PollRecord,
    backoff,
    is_past,
    later,
    now,
    record_poll,
    retries_of,
)
from rag.urls import canonical_url

# Documents handed to the store at once: a poll killed midway keeps the batches stored before.
INGEST_BATCH = 100
# A page that failed this many downloads in a row is given up on (reported, not kept).
MAX_PAGE_FAILURES = 6
SITEMAP_DEPTH = 2  # a sitemap index's sitemaps, and theirs


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
        return self.poll.status in ("error", "waiting")

    def line(self) -> str:
        """The feed's one-line summary."""
        name = f"{self.poll.title or self.feed.get('title') or self.feed['url']} " \
               f"({self.feed['id']})"
        if self.poll.status == "error":
            return f"{name}: failed: {self.poll.error}"
        if self.poll.status == "waiting":
            return (f"{name}: waiting until {self.poll.next_poll} after "
                    f"{self.poll.failures} failed polls: {self.poll.error}")
        r = self.report
        if self.poll.status == "not_modified":
            retried = f"; {len(r.added)} pages retried added" if r.added else ""
            return f"{name}: not modified{retried}"
        return (f"{name}: {self.poll.entries} entries: {len(r.added)} added, "
                f"{len(r.unchanged)} unchanged, {len(r.updated)} updated, "
                f"{len(r.removed)} replaced, {len(r.skipped)} skipped")

    def as_json(self) -> dict[str, Any]:
        r = self.report
        poll = self.poll.model_dump(exclude={"robots_txt", "robots_fetched"})
        return {"id": self.feed["id"], "url": self.feed["url"], **poll,
                "added": [a.id for a in r.added], "unchanged": [a.id for a in r.unchanged],
                "updated": [a.id for a, _ in r.updated], "replaced": r.removed,
                "skipped": [{"entry": name, "reason": reason} for name, reason in r.skipped]}


def poll_all(destination: Destination, fetcher: Fetcher, settings: Settings,
             on_result: Callable[[FeedResult], None] | None = None) -> list[FeedResult]:
    """Poll every subscription once, in the order they were added; a feed whose backoff
    after failed polls is not over is passed over (`waiting`)."""
    results = []
    for feed in destination.subscriptions():
        if not is_past(feed.get("next_poll")):
            result = FeedResult(feed, PollRecord(
                polled_at=now(), status="waiting", error=feed.get("last_error"),
                failures=int(feed.get("failures") or 0), next_poll=feed["next_poll"]))
        else:
            result = poll_feed(feed, destination, fetcher, settings)
        results.append(result)
        if on_result:
            on_result(result)
    return results


def poll_feed(feed: dict[str, Any], destination: Destination, fetcher: Fetcher,
              settings: Settings) -> FeedResult:
    """Poll one subscription: download it, store its new and changed entries, download again
    the pages whose backoff is over, and record what happened."""
    began = now()
    _remember_robots(feed, fetcher)
    retries = {r.link: r for r in retries_of(feed)}
    try:
        fetched = fetcher.get(feed["url"], feed.get("etag"), feed.get("last_modified"))
        parsed = None if fetched.status == 304 else _read_feed(fetched, fetcher, settings)
    except Exception as error:  # FetchError, UnreadableFeed, or a reader's own failure
        failures = int(feed.get("failures") or 0) + 1
        wait = backoff(failures, settings.feed_retry_seconds)
        poll = PollRecord(polled_at=began, status="error", error=_reason(error)[:2000],
                          failures=failures, next_poll=later(wait) if wait > 0 else None,
                          **_robots_fields(feed, fetcher))
        destination.record(feed["id"], poll)
        return FeedResult(feed, poll)
    if parsed is None:
        poll = PollRecord(polled_at=began, status="not_modified", **_robots_fields(feed, fetcher))
        entries: list[FeedEntry] = []
    else:
        poll = PollRecord(
            polled_at=began, status="ok", etag=fetched.etag, last_modified=fetched.last_modified,
            title=(parsed.title or "")[:1000] or None, entries=len(parsed.entries),
            last_entry=(parsed.entries[0].link or "")[:2000] or None if parsed.entries else None,
            **_robots_fields(feed, fetcher))
        entries = parsed.entries
    result = FeedResult(feed, poll)
    report = result.report
    if parsed is not None:
        report.skipped += [(feed["url"], problem) for problem in parsed.problems]
    context = parsed or Feed(feed.get("title"), None, [], [])
    try:
        for batch in _batches(_documents(entries, context, retries, fetcher, settings, report)):
            destination.ingest(batch, report)
    except Exception as error:  # the store or the server failed: this feed's failure
        result.poll = PollRecord(polled_at=began, status="error", error=_reason(error)[:2000],
                                 failures=int(feed.get("failures") or 0) + 1,
                                 retries=_kept(retries))
        destination.record(feed["id"], result.poll)
        return result
    # Validators are kept only once the entries are stored: a run that failed before that
    # downloads the feed whole again next time.
    result.poll = result.poll.model_copy(update={"retries": _kept(retries)})
    destination.record(feed["id"], result.poll)
    return result


def _documents(entries: list[FeedEntry], feed: Feed, retries: dict[str, PageRetry],
               fetcher: Fetcher, settings: Settings, report: IngestReport
               ) -> Iterator[Document]:
    """The documents of a poll: the feed's entries (one a link), then the pages waiting to be
    downloaded again whose time has come; `retries` is updated as pages fail or succeed."""
    links: set[str] = set()
    due = [r for r in retries.values() if is_past(r.next_attempt)]
    listed = [(e, False) for e in entries] + [(_retry_entry(r), True) for r in due]
    for position, (entry, retrying) in enumerate(listed):
        label = entry.link or entry.title or f"entry {position + 1}"
        link = canonical_url(entry.link)
        if link in links:  # one article a link: the feed's first (newest) entry for it
            if not retrying:
                report.skipped.append((label, "the same link as an earlier entry of the feed"))
            continue
        if link is not None:
            links.add(link)
        waiting = retries.get(entry.link or "")
        if waiting and not entry.content and not is_past(waiting.next_attempt):
            report.skipped.append((label, f"its page is downloaded again after "
                                          f"{waiting.next_attempt} ({waiting.reason})"))
            continue
        try:
            document = entry_document(entry, feed, fetcher)
        except FetchError as error:
            report.skipped.append((label, _note_failure(entry, error, retries, settings)))
            continue
        except Exception as error:  # one entry's failure is its own skip
            retries.pop(entry.link or "", None)
            report.skipped.append((label, _reason(error)))
            continue
        retries.pop(entry.link or "", None)
        yield document


def _note_failure(entry: FeedEntry, error: FetchError, retries: dict[str, PageRetry],
                  settings: Settings) -> str:
    """Keep an entry whose page failed for downloading again (unless refused, or failed too
    often); the reason to report."""
    reason = _reason(error)
    link = entry.link or ""
    failures = retries[link].failures + 1 if link in retries else 1
    if isinstance(error, FetchRefused) or not link or settings.feed_retry_seconds <= 0:
        retries.pop(link, None)
        return reason
    if failures >= MAX_PAGE_FAILURES:
        retries.pop(link, None)
        return f"{reason} (given up after {failures} failed downloads)"
    retry = PageRetry(
        link=link[:2000], title=(entry.title or "")[:1000] or None,
        published=entry.published.isoformat() if entry.published else None,
        author=(entry.author or "")[:300] or None, source=(entry.source or "")[:300] or None,
        failures=failures, next_attempt=later(backoff(failures, settings.feed_retry_seconds)),
        reason=reason[:2000])
    retries[link] = retry
    return f"{reason} (downloaded again after {retry.next_attempt})"


def _retry_entry(retry: PageRetry) -> FeedEntry:
    return FeedEntry(link=retry.link, title=retry.title,
                     published=dt.date.fromisoformat(retry.published) if retry.published
                     else None, author=retry.author, content=None, source=retry.source)


def _kept(retries: dict[str, PageRetry]) -> list[PageRetry]:
    """The pages to keep for downloading again, the most recent failures first if too many."""
    kept = sorted(retries.values(), key=lambda r: r.next_attempt, reverse=True)
    return kept[:MAX_RETRIES]


def _batches(documents: Iterator[Document]) -> Iterator[list[Document]]:
    batch: list[Document] = []
    for document in documents:
        batch.append(document)
        if len(batch) == INGEST_BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _read_feed(fetched: Fetched, fetcher: Fetcher, settings: Settings) -> Feed:
    """The feed downloaded; for a sitemap index, the entries of its sitemaps (and of theirs),
    at most `RAG_SITEMAP_MAX_FILES` of them and `RAG_FEED_MAX_ENTRIES` entries in all. Raises
    `UnreadableFeed`."""
    limit = settings.feed_max_entries
    feed = parse_feed(fetched.body, fetched.content_type, limit, settings.feed_max_bytes)
    if not feed.sitemaps:
        return feed
    entries: list[FeedEntry] = []
    problems = list(feed.problems)
    level, files, seen = list(feed.sitemaps), 0, {fetched.url}
    for _ in range(SITEMAP_DEPTH):
        deeper: list[str] = []
        for url in level:
            if url in seen or len(entries) >= limit:
                continue
            seen.add(url)
            if files == settings.sitemap_max_files:
                problems.append(f"sitemap {url}: not read, past RAG_SITEMAP_MAX_FILES "
                                f"({settings.sitemap_max_files})")
                continue
            files += 1
            try:
                child = fetcher.get(url)
                read = parse_feed(child.body, child.content_type, limit - len(entries),
                                  settings.feed_max_bytes)
            except (FetchError, UnreadableFeed) as error:
                problems.append(f"sitemap {url}: {_reason(error)}")
                continue
            entries += read.entries
            deeper += read.sitemaps
        level = deeper
    if level:
        problems.append(f"sitemaps nested deeper than {SITEMAP_DEPTH} levels are not read")
    if not entries and problems:
        raise UnreadableFeed(f"no sitemap of the index could be read: {problems[0]}")
    return Feed(feed.title, feed.link, entries[:limit], problems)


def _remember_robots(feed: dict[str, Any], fetcher: Fetcher) -> None:
    """Hand the fetcher the copy of the feed's host's robots.txt kept with the feed."""
    text, fetched = feed.get("robots_txt"), feed.get("robots_fetched")
    if text is None or not fetched:
        return
    try:
        moment = dt.datetime.fromisoformat(fetched)
    except ValueError:
        return
    origin = origin_of(feed["url"])
    known = fetcher.robots.get(origin)
    if known is None or known.fetched < moment:
        fetcher.robots[origin] = RobotsCopy(text, moment)


def _robots_fields(feed: dict[str, Any], fetcher: Fetcher) -> dict[str, str]:
    """The feed's host's robots.txt to record, when this poll read it anew."""
    origin = origin_of(feed["url"])
    copy = fetcher.robots.get(origin)
    if origin not in fetcher.read_robots or copy is None:
        return {}
    return {"robots_txt": copy.text[:500 * 1024],
            "robots_fetched": copy.fetched.isoformat(timespec="seconds")}


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
        page, _ = fetch_article(entry.link, fetcher)
        text = page.text
    else:
        raise ValueError("the entry has neither content nor a link")
    if not text.strip():
        raise ValueError("the entry's content is empty")
    return Document(
        text=text, kind="record", title=entry.title or (page.title if page else None),
        source=entry.source or feed.title or (page.source if page else None),
        published=entry.published or (page.published if page else None),
        url=entry.link or (page.url if page else None),
        author=entry.author or (page.author if page else None))


def _reason(error: Exception) -> str:
    """Why something failed, on one line: our own errors' messages as they are, any other
    error's type too."""
    message = " ".join(str(error).split())
    if isinstance(error, FetchError | UnreadableFeed | UnreadablePage | NotAnArticle
                                | ValueError):
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
