"""The API reference pages and cross-origin writes in a real browser (Debian's Chromium).

/docs and /redoc render from this server's files alone under their CSP (a violation is a
console error). A page of another origin (`localhost` is another origin than `127.0.0.1`)
posting a form with `fetch(..., {mode: "no-cors"})` stores nothing: the server refused it;
the same request from a page of our own origin is served.
"""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Request, expect

from e2e.browser import BrowserPage, LiveServer

pytestmark = pytest.mark.slow

# The attack: what any web page can run against a server it knows the address of.
NO_CORS_FORM_POST = """async ([url, text]) => {
  const body = new FormData();
  body.append("files", new Blob([text], {type: "text/plain"}), "planted.txt");
  await fetch(url, {method: "POST", mode: "no-cors", body});
}"""
REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"
PLANTED = "A planted article about the harbour ferry, posted by another site's page."


def fetched_off_origin(page: BrowserPage) -> list[str]:
    """Every response the tab gets from any other place than the server, from now on."""
    others: list[str] = []

    def record(request: Request) -> None:
        # data: and blob: URLs are made in the page (ReDoc's worker and icons): not fetched.
        if not request.url.startswith((page.base_url, "data:", f"blob:{page.base_url}")):
            others.append(request.url)

    page.page.on("requestfinished", record)
    return others


def test_swagger_ui_renders_from_this_server_only(browser_page: BrowserPage) -> None:
    others = fetched_off_origin(browser_page)
    browser_page.open("/docs")
    expect(browser_page.page.locator(".opblock").first).to_be_visible()
    expect(browser_page.page.get_by_text("/v1/ask", exact=True).first).to_be_visible()
    assert others == [] and browser_page.errors == []


def test_redoc_renders_from_this_server_only(browser_page: BrowserPage) -> None:
    others = fetched_off_origin(browser_page)
    browser_page.open("/redoc")
    expect(browser_page.page.get_by_role("heading", name=re.compile("newsrag"))).to_be_visible()
    expect(browser_page.page.get_by_text("/v1/ask").first).to_be_attached()
    assert others == [], others
    # ReDoc always shows its maker's logo from their CDN; the CSP blocks it (a console error).
    assert [e for e in browser_page.errors if REDOC_LOGO not in e] == []


def planted(server: LiveServer) -> list[str]:
    rows, _ = server.services.engine.store.list_articles(0, 1000)
    return [row["id"] for row in rows if row.get("filename") == "planted.txt"]


def test_another_sites_page_cannot_post_an_article(browser_page: BrowserPage,
                                                   live_server: LiveServer) -> None:
    port = live_server.url.rsplit(":", 1)[1]
    page = browser_page.page
    page.goto(f"http://localhost:{port}/openapi.json")  # a page of another origin, no CSP
    with page.expect_response(f"{live_server.url}/v1/documents") as response:
        page.evaluate(NO_CORS_FORM_POST, [f"{live_server.url}/v1/documents", PLANTED])
    assert response.value.status == 403  # the server refused it (the page sees an opaque 0)
    assert planted(live_server) == []


def test_our_own_origin_can_post_the_same_form(browser_page: BrowserPage,
                                               live_server: LiveServer) -> None:
    page = browser_page.page
    page.goto(f"{live_server.url}/openapi.json")
    page.evaluate(NO_CORS_FORM_POST, [f"{live_server.url}/v1/documents", PLANTED])
    ids = planted(live_server)
    try:
        assert len(ids) == 1
    finally:  # the other browser tests expect the sample corpus alone
        for article_id in ids:
            assert httpx.delete(f"{live_server.url}/v1/documents/{article_id}",
                                timeout=60).status_code == 200
