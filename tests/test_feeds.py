"""Feed subscriptions end to end, on real components: /v1/feeds over real HTTP, and `rag watch`
as a real process polling a real HTTP server on 127.0.0.1 that serves RSS, Atom and JSON Feed
fixtures (tests/data/feeds) with ETags, alone on its store and beside a running `rag serve`."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from api.app import create_app
from feed_server import FeedServer
from index.fetch import Fetcher, FetchError
from processes import RAG, rag_env, serve
from rag.config import Settings
from rag.embeddings import Encoder
from support import make_services, served

# A bound, not an expectation.
RUN_SECONDS = 120.0
FEEDS = ("harbour.rss", "veltara.atom", "northwind.json", "broken.xml")


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    with FeedServer() as server:
        yield server


def rag(*command: str, data_dir: Path, **settings: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(RAG), *command], env=rag_env(data_dir, **settings),
                          cwd=data_dir.parent, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=RUN_SECONDS)


def by_url(results: list[dict]) -> dict[str, dict]:
    return {r["url"].rsplit("/", 1)[1]: r for r in results}


# ---- the API --------------------------------------------------------------------------

@pytest.fixture
def feeds_api(tmp_path: Path, encoder: Encoder) -> Iterator[str]:
    services = make_services(tmp_path / "store", encoder, max_feeds=3)
    with served(create_app(services=services)) as url:
        yield url


def test_feeds_are_added_listed_shown_and_removed(feeds_api: str) -> None:
    with httpx.Client(base_url=feeds_api, timeout=30) as http:
        added = http.post("/v1/feeds", json={"url": "https://news.example.org/feed.xml"})
        assert added.status_code == 201, added.text
        feed = added.json()
        assert len(feed["id"]) == 16 and feed["url"] == "https://news.example.org/feed.xml"
        assert feed["last_polled"] is None and feed["added"]
        # Another spelling of the same canonical URL is the same subscription.
        again = http.post("/v1/feeds",
                          json={"url": "HTTPS://News.Example.org/feed.xml?utm_source=x"})
        assert again.status_code == 200 and again.json()["id"] == feed["id"]
        listed = http.get("/v1/feeds").json()
        assert listed["total"] == 1 and listed["feeds"][0]["id"] == feed["id"]
        assert http.get(f"/v1/feeds/{feed['id']}").json() == feed
        removed = http.delete(f"/v1/feeds/{feed['id']}")
        assert removed.status_code == 200 and removed.json()["id"] == feed["id"]
        for gone in (http.get(f"/v1/feeds/{feed['id']}"), http.delete(f"/v1/feeds/{feed['id']}")):
            assert gone.status_code == 404
            assert gone.json()["error"]["code"] == "feed_not_found"
        assert http.get("/v1/feeds").json() == {"feeds": [], "total": 0}
        paths = http.get("/openapi.json").json()["paths"]
        assert {"/v1/feeds", "/v1/feeds/{feed_id}", "/v1/feeds/{feed_id}/polls"} <= set(paths)


@pytest.mark.parametrize(("body", "headers", "status", "code"), [
    ({"url": "ftp://news.example.org/feed.xml"}, {}, 422, "invalid_request"),
    ({"url": "file:///etc/passwd"}, {}, 422, "invalid_request"),
    ({"url": "not a url"}, {}, 422, "invalid_request"),
    ({"url": 7}, {}, 422, "invalid_request"),
    ({"url": "https://news.example.org/a", "extra": 1}, {}, 422, "invalid_request"),
    ({}, {}, 422, "invalid_request"),
    (b'{"url": "https://news.example.org/a"', {"Content-Type": "application/json"}, 400,
     "malformed_json"),
    (b'url=https://news.example.org/a',
     {"Content-Type": "application/x-www-form-urlencoded"}, 415, "unsupported_media_type"),
    ({"url": "https://news.example.org/a"}, {"Origin": "https://evil.example"}, 403,
     "cross_origin_forbidden"),
])
def test_bad_subscriptions_are_json_errors(feeds_api: str, body: object,
                                           headers: dict[str, str], status: int,
                                           code: str) -> None:
    options = {"content": body} if isinstance(body, bytes) else {"json": body}
    answer = httpx.post(f"{feeds_api}/v1/feeds", headers=headers, timeout=30, **options)
    assert answer.status_code == status, answer.text
    assert answer.json()["error"]["code"] == code
    assert httpx.get(f"{feeds_api}/v1/feeds", timeout=30).json()["total"] == 0


def test_the_number_of_feeds_is_limited(feeds_api: str) -> None:
    with httpx.Client(base_url=feeds_api, timeout=30) as http:
        for n in range(3):
            assert http.post("/v1/feeds", json={"url": f"https://x.example/{n}"}).status_code \
                == 201
        refused = http.post("/v1/feeds", json={"url": "https://x.example/3"})
        assert refused.status_code == 422 and refused.json()["error"]["code"] == "too_many_feeds"
        # One subscribed already is still found.
        assert http.post("/v1/feeds", json={"url": "https://x.example/0"}).status_code == 200


def test_a_poll_record_is_strict_and_cannot_spoil_the_subscription(feeds_api: str) -> None:
    with httpx.Client(base_url=feeds_api, timeout=30) as http:
        feed = http.post("/v1/feeds", json={"url": "https://x.example/feed"}).json()
        polls = f"/v1/feeds/{feed['id']}/polls"
        good = {"polled_at": "2026-01-01T00:00:00+00:00", "status": "ok", "entries": 3}
        for bad in ({**good, "entries": 2**63}, {**good, "entries": 10**30},
                    {**good, "entries": True}, {**good, "entries": -1},
                    {**good, "status": "fine"}, {**good, "extra": 1}, [good], "ok",
                    {**good, "polled_at": "garbage"},
                    {**good, "polled_at": "2026-01-01T00:00:00"}):  # no offset
            refused = http.post(polls, json=bad)
            assert refused.status_code == 422, (bad, refused.text)
            assert refused.json()["error"]["code"] == "invalid_request"
        assert http.post(polls, json=good).status_code == 200
        assert http.get(f"/v1/feeds/{feed['id']}").json()["entries"] == 3
        assert http.get("/v1/feeds").json()["feeds"][0]["entries"] == 3
        later = {**good, "polled_at": "2026-01-01T02:00:00+02:00"}
        assert http.post(polls, json=later).status_code == 200
        assert http.get(f"/v1/feeds/{feed['id']}").json()["last_polled"] == (
            "2026-01-01T00:00:00+00:00")  # kept in UTC


# ---- downloads -------------------------------------------------------------------------

@pytest.mark.parametrize("url", [
    "http://127.0.0.1/feed", "http://localhost:8080/feed", "http://10.1.2.3/feed",
    "http://192.168.0.7/feed", "http://169.254.169.254/latest/meta-data/", "http://[::1]/feed",
    "http://[fe80::1]/feed", "http://[::ffff:10.0.0.1]/feed", "http://0.0.0.0/feed",
    "http://[64:ff9b::a00:1]/feed", "http://[2002:7f00:1::]/feed", "http://2130706433/feed",
    "http://0177.0.0.1/feed", "http://a@127.0.0.1/feed",
])
def test_non_public_addresses_are_refused(url: str) -> None:
    fetcher = Fetcher(Settings(_env_file=None))
    with pytest.raises(FetchError, match="not a public address"):
        fetcher.get(url)
    fetcher.close()


class RebindingFetcher(Fetcher):
    """A fetcher whose name check is told a public address, as a DNS server that rebinds a name
    answers the check, while the connection then reaches 127.0.0.1."""

    def resolve(self, host: str, port: int) -> list[str]:
        return ["93.184.215.14"]


def test_a_non_public_address_is_refused_where_the_connection_went(
        feed_server: FeedServer) -> None:
    fetcher = RebindingFetcher(Settings(_env_file=None))
    with pytest.raises(FetchError, match=r"answered from 127\.0\.0\.1, not a public address"):
        fetcher.get(f"{feed_server.url}/feeds/harbour.rss")
    fetcher.close()
    allowed = RebindingFetcher(Settings(_env_file=None, feeds_allow_private=True))
    assert allowed.get(f"{feed_server.url}/feeds/harbour.rss").status == 200
    allowed.close()


def test_downloads_are_bounded(feed_server: FeedServer) -> None:
    settings = Settings(_env_file=None, feeds_allow_private=True, feed_max_bytes=1000,
                        feed_max_redirects=3)
    fetcher = Fetcher(settings)
    with pytest.raises(FetchError, match="larger than 1000 bytes"):
        fetcher.get(f"{feed_server.url}/feeds/harbour.rss")
    with pytest.raises(FetchError, match="more than 3 redirects"):
        fetcher.get(f"{feed_server.url}/loop")
    assert feed_server.statuses("/loop") == [302] * 4
    with pytest.raises(FetchError, match="not an http"):
        fetcher.get("file:///etc/passwd")
    fetcher.close()


def test_a_download_trickling_in_is_stopped_at_its_deadline(feed_server: FeedServer) -> None:
    # Each byte comes well within the timeout of one read; the whole never does.
    fetcher = Fetcher(Settings(_env_file=None, feeds_allow_private=True,
                               feed_timeout_seconds=1))
    began = time.monotonic()
    with pytest.raises(FetchError, match=r"took more than 1 s \(RAG_FEED_TIMEOUT_SECONDS\)"):
        fetcher.get(f"{feed_server.url}/trickle")
    assert time.monotonic() - began < 10
    # The fetcher goes on downloading.
    assert fetcher.get(f"{feed_server.url}/feeds/harbour.rss").status == 200
    fetcher.close()


# ---- rag watch ------------------------------------------------------------------------

def test_watch_reads_rss_atom_and_json_feed_once(tmp_path: Path,
                                                 feed_server: FeedServer) -> None:
    data = tmp_path / "data"
    allow = {"feeds_allow_private": "true"}
    added = rag("feeds", "add", *(f"{feed_server.url}/feeds/{name}" for name in FEEDS),
                data_dir=data)
    assert added.returncode == 0, added.stderr
    assert added.stdout.count("added ") == 4

    first = rag("watch", "--once", "--json", data_dir=data, **allow)
    assert first.returncode == 1, first.stderr  # a broken feed, a 404 page, a bad item
    results = by_url(json.loads(first.stdout))
    harbour, ledger, northwind, broken = (results[name] for name in FEEDS)
    assert harbour["status"] == "ok" and harbour["title"] == "Averin Harbour Gazette"
    assert len(harbour["added"]) == 2 and harbour["entries"] == 2  # content:encoded
    assert len(ledger["added"]) == 1  # read from its page
    [missing] = ledger["skipped"]  # downloaded again after its backoff
    assert missing["reason"].startswith(
        f"HTTP 404 from {feed_server.url}/ledger/missing-page.html (downloaded again after ")
    assert len(northwind["added"]) == 1 and len(northwind["skipped"]) == 1  # "title": 42
    assert broken["status"] == "error" and broken["error"].startswith("not a feed")
    assert feed_server.statuses("/ledger/brannock-barrier-builder.html") == [200]

    listed = json.loads(rag("feeds", "list", "--json", data_dir=data).stdout)
    articles = json.loads(rag("docs", "list", "--json", data_dir=data).stdout)
    assert {f["title"] for f in listed} >= {"Averin Harbour Gazette", "Veltara Ledger: Regions",
                                            "Northwind Wire: Economy"}
    assert all(f["etag"] for f in listed if f["last_status"] == "ok")
    stories = {a["title"]: a for a in articles}
    ferry = stories["Averin ferry line adds a night crossing to Selmarq"]
    assert ferry["source"] == "Averin Harbour Gazette" and ferry["published"] == "2025-04-08"
    assert ferry["url"].endswith("/gazette/ferry-night-crossing?utm_source=rss")
    builder = stories["Brannock picks a builder for the Tollen flood barriers"]
    assert builder["source"] == "Veltara Ledger: Regions" and builder["published"] == "2025-10-04"
    salt = stories["Selmarq salt works hires 80 for the summer harvest"]
    assert salt["source"] == "Northwind Wire: Economy" and salt["published"] == "2025-06-02"
    assert salt["author"] == "Tomas Reyvik"

    # Unchanged feeds answer 304: nothing is read, nothing added.
    second = rag("watch", "--once", "--json", data_dir=data, **allow)
    again = by_url(json.loads(second.stdout))
    for name in FEEDS[:3]:
        assert again[name]["status"] == "not_modified" and again[name]["added"] == []
        assert feed_server.statuses(f"/feeds/{name}") == [200, 304]
    assert feed_server.statuses("/ledger/brannock-barrier-builder.html") == [200]

    # An entry whose text changed replaces its earlier version (same canonical URL).
    feed_server.replace("/feeds/harbour.rss", "about a third", "nearly half")
    third = by_url(json.loads(rag("watch", "--once", "--json", data_dir=data,
                                  **allow).stdout))["harbour.rss"]
    assert len(third["added"]) == 1 and len(third["unchanged"]) == 1
    assert third["replaced"] == [stories["Averin fish market reopens after the strike"]["id"]]
    after = json.loads(rag("docs", "list", "--json", data_dir=data).stdout)
    assert len(after) == len(articles)

    # Without the setting, 127.0.0.1 is refused before any request is made.
    feed_server.replace("/feeds/northwind.json", "80 seasonal", "90 seasonal")
    served_before = len(feed_server.requests)
    refused = rag("watch", "--once", data_dir=data)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert refused.stdout.count("not a public address") == 3
    assert "waiting until" in refused.stdout  # the broken feed's backoff is not over
    assert len(feed_server.requests) == served_before


def test_two_entries_with_one_link_are_one_article(tmp_path: Path,
                                                  feed_server: FeedServer) -> None:
    """A feed listing a link twice gives its first entry; the other is a skip with its reason."""
    data = tmp_path / "data"
    again = """<item><title>Averin fish market stays shut</title>
      <link>http://127.0.0.1:{port}/gazette/fish-market-reopens?utm_medium=feed</link>
      <content:encoded><![CDATA[<p>The old fish market on the Averin quay stayed shut on
      Monday, traders said, as the trawlers waited outside the harbour.</p>]]></content:encoded>
    </item></channel>""".replace("{port}", str(feed_server.port))
    feed_server.replace("/feeds/harbour.rss", "</channel>", again)
    assert rag("feeds", "add", f"{feed_server.url}/feeds/harbour.rss",
               data_dir=data).returncode == 0
    polled = rag("watch", "--once", "--json", data_dir=data, feeds_allow_private="true")
    harbour = json.loads(polled.stdout)[0]
    assert len(harbour["added"]) == 2
    assert [s["reason"] for s in harbour["skipped"]] == [
        "the same link as an earlier entry of the feed"]
    titles = {a["title"] for a in json.loads(rag("docs", "list", "--json", data_dir=data).stdout)}
    assert "Averin fish market reopens after the strike" in titles
    assert "Averin fish market stays shut" not in titles


@pytest.mark.parametrize("interval", ["0", "-5", "0.01", "9", "nan", "inf", "1e9"])
def test_watch_refuses_an_interval_out_of_its_range(tmp_path: Path, interval: str) -> None:
    # `nan` once made every poll start the next at once, `inf` failed after the first poll.
    refused = rag("watch", f"--interval={interval}", data_dir=tmp_path / "data")
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "--interval must be from 10 to 604800 seconds" in refused.stderr


def test_watch_beside_a_server_sends_its_work_through_it(tmp_path: Path,
                                                         feed_server: FeedServer) -> None:
    with serve(tmp_path / "serving", feeds_allow_private="true") as server:
        data = server.data_dir
        added = rag("feeds", "add", f"{feed_server.url}/feeds/harbour.rss", data_dir=data)
        assert added.returncode == 0, added.stderr
        watched = rag("watch", "--once", data_dir=data, feeds_allow_private="true")
        assert watched.returncode == 0, watched.stdout + watched.stderr
        assert "sending the entries there" in watched.stderr
        assert "2 added" in watched.stdout
        feeds = httpx.get(f"{server.url}/v1/feeds", timeout=30).json()["feeds"]
        assert feeds[0]["last_status"] == "ok" and feeds[0]["title"] == "Averin Harbour Gazette"
        answer = httpx.post(f"{server.url}/v1/ask", timeout=60, json={
            "question": "When does the night ferry from Port Averin to Selmarq leave?"}).json()
        cited = {(c["title"], c["source"], c["url"]) for c in answer["citations"]}
        assert ("Averin ferry line adds a night crossing to Selmarq", "Averin Harbour Gazette",
                f"{feed_server.url}/gazette/ferry-night-crossing?utm_source=rss") in cited
        assert "23:40" in answer["answer"]
        # Polled again: one request, a 304; robots.txt was kept with the feed by the server.
        again = rag("watch", "--once", data_dir=data, feeds_allow_private="true")
        assert again.returncode == 0 and "not modified" in again.stdout, again.stdout
        assert feed_server.statuses("/feeds/harbour.rss") == [200, 304]
        assert feed_server.statuses("/robots.txt") == [200]
