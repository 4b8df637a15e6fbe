"""Every way a subscription can go, each a clear outcome in the feed's status: `rag watch` as a
real process polling RSS, Atom, JSON Feed, a sitemap index, a feed that repeats items,
malformed XML, a 404, a 500, a slow server, a 50 MB page, a redirect to a private address and a
path robots.txt forbids, all served on 127.0.0.1 (tests/feed_server.py); then again, unchanged;
and a failed page downloaded again after its backoff."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_feeds import rag

from feed_server import FeedServer

ALLOW = {"feeds_allow_networks": '["127.0.0.1"]', "fetch_host_delay_seconds": "0",
         "feed_timeout_seconds": "2"}
# Each subscription's path, and what its first poll must record: status, and the error's words.
OUTCOMES = {
    "/feeds/harbour.rss": ("ok", None),
    "/feeds/veltara.atom": ("ok", None),
    "/feeds/northwind.json": ("ok", None),
    "/sitemaps/index.xml": ("ok", None),
    "/feeds/repeats.rss": ("ok", None),
    "/feeds/broken.xml": ("error", "not a feed"),
    "/status/404": ("error", "HTTP 404 from"),
    "/status/500": ("error", "HTTP 500 from"),
    "/slow": ("error", "took more than 2 s (RAG_FEED_TIMEOUT_SECONDS)"),
    "/huge": ("error", "is larger than 5000000 bytes (RAG_FEED_MAX_BYTES)"),
    "/redirect-private": ("error", "169.254.169.254, not a public address"),
    "/private/harbour.rss": ("error", "disallowed by"),
}


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    with FeedServer() as server:
        yield server


def feeds_by_path(data: Path, server: FeedServer) -> dict[str, dict]:
    listed = json.loads(rag("feeds", "list", "--json", data_dir=data).stdout)
    return {f["url"].removeprefix(server.url): f for f in listed}


def test_every_outcome_is_the_feeds_status_and_nothing_is_indexed_twice(
        tmp_path: Path, feed_server: FeedServer) -> None:
    data = tmp_path / "data"
    added = rag("feeds", "add", *(feed_server.url + path for path in OUTCOMES), data_dir=data)
    assert added.returncode == 0, added.stderr

    first = rag("watch", "--once", "--json", data_dir=data, **ALLOW)
    assert first.returncode == 1, first.stdout + first.stderr  # failures, never a crash
    assert "Traceback" not in first.stderr
    polled = {r["url"].removeprefix(feed_server.url): r for r in json.loads(first.stdout)}
    feeds = feeds_by_path(data, feed_server)
    for path, (status, words) in OUTCOMES.items():
        feed = feeds[path]
        assert feed["last_status"] == status, (path, feed)
        if words:
            assert words in feed["last_error"], (path, feed["last_error"])
            assert feed["failures"] == 1 and feed["next_poll"], feed
        else:
            assert feed["last_error"] is None and feed["failures"] == 0, feed

    # The sitemap index: its news sitemap's pages, with the sitemap's title, outlet and date;
    # its missing sitemap a skip with its reason.
    sitemap = polled["/sitemaps/index.xml"]
    assert sitemap["entries"] == 2 and len(sitemap["added"]) == 2
    assert [s["reason"] for s in sitemap["skipped"]] == [
        f"sitemap {feed_server.url}/sitemaps/gone.xml: "
        f"HTTP 404 from {feed_server.url}/sitemaps/gone.xml"]
    # A feed repeating an item, and the same story under another link: one article.
    repeats = polled["/feeds/repeats.rss"]
    assert len(repeats["added"]) == 1 and repeats["entries"] == 3
    assert [s["reason"] for s in repeats["skipped"]] == [
        "the same link as an earlier entry of the feed"]

    articles = json.loads(rag("docs", "list", "--json", data_dir=data).stdout)
    stories = {a["title"]: a for a in articles}
    quay = stories["Selmarq quay gets new lights before the winter crossings"]
    assert (quay["source"], quay["published"]) == ("Selmarq Courier", "2025-11-03")
    assert sum(t.startswith("Tollen ferry") for t in stories) == 1
    assert len(articles) == len({a["url"] for a in articles}) == 7

    # Polled again, unchanged: a 304 a feed, robots.txt not read again (kept with the feeds),
    # the failed feeds waiting out their backoff, nothing downloaded or indexed again.
    pages_before = feed_server.count("/courier/") + feed_server.count("/ledger/")
    second = rag("watch", "--once", "--json", data_dir=data, **ALLOW)
    again = {r["url"].removeprefix(feed_server.url): r for r in json.loads(second.stdout)}
    for path, (status, _) in OUTCOMES.items():
        expected = "not_modified" if status == "ok" else "waiting"
        assert again[path]["status"] == expected, (path, again[path])
        assert again[path]["added"] == []
    for path in ("/feeds/harbour.rss", "/sitemaps/index.xml", "/feeds/repeats.rss"):
        assert feed_server.statuses(path) == [200, 304]
    assert feed_server.statuses("/status/500") == [500]  # not asked again before its time
    assert feed_server.statuses("/robots.txt") == [200]
    assert feed_server.count("/courier/") + feed_server.count("/ledger/") == pages_before
    assert len(json.loads(rag("docs", "list", "--json", data_dir=data).stdout)) == 7


def test_a_failed_page_is_downloaded_again_after_its_backoff(tmp_path: Path,
                                                            feed_server: FeedServer) -> None:
    data = tmp_path / "data"
    feed = f"{feed_server.url}/generated.rss?n=3"
    assert rag("feeds", "add", feed, data_dir=data).returncode == 0
    feed_server.failing.add("/generated/1.html")

    # A long backoff: the 304 poll that follows does not ask for the page again.
    first = rag("watch", "--once", "--json", data_dir=data, **ALLOW, feed_retry_seconds="3600")
    [result] = json.loads(first.stdout)
    assert len(result["added"]) == 2
    [skipped] = result["skipped"]
    assert skipped["reason"].startswith(f"HTTP 503 from {feed_server.url}/generated/1.html "
                                        "(downloaded again after ")
    [waiting] = feeds_by_path(data, feed_server)["/generated.rss?n=3"]["retrying"]
    assert waiting["link"].endswith("/generated/1.html") and waiting["failures"] == 1
    second = rag("watch", "--once", "--json", data_dir=data, **ALLOW)
    assert json.loads(second.stdout)[0]["status"] == "not_modified"
    assert feed_server.statuses("/generated/1.html") == [503]

    # Its backoff over (a second's worth recorded by a poll that failed it again), the page is
    # downloaded again though the feed answers 304, and indexed once it comes.
    data2 = tmp_path / "short"
    assert rag("feeds", "add", feed, data_dir=data2).returncode == 0
    rag("watch", "--once", data_dir=data2, **ALLOW, feed_retry_seconds="1")
    assert feed_server.statuses("/generated/1.html") == [503, 503]
    feed_server.failing.clear()
    time.sleep(1.5)
    third = rag("watch", "--once", "--json", data_dir=data2, **ALLOW, feed_retry_seconds="1")
    assert third.returncode == 0, third.stdout + third.stderr
    [result] = json.loads(third.stdout)
    assert result["status"] == "not_modified" and len(result["added"]) == 1
    assert result["retries"] == []
    assert feed_server.statuses("/generated/1.html") == [503, 503, 200]
    assert feeds_by_path(data2, feed_server)["/generated.rss?n=3"]["retrying"] == []
    titles = [a["title"] for a in json.loads(rag("docs", "list", "--json",
                                                 data_dir=data2).stdout)]
    assert sorted(titles) == [f"Council of budget {n}" for n in range(3)]
