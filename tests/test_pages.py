"""Downloads as a good citizen and a safe server, on real HTTP over 127.0.0.1
(tests/feed_server.py): robots.txt, the politeness delay, the User-Agent, a redirect to a
private address, a slow server, a 50 MB page; sitemaps read safely; and one page indexed by
`rag index URL` (in process and through a running server) and by `POST /v1/documents
{"url": ...}`."""

from __future__ import annotations

import gzip
import itertools
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from test_feeds import rag

from api.app import create_app
from feed_server import HUGE_BYTES, FeedServer
from index.feeds import UnreadableFeed, parse_feed
from index.fetch import ROBOTS_AGENT, Fetcher, FetchError, FetchRefused, FetchTimeout
from processes import serve
from rag.config import Settings
from rag.embeddings import Encoder
from support import make_services, served

LOOPBACK = ["127.0.0.1"]
QUAY = "Selmarq quay gets new lights before the winter crossings"


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    with FeedServer() as server:
        yield server


def fetcher(**overrides: object) -> Fetcher:
    settings = {"feeds_allow_networks": LOOPBACK, "fetch_host_delay_seconds": 0.0, **overrides}
    return Fetcher(Settings(_env_file=None, **settings))


# ---- downloads -------------------------------------------------------------------------

def test_robots_txt_is_read_once_a_host_and_obeyed(feed_server: FeedServer) -> None:
    http = fetcher()
    with pytest.raises(FetchRefused, match=r"disallowed by http://127\.0\.0\.1:\d+/robots\.txt"):
        http.get(f"{feed_server.url}/private/harbour.rss")
    assert http.get(f"{feed_server.url}/feeds/harbour.rss").status == 200
    assert http.get(f"{feed_server.url}/feeds/veltara.atom").status == 200
    assert feed_server.statuses("/robots.txt") == [200]
    assert feed_server.statuses("/private/harbour.rss") == []  # never asked for
    # Every request says who we are, with the product's version.
    agents = {agent for _, _, agent in feed_server.seen}
    assert len(agents) == 1 and agents.pop().startswith(f"{ROBOTS_AGENT}/")
    http.close()
    # Without robots rules (RAG_FETCH_ROBOTS=false) the path is fetched.
    careless = fetcher(fetch_robots=False)
    assert careless.get(f"{feed_server.url}/private/harbour.rss").status == 200
    careless.close()


def test_a_robots_txt_that_fails_keeps_the_host_uncrawled(feed_server: FeedServer) -> None:
    feed_server.failing.add("/robots.txt")  # a 503: RFC 9309 says assume all is disallowed
    http = fetcher()
    with pytest.raises(FetchRefused, match=r"robots\.txt could not be read"):
        http.get(f"{feed_server.url}/feeds/harbour.rss")
    assert feed_server.statuses("/feeds/harbour.rss") == []
    http.close()


def test_requests_to_one_host_keep_the_politeness_delay(feed_server: FeedServer) -> None:
    http = fetcher(fetch_host_delay_seconds=0.4)
    for name in ("harbour.rss", "veltara.atom", "northwind.json"):
        http.get(f"{feed_server.url}/feeds/{name}")
    http.close()
    times = [when for _, when, _ in feed_server.seen]  # robots.txt, then the three feeds
    assert len(times) == 4
    assert all(later - earlier >= 0.4 for earlier, later in itertools.pairwise(times))


def test_a_redirect_to_a_private_address_is_refused(feed_server: FeedServer) -> None:
    # 127.0.0.1 is allowed by name; the link-local address the redirect names is not.
    http = fetcher()
    with pytest.raises(FetchRefused, match=r"169\.254\.169\.254.*not a public address"):
        http.get(f"{feed_server.url}/redirect-private")
    http.close()


def test_a_slow_server_and_a_huge_page_are_cut_short(feed_server: FeedServer) -> None:
    http = fetcher(feed_timeout_seconds=1)
    with pytest.raises(FetchTimeout, match=r"took more than 1 s"):
        http.get(f"{feed_server.url}/slow")
    with pytest.raises(FetchError, match="larger than 5000000 bytes"):
        http.get(f"{feed_server.url}/huge")
    http.close()
    assert HUGE_BYTES == 50_000_000


# ---- sitemaps ----------------------------------------------------------------------------

SITEMAPS = Path(__file__).resolve().parent / "data" / "feeds"


def test_a_news_sitemap_gives_its_pages_with_their_metadata() -> None:
    data = (SITEMAPS / "selmarq-news.xml").read_bytes()
    for body in (data, gzip.compress(data)):
        feed = parse_feed(body, "application/xml")
        assert [e.link for e in feed.entries] == [
            "http://127.0.0.1:{port}/courier/quay-lights.html",
            "http://127.0.0.1:{port}/courier/tram-fares.html"]
        first = feed.entries[0]
        assert (first.title, first.source, str(first.published), first.content) == (
            QUAY, "Selmarq Courier", "2025-11-03", None)
    index = parse_feed((SITEMAPS / "sitemap-index.xml").read_bytes())
    assert index.entries == [] and len(index.sitemaps) == 2


@pytest.mark.parametrize(("body", "reason"), [
    (b'<?xml version="1.0"?><!DOCTYPE urlset [<!ENTITY a "aaaaaaaaaa">'
     b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
     b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>&b;</loc></url>'
     b'</urlset>', "DTD"),
    (b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>x', "not a sitemap"),
    (gzip.compress(b"<urlset>" + b" " * 2_000_000 + b"</urlset>"), "expands past"),
])
def test_a_sitemap_with_entities_broken_xml_or_a_gzip_bomb_is_refused(body: bytes,
                                                                      reason: str) -> None:
    with pytest.raises(UnreadableFeed, match=reason):
        parse_feed(body, max_bytes=1_000_000)


# ---- one page: POST /v1/documents {"url": ...} -----------------------------------------------

@pytest.fixture
def pages_api(tmp_path: Path, encoder: Encoder) -> Iterator[str]:
    services = make_services(tmp_path / "store", encoder, feeds_allow_networks=LOOPBACK,
                             fetch_host_delay_seconds=0.0, feed_timeout_seconds=2,
                             api_key="secret-key")
    with served(create_app(services=services)) as url:
        yield url


def test_a_page_is_downloaded_and_indexed_by_url(pages_api: str,
                                                 feed_server: FeedServer) -> None:
    key = {"Authorization": "Bearer secret-key"}
    page = f"{feed_server.url}/courier/quay-lights.html"
    with httpx.Client(base_url=pages_api, timeout=60) as http:
        unauthorised = http.post("/v1/documents", json={"url": page})
        assert unauthorised.status_code == 401
        assert feed_server.statuses("/courier/quay-lights.html") == []
        added = http.post("/v1/documents", json={"url": page}, headers=key)
        assert added.status_code == 201, added.text
        [article] = added.json()["added"]
        assert article["title"] == QUAY and article["url"] == page
        again = http.post("/v1/documents", json=[{"url": page}], headers=key)
        assert again.status_code == 201 and again.json()["added"] == []
        assert [a["id"] for a in again.json()["unchanged"]] == [article["id"]]
        stored = http.get("/v1/documents", params={"facets": "false"}).json()
        assert stored["total"] == 1
        schema = http.get("/openapi.json").json()["paths"]["/v1/documents"]["post"]
        assert {"502", "504"} <= set(schema["responses"])


@pytest.mark.parametrize(("path", "status", "code", "message"), [
    ("/ledger/missing-page.html", 502, "fetch_failed", "HTTP 404 from"),
    ("/status/500", 502, "fetch_failed", "HTTP 500 from"),
    ("/huge", 502, "fetch_failed", "larger than 5000000 bytes"),
    ("/slow", 504, "fetch_timeout", "took more than 2 s"),
    ("/redirect-private", 422, "url_refused", "not a public address"),
    ("/private/harbour.rss", 422, "url_refused", "disallowed by"),
    ("/robots.txt", 422, "no_articles", "no article text"),
])
def test_a_page_that_cannot_be_had_is_a_clear_error(pages_api: str, feed_server: FeedServer,
                                                    path: str, status: int, code: str,
                                                    message: str) -> None:
    answer = httpx.post(f"{pages_api}/v1/documents", json={"url": f"{feed_server.url}{path}"},
                        headers={"Authorization": "Bearer secret-key"}, timeout=60)
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert error["code"] == code and message in error["message"], error


@pytest.mark.parametrize("body", [
    {"url": 7}, {"url": "https://news.example.org/a", "extra": 1}, {"url": ""},
    {"url": "file:///etc/passwd"}, {"url": "http://10.0.0.1/story"},
])
def test_a_bad_page_request_is_a_422(pages_api: str, body: dict) -> None:
    answer = httpx.post(f"{pages_api}/v1/documents", json=body, timeout=30,
                        headers={"Authorization": "Bearer secret-key"})
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] in ("invalid_request", "url_refused")


# ---- one page: rag index URL ---------------------------------------------------------------

def test_rag_index_url_in_process_and_through_a_server(tmp_path: Path,
                                                       feed_server: FeedServer) -> None:
    allow = {"feeds_allow_networks": json.dumps(LOOPBACK), "fetch_host_delay_seconds": "0"}
    page = f"{feed_server.url}/courier/tram-fares.html"
    data = tmp_path / "alone"
    indexed = rag("index", "--json", page, f"{feed_server.url}/status/404", data_dir=data,
                  **allow)
    assert indexed.returncode == 1, indexed.stderr  # one page indexed, one skipped
    report = json.loads(indexed.stdout)
    assert len(report["added"]) == 1
    assert report["skipped"] == [{"path": f"{feed_server.url}/status/404",
                                  "reason": f"HTTP 404 from {feed_server.url}/status/404"}]
    [stored] = json.loads(rag("docs", "list", "--json", data_dir=data).stdout)
    assert stored["title"] == "Selmarq tram fares stay frozen for another year"
    assert stored["url"] == page and stored["source"] == "Selmarq Courier"

    refused = rag("index", page, data_dir=tmp_path / "strict")  # no network allowed
    assert refused.returncode == 2 and "not a public address" in refused.stdout

    with serve(tmp_path / "serving", **allow) as server:
        sent = rag("index", page, f"{feed_server.url}/courier/quay-lights.html",
                   data_dir=server.data_dir, **allow)
        assert sent.returncode == 0, sent.stdout + sent.stderr
        assert "sending the articles there" in sent.stderr and "2 added" in sent.stdout
        titles = {d["title"] for d in httpx.get(f"{server.url}/v1/documents",
                                                timeout=30).json()["documents"]}
        assert titles == {QUAY, "Selmarq tram fares stay frozen for another year"}
