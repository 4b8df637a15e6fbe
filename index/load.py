"""Readers for article files: .txt .md .html .json .jsonl (one article or many per file).

A reader returns `Document`s: one story's text plus whatever metadata the file itself states.
Cleaning, segmentation and metadata found in the text are `clean.py`'s job; a reader only
decodes and maps field names. Every failure is an `UnreadableFile` with a reason a person can
act on, so one bad file never stops a batch.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from index.html import extract_html, looks_like_html

TEXT_SUFFIXES = {".txt", ".md", ".markdown"}
HTML_SUFFIXES = {".html", ".htm"}
JSON_SUFFIXES = {".json", ".jsonl", ".ndjson"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | JSON_SUFFIXES

# The field names news datasets use for each piece of an article, in order of preference.
TITLE_FIELDS = ("title", "headline")
TEXT_FIELDS = ("text", "body", "content", "article", "maintext")
SOURCE_FIELDS = ("source", "outlet", "publisher", "source_name", "site_name")
DATE_FIELDS = ("published", "published_at", "date", "publish_date", "pubDate", "date_publish")
URL_FIELDS = ("url", "link")
AUTHOR_FIELDS = ("author", "authors", "byline")
_MARKDOWN_HEADING = re.compile(r"^#{1,6}[ \t]+", re.MULTILINE)


class UnreadableFile(ValueError):
    """A file that cannot be read as articles; the message says why."""


@dataclass(frozen=True)
class Document:
    """One story as a file holds it: `kind="text"` still needs cleaning and segmenting."""

    text: str
    kind: Literal["text", "record"]
    path: str | None = None
    title: str | None = None
    source: str | None = None
    published: dt.date | None = None
    url: str | None = None
    author: str | None = None
    # An upload's name: a label for reports, never an identity (uploads have no `path`).
    filename: str | None = None
    # Ids of stored articles this document is a new version of (removed once it is stored).
    replaces: tuple[str, ...] = ()


def iter_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Every file under the given paths (directories recursively, hidden entries skipped)."""
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                relative = child.relative_to(path).parts
                if child.is_file() and not any(part.startswith(".") for part in relative):
                    yield child
        else:
            yield path


def read_file(path: Path) -> list[Document]:
    """Read one file into documents, or raise `UnreadableFile` saying why."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise UnreadableFile(f"unsupported file type {suffix or '(none)'!r}")
    try:
        data = path.read_bytes()
    except OSError as error:
        raise UnreadableFile(f"cannot read: {error.strerror or error}") from error
    return parse_bytes(data, suffix, str(path))


def parse_bytes(data: bytes, suffix: str, path: str | None) -> list[Document]:
    """Decode file content by its suffix (used for files on disk and for uploads alike)."""
    if b"\x00" in data[:8192]:
        raise UnreadableFile("binary content, not text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise UnreadableFile(f"not UTF-8 text (bad byte at offset {error.start})") from error
    if not text.strip():
        raise UnreadableFile("empty file")
    if suffix in TEXT_SUFFIXES:
        if suffix != ".txt":  # Markdown: headings become plain headline lines
            text = _MARKDOWN_HEADING.sub("", text)
        return [Document(text=text, kind="text", path=path)]
    if suffix in HTML_SUFFIXES:
        page = extract_html(text)
        if page is None:
            raise UnreadableFile("no article text found in the HTML page")
        return [Document(text=page.text, kind="record", path=path, title=page.title,
                         source=page.source, published=page.published, url=page.url,
                         author=page.author)]
    if suffix == ".json":
        return _records(_parse_json(text), path)
    if suffix in (".jsonl", ".ndjson"):
        return _records(_parse_json_lines(text), path)
    raise UnreadableFile(f"unsupported file type {suffix!r}")


def _parse_json(text: str) -> list[Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise UnreadableFile(f"invalid JSON: {error.msg} at line {error.lineno}") from error
    except RecursionError as error:
        raise UnreadableFile("invalid JSON: nested too deeply") from error
    if isinstance(value, dict) and isinstance(value.get("articles"), list):
        value = value["articles"]
    return value if isinstance(value, list) else [value]


def _parse_json_lines(text: str) -> list[Any]:
    values = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            values.append(json.loads(line))
        except json.JSONDecodeError as error:
            raise UnreadableFile(f"invalid JSON on line {number}: {error.msg}") from error
    return values


def _records(values: list[Any], path: str | None) -> list[Document]:
    documents = [record_to_document(v, path) for v in values if isinstance(v, dict)]
    documents = [d for d in documents if d.text.strip()]
    if not documents:
        raise UnreadableFile(
            "no article objects with a text field (" + "/".join(TEXT_FIELDS) + ")"
        )
    return documents


def record_to_document(record: dict[str, Any], path: str | None = None) -> Document:
    """Map an article object's fields (whatever the dataset calls them) onto a Document.

    A body that is HTML (a crawler's raw page) is extracted to its story text; the record's
    own fields win over what the page states.
    """
    document = Document(
        text=_first_text(record, TEXT_FIELDS) or "",
        kind="record",
        path=path,
        title=_first_text(record, TITLE_FIELDS),
        source=_source(record),
        published=parse_date(_first(record, DATE_FIELDS)),
        url=_first_text(record, URL_FIELDS),
        author=_author(record),
    )
    if not looks_like_html(document.text):
        return document
    page = extract_html(document.text, url=document.url)
    if page is None:
        return replace(document, text="")
    return replace(
        document, text=page.text, title=document.title or page.title,
        source=document.source or page.source, published=document.published or page.published,
        url=document.url or page.url, author=document.author or page.author,
    )


def _first(record: dict[str, Any], fields: tuple[str, ...]) -> Any:
    for field in fields:
        if record.get(field) not in (None, ""):
            return record[field]
    return None


def _first_text(record: dict[str, Any], fields: tuple[str, ...]) -> str | None:
    value = _first(record, fields)
    return str(value).strip() or None if value is not None else None


def _source(record: dict[str, Any]) -> str | None:
    value = _first(record, SOURCE_FIELDS)
    if isinstance(value, dict):  # e.g. NewsAPI's {"id": ..., "name": ...}
        value = value.get("name")
    return str(value).strip() or None if value else None


def _author(record: dict[str, Any]) -> str | None:
    value = _first(record, AUTHOR_FIELDS)
    if isinstance(value, list):
        value = ", ".join(str(v) for v in value if v)
    return str(value).strip() or None if value else None


_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%d %B %Y", "%B %d, %Y", "%b %d, %Y", "%d %b %Y",
                 "%a, %d %b %Y %H:%M:%S %z", "%Y%m%d")


def parse_date(value: Any) -> dt.date | None:
    """A publication date from an ISO string, a common written form, or a Unix time."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, int | float):
        try:
            return dt.datetime.fromtimestamp(value / 1000 if value > 1e11 else value, dt.UTC).date()
        except (OverflowError, OSError, ValueError):
            return None
    text = str(value).strip()
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).date()
    except ValueError:
        pass
    for form in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, form).date()
        except ValueError:
            continue
    return None
