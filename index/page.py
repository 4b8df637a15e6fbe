"""One article page from the web: downloaded by `index.fetch` (every rule of a feed's pages
applies) and read as `rag index` reads an HTML file (`index.html`, trafilatura)."""

from __future__ import annotations

from index.encoding import decode_text
from index.fetch import ACCEPT_PAGE, Fetcher
from index.html import HtmlArticle, extract_html
from index.load import Document
from rag.errors import NewsragError


class NotAnArticle(NewsragError, ValueError):
    """A page downloaded whole that holds no article text."""

    code = "no_articles"
    status = 422


def fetch_article(url: str, fetcher: Fetcher) -> tuple[HtmlArticle, str]:
    """The story of the page at `url`, and the URL it came from after redirects. Raises
    `index.fetch.FetchError` (or its `FetchRefused`, `FetchTimeout`), `NotAnArticle`, or
    `index.html.UnreadablePage`."""
    fetched = fetcher.get(url, accept=ACCEPT_PAGE)
    page = extract_html(decode_text(fetched.body, html=True), url=fetched.url)
    if page is None:
        raise NotAnArticle(f"no article text in the page at {fetched.url}")
    return page, fetched.url


def page_document(url: str, fetcher: Fetcher) -> Document:
    """The page at `url` as a document to index, its metadata the page's own; raises as
    `fetch_article` does."""
    page, final = fetch_article(url, fetcher)
    return Document(text=page.text, kind="record", title=page.title, source=page.source,
                    published=page.published, url=page.url or final, author=page.author)
