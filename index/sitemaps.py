"""Read a sitemap (sitemaps.org `<urlset>`, with Google News' `<news:news>` metadata) or a
sitemap index (`<sitemapindex>`, whose sitemaps the poll reads in turn), gzipped or not, with
defusedxml: no entity expansion, no DTD, no network."""

from __future__ import annotations

import datetime as dt
import gzip
import zlib
from dataclasses import dataclass
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from rag.errors import NewsragError

SITEMAP_NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
NEWS_NS = "{http://www.google.com/schemas/sitemap-news/0.9}"
GZIP_MAGIC = b"\x1f\x8b"


class UnreadableSitemap(NewsragError, ValueError):
    """A document that looked like a sitemap and could not be read; the message says why."""

    code = "unreadable_sitemap"
    status = 422


@dataclass(frozen=True)
class SitemapUrl:
    """One `<url>`: its page, and what a news sitemap says of it."""

    loc: str
    title: str | None
    published: dt.date | None
    publication: str | None


@dataclass(frozen=True)
class Sitemap:
    urls: list[SitemapUrl]  # a `<urlset>`'s pages
    sitemaps: list[str]  # a `<sitemapindex>`'s sitemaps


def is_sitemap(data: bytes) -> bool:
    """Whether `data` is (probably) a sitemap or sitemap index: gzipped, or XML whose first
    element is `urlset` or `sitemapindex`."""
    if data[:2] == GZIP_MAGIC:
        return True
    head = data[:4096].lower()
    start = head.find(b"<urlset")
    if start < 0:
        start = head.find(b"<sitemapindex")
    if start < 0:
        return False
    before = head[:start]
    return b"<rss" not in before and b"<feed" not in before


def parse_sitemap(data: bytes, max_bytes: int, max_urls: int | None = None) -> Sitemap:
    """The pages or sitemaps `data` lists (the first `max_urls` pages). Raises
    `UnreadableSitemap` for malformed XML, entity tricks, a gzip that is broken or expands
    past `max_bytes`, or a document that is neither."""
    if data[:2] == GZIP_MAGIC:
        data = _gunzip(data, max_bytes)
    try:
        root = fromstring(data, forbid_dtd=True)
    except (ParseError, DefusedXmlException) as error:
        reason = " ".join(str(error).split()) or type(error).__name__
        raise UnreadableSitemap(f"not a sitemap: {reason[:200]}") from error
    tag = _local(root.tag)
    if tag == "sitemapindex":
        found = [loc for child in root if _local(child.tag) == "sitemap"
                 if (loc := _text(child, "loc"))]
        return Sitemap([], found)
    if tag != "urlset":
        raise UnreadableSitemap(f"not a sitemap: its root element is <{tag[:50]}>")
    urls = []
    for child in root:
        if _local(child.tag) != "url" or not (loc := _text(child, "loc")):
            continue
        news = child.find(f"{NEWS_NS}news")
        urls.append(SitemapUrl(
            loc=loc, title=_text(news, "title", NEWS_NS) if news is not None else None,
            published=_date(_text(news, "publication_date", NEWS_NS) if news is not None
                            else _text(child, "lastmod")),
            publication=_text(news.find(f"{NEWS_NS}publication"), "name", NEWS_NS)
            if news is not None and news.find(f"{NEWS_NS}publication") is not None else None))
        if max_urls is not None and len(urls) >= max_urls:
            break
    return Sitemap(urls, [])


def _gunzip(data: bytes, max_bytes: int) -> bytes:
    """`data` decompressed, refusing more than `max_bytes` out (a gzip bomb)."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, max_bytes + 1)
    except (zlib.error, gzip.BadGzipFile) as error:
        raise UnreadableSitemap(f"not a sitemap: a broken gzip file: {error}") from error
    if len(out) > max_bytes:
        raise UnreadableSitemap(f"not a sitemap: it expands past {max_bytes} bytes "
                                "(RAG_FEED_MAX_BYTES)")
    return out


def _local(tag: object) -> str:
    return str(tag).rsplit("}", 1)[-1]


def _text(element: Element | None, name: str, namespace: str = SITEMAP_NS) -> str | None:
    """The stripped text of `element`'s child `name` (in `namespace`, else in none)."""
    if element is None:
        return None
    child = element.find(f"{namespace}{name}")
    if child is None:
        child = element.find(name)
    text = " ".join((child.text or "").split()) if child is not None else ""
    return text or None


def _date(value: str | None) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.datetime.fromisoformat(value).date()
    except ValueError:
        try:
            return dt.date.fromisoformat(value[:10])
        except ValueError:
            return None
