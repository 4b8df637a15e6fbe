"""Read a feed document: RSS and Atom with feedparser, JSON Feed 1.0/1.1 with pydantic models,
sitemaps with `index.sitemaps`. Nothing is fetched here; the entries come out with their
metadata and, when the feed carries it, their full content."""

from __future__ import annotations

import calendar
import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from index.sitemaps import UnreadableSitemap, is_sitemap, parse_sitemap
from rag.errors import NewsragError

JSON_FEED_VERSION = "https://jsonfeed.org/version/"


class UnreadableFeed(NewsragError, ValueError):
    """A document that is no feed we can read; the message says why."""

    code = "unreadable_feed"
    status = 422


@dataclass(frozen=True)
class FeedEntry:
    """One entry: `content` is its full story (HTML or text) when the feed carries it, else
    None and the story is at `link`."""

    link: str | None
    title: str | None
    published: dt.date | None
    author: str | None
    content: str | None
    source: str | None = None  # the outlet a news sitemap names


@dataclass(frozen=True)
class Feed:
    title: str | None
    link: str | None
    entries: list[FeedEntry]
    problems: list[str]  # entries that could not be read, each with its reason
    sitemaps: list[str] = field(default_factory=list)  # a sitemap index's sitemaps


class _Author(BaseModel):
    name: str | None = None


class _JsonItem(BaseModel):
    """A JSON Feed item: only what is read; unknown fields (extensions) are allowed."""

    id: str | int
    url: str | None = None
    external_url: str | None = None
    title: str | None = None
    content_html: str | None = None
    content_text: str | None = None
    date_published: dt.datetime | dt.date | None = None
    date_modified: dt.datetime | dt.date | None = None
    authors: list[_Author] | None = None
    author: _Author | None = None  # JSON Feed 1.0


class _JsonFeed(BaseModel):
    model_config = ConfigDict(extra="allow")

    version: str
    title: str | None = None
    home_page_url: str | None = None
    items: list[dict[str, Any]]


def parse_feed(data: bytes, content_type: str | None = None,
               max_entries: int | None = None, max_bytes: int = 100_000_000) -> Feed:
    """The feed in `data` (RSS, Atom, JSON Feed, a sitemap or a sitemap index), its first
    `max_entries` entries read (`max_bytes`: what a gzipped sitemap may expand to). Raises
    `UnreadableFeed` when `data` is none of them."""
    if _looks_like_json(data, content_type):
        return _json_feed(data, max_entries)
    if is_sitemap(data):
        return _sitemap(data, max_entries, max_bytes)
    return _xml_feed(data, content_type, max_entries)


def _sitemap(data: bytes, max_entries: int | None, max_bytes: int) -> Feed:
    try:
        sitemap = parse_sitemap(data, max_bytes, max_entries)
    except UnreadableSitemap as error:
        raise UnreadableFeed(str(error)) from error
    entries = [FeedEntry(link=u.loc, title=u.title, published=u.published, author=None,
                         content=None, source=u.publication) for u in sitemap.urls]
    return Feed(None, None, entries, [], sitemap.sitemaps)


def _looks_like_json(data: bytes, content_type: str | None) -> bool:
    if content_type and "json" in content_type.lower():
        return True
    return data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{"


def _json_feed(data: bytes, max_entries: int | None) -> Feed:
    try:
        feed = _JsonFeed.model_validate(json.loads(data))
    except (ValueError, RecursionError) as error:  # JSON and pydantic errors alike
        first = error.errors()[0]["msg"] if isinstance(error, ValidationError) else str(error)
        raise UnreadableFeed(f"not a JSON Feed: {' '.join(first.split())[:200]}") from error
    if not feed.version.startswith(JSON_FEED_VERSION):
        raise UnreadableFeed(f"not a JSON Feed: version {feed.version[:100]!r}")
    entries, problems = [], []
    for position, raw in enumerate(feed.items[:max_entries]):
        try:
            item = _JsonItem.model_validate(raw)
        except ValidationError as error:
            where = ".".join(str(p) for p in error.errors()[0]["loc"])
            problems.append(f"item {position + 1}: {where}: {error.errors()[0]['msg']}")
            continue
        names = [a.name for a in item.authors or ([item.author] if item.author else []) if a.name]
        when = item.date_published or item.date_modified
        entries.append(FeedEntry(
            link=item.url or item.external_url, title=_clean(item.title),
            published=when.date() if isinstance(when, dt.datetime) else when,
            author="; ".join(names) or None, content=item.content_html or item.content_text))
    return Feed(_clean(feed.title), feed.home_page_url, entries, problems)


def _xml_feed(data: bytes, content_type: str | None, max_entries: int | None) -> Feed:
    import feedparser  # imported here: only `rag watch` reads feeds

    headers = {"content-type": content_type} if content_type else {}
    parsed = feedparser.parse(data, response_headers=headers)
    if not parsed.get("version") and not parsed.entries:
        reason = parsed.get("bozo_exception") or "neither RSS, Atom nor JSON Feed"
        raise UnreadableFeed(f"not a feed: {' '.join(str(reason).split())[:200]}")
    entries = []
    for entry in parsed.entries[:max_entries]:
        contents = [c.get("value", "") for c in entry.get("content", []) if c.get("value")]
        when = entry.get("published_parsed") or entry.get("updated_parsed")
        entries.append(FeedEntry(
            link=entry.get("link"), title=_clean(entry.get("title")),
            published=dt.datetime.fromtimestamp(calendar.timegm(when), dt.UTC).date()
            if when else None,
            author=_clean(entry.get("author")), content=max(contents, key=len, default=None)))
    return Feed(_clean(parsed.feed.get("title")), parsed.feed.get("link"), entries, [])


def _clean(value: Any) -> str | None:
    return (" ".join(value.split()) or None) if isinstance(value, str) else None
