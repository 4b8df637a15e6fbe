"""Extract the story and its metadata from a news page's HTML with trafilatura, offline: only the
string given is parsed, no URL is ever fetched. `text` holds one paragraph per line, as from
`clean.py`; a page that is no article, or too deeply nested to read whole, is refused
(docs/ingestion.md, "HTML pages").
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from rag.errors import NewsragError

if TYPE_CHECKING:
    from lxml.html import HtmlElement
    from trafilatura.settings import Document as Extraction

# Menus, buttons and form labels are many short lines; a story is sentences. Only paragraphs
# of at least MIN_PARAGRAPH_WORDS words count towards the MIN_ARTICLE_WORDS a story needs.
MIN_PARAGRAPH_WORDS = 8
MIN_ARTICLE_WORDS = 25

# htmldate's extensive search guesses dates from free text and copyright lines, so it stays
# off; original_date prefers the publication date to a later "updated" date.
_DATE_PARAMS = {"original_date": True, "extensive_search": False}

# JSON-LD types a story is published under besides those ending in "Article" (NewsArticle,
# AnalysisNewsArticle, ...): the schema.org types whose names do not say so.
_ARTICLE_TYPES = frozenset({"ReportageNews", "BlogPosting", "LiveBlogPosting"})

# A page has these; a fragment (an HTML body inside a JSON record) is wrapped in them first,
# because trafilatura rejects a bare fragment as "not HTML".
_DOCUMENT_TAG = re.compile(r"<(?:html|head|body)\b", re.IGNORECASE)

# The parser options trafilatura uses, and `huge_tree` (no 255-level depth limit).
_PARSER_OPTIONS = {"collect_ids": False, "default_doctype": False, "encoding": "utf-8",
                   "remove_comments": True, "remove_pis": True, "huge_tree": True}
_LIBRARY_LOGGERS = ("trafilatura", "htmldate", "courlan", "justext")
_LOG = logging.getLogger(__name__)

# A markdown table rule ("|---|---|"): trafilatura's text output draws one under a table's
# header row; it carries no words.
_TABLE_RULE = re.compile(r"^[|:\-\s]+$")

_KNOWN_TAGS = (
    "html|head|body|title|meta|link|script|style|p|div|span|a|b|i|u|em|strong|small|sub|sup|"
    "h[1-6]|ul|ol|li|dl|dt|dd|table|thead|tbody|tr|td|th|blockquote|q|pre|code|figure|"
    "figcaption|img|picture|source|iframe|section|article|header|footer|nav|main|aside|time|"
    "br|hr|form|input|button|label"
)
# A closed element ("</p>"), a void one ("<br>", "<img src=...>"), a doctype or comment, or a
# text that opens with a known tag: "a < b and c > d" or "x<b and c>y" match none of them.
_HTML_SIGNAL = re.compile(
    rf"</(?:{_KNOWN_TAGS})\s*>"
    r"|<(?:br|hr|img|meta|link|input|source)\b[^<>]*>"
    r"|<!(?:doctype\s+html|--)"
    rf"|\A\s*<(?:{_KNOWN_TAGS})\b[^<>]*>",
    re.IGNORECASE,
)


class UnreadablePage(NewsragError, ValueError):
    """A page that cannot be parsed whole; the message says why."""

    code = "unreadable_page"
    status = 422


@dataclass(frozen=True)
class HtmlArticle:
    """The story of one news page: its text without page furniture, and what the page says of it.

    `text` holds the story's paragraphs separated by a blank line, without the headline,
    navigation, ads, share bars, related links, comments or footer. `source` is the outlet's
    name as the page states it.
    """

    text: str
    title: str | None
    published: dt.date | None
    author: str | None
    url: str | None
    source: str | None


def extract_html(html: str, url: str | None = None) -> HtmlArticle | None:
    """The story in a news page, or None when the page holds no article text.

    `html` is a whole page or a fragment; `url`, where the page came from, is only a fallback
    for the page's own canonical URL and a hint for dates in the path. Nothing is fetched.
    Raises `UnreadablePage` for a page nested too deeply to parse whole.
    """
    # Imported here: trafilatura is slow to import, and a server that only answers questions
    # never reads a page (docs/benchmarks.md, "Cold start").
    import trafilatura
    from trafilatura.settings import Document as Extraction

    _demote_library_logs()
    if not _DOCUMENT_TAG.search(html):
        html = f"<html><body>{html}</body></html>"
    tree = _parse(html)
    if tree is None:
        return None
    extraction = trafilatura.bare_extraction(  # works on a copy: `tree` stays whole
        tree,
        url=url,
        with_metadata=True,
        include_comments=False,
        date_extraction_params=_DATE_PARAMS,
    )
    if not isinstance(extraction, Extraction):
        return None
    title = _clean(extraction.title)
    paragraphs = _paragraphs(extraction.text or "", title)
    if not _is_article(paragraphs):
        return None
    stated = _json_ld_article(tree)
    # trafilatura hands back the caller's URL when the page states none; the page's JSON-LD
    # URL, which trafilatura does not read, is the better one then.
    page_url = extraction.url if extraction.url != url else None
    return HtmlArticle(
        text="\n\n".join(paragraphs),
        title=title or _clean(stated.get("headline")),
        published=_to_date(extraction.date) or _to_date(stated.get("datePublished")),
        author=_clean(extraction.author) or _json_ld_author(stated.get("author")),
        url=page_url or _json_ld_url(stated) or url,
        source=_stated_source(extraction) or _json_ld_name(stated.get("publisher")),
    )


def _parse(html: str) -> HtmlElement | None:
    """The page's tree as trafilatura would load it, without its depth limit."""
    from lxml.etree import ParserError
    from lxml.html import HTMLParser, fromstring
    from trafilatura.utils import repair_faulty_html

    html = repair_faulty_html(html, html[:50].lower())
    parser = HTMLParser(**_PARSER_OPTIONS)
    try:
        # Bytes: lxml refuses a string that declares an encoding; the text is decoded already.
        tree = fromstring(html.encode("utf-8", errors="replace"), parser=parser)
    except ParserError:  # nothing to parse
        return None
    if any(error.type_name == "ERR_RESOURCE_LIMIT" for error in parser.error_log):
        raise UnreadablePage("HTML nested too deeply to parse whole (over about 2,000 levels)")
    return tree


@functools.cache
def _demote_library_logs() -> None:
    """Hand trafilatura's and its helpers' log records to this module's logger, at DEBUG."""

    class Demote(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            _LOG.debug("%s: %s", record.name, record.getMessage())

    for name in _LIBRARY_LOGGERS:
        library = logging.getLogger(name)
        library.addHandler(Demote())
        library.propagate = False


def looks_like_html(text: str) -> bool:
    """True for text that is an HTML document or fragment (used to detect HTML bodies inside
    JSON records), False for plain text, including text with stray "<" and ">" in it."""
    return _HTML_SIGNAL.search(text) is not None


def _paragraphs(text: str, title: str | None) -> list[str]:
    """trafilatura's text lines as paragraphs, without the headline it repeats at the top."""
    lines = (" ".join(line.split()) for line in text.splitlines())
    paragraphs = [line for line in lines if line and not _TABLE_RULE.match(line)]
    if paragraphs and title and _key(paragraphs[0]) == _key(title):
        paragraphs.pop(0)
    return paragraphs


def _is_article(paragraphs: list[str]) -> bool:
    counts = (len(paragraph.split()) for paragraph in paragraphs)
    return sum(count for count in counts if count >= MIN_PARAGRAPH_WORDS) >= MIN_ARTICLE_WORDS


def _key(text: str) -> str:
    return " ".join(text.split()).casefold()


def _clean(value: Any) -> str | None:
    return (" ".join(value.split()) or None) if isinstance(value, str) else None


def _to_date(value: Any) -> dt.date | None:
    """A date from trafilatura's "YYYY-MM-DD" or a JSON-LD ISO date-time, as written (its
    local calendar day, not converted to UTC)."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    try:
        return dt.datetime.fromisoformat(text).date()
    except ValueError:
        pass
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        return None


def _stated_source(extraction: Extraction) -> str | None:
    """trafilatura's site name, unless it only made it up from the URL's host name."""
    name = _clean(extraction.sitename)
    if name and "." in name and extraction.url:
        host = (urlsplit(extraction.url).hostname or "").casefold()
        if host.endswith(name.casefold()):
            return None
    return name


def _json_ld_article(tree: HtmlElement) -> dict[str, Any]:
    """The first article object in the page's JSON-LD blocks, or {} when there is none."""
    for script in tree.xpath('//script[@type="application/ld+json"]'):
        try:
            data = json.loads(script.text or "")
        except (json.JSONDecodeError, RecursionError):
            continue
        for item in _json_objects(data):
            if _is_article_type(item.get("@type")):
                return item
    return {}


def _json_objects(data: Any) -> Iterator[dict[str, Any]]:
    """Every object in a JSON-LD value: top-level lists and `@graph` arrays included."""
    if isinstance(data, list):
        for value in data:
            yield from _json_objects(value)
    elif isinstance(data, dict):
        yield data
        yield from _json_objects(data.get("@graph"))


def _is_article_type(value: Any) -> bool:
    types = value if isinstance(value, list) else [value]
    return any(
        isinstance(kind, str) and (kind.endswith("Article") or kind in _ARTICLE_TYPES)
        for kind in types
    )


def _json_ld_name(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("name")
    return _clean(value)


def _json_ld_author(value: Any) -> str | None:
    values = value if isinstance(value, list) else [value]
    names = [name for name in map(_json_ld_name, values) if name]
    return "; ".join(names) or None


def _json_ld_url(article: dict[str, Any]) -> str | None:
    for value in (article.get("url"), article.get("mainEntityOfPage")):
        if isinstance(value, dict):
            value = value.get("@id")
        if isinstance(value, str) and value.strip().startswith(("http://", "https://")):
            return value.strip()
    return None
