"""Readers for article files: .txt .md .html .json .jsonl (one article or many per file).

A reader returns `Document`s (a story's text plus the metadata the file itself states) and
only decodes and maps field names; cleaning is `clean.py`'s job. A file that cannot be read
raises `UnreadableFile` with a reason a person can act on; a bad record or line is skipped and
reported on its own.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, BinaryIO, Literal

from index.encoding import decode_text
from index.files import MAX_FILE_BYTES, UnreadableFile, open_regular, read_bytes, too_large
from index.html import UnreadablePage, extract_html, looks_like_html

TEXT_SUFFIXES = {".txt", ".md", ".markdown"}
HTML_SUFFIXES = {".html", ".htm"}
JSON_LINES_SUFFIXES = {".jsonl", ".ndjson"}
JSON_SUFFIXES = {".json"} | JSON_LINES_SUFFIXES
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | JSON_SUFFIXES

# The field names news datasets use for each piece of an article, in order of preference.
TITLE_FIELDS = ("title", "headline")
TEXT_FIELDS = ("text", "body", "content", "article", "maintext")
SOURCE_FIELDS = ("source", "outlet", "publisher", "source_name", "site_name")
DATE_FIELDS = ("published", "published_at", "date", "publish_date", "pubDate", "date_publish")
URL_FIELDS = ("url", "link")
AUTHOR_FIELDS = ("author", "authors", "byline")
_MARKDOWN_HEADING = re.compile(r"^#{1,6}[ \t]+", re.MULTILINE)
# YAML front matter: a block between "---" lines at the very top of a Markdown file.
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?\r?\n)?(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)",
                           re.DOTALL)
_FRONT_MATTER_MAX_CHARS = 65_536
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_WIDE_BOMS = (b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")  # UTF-16 and UTF-32

_NO_TEXT = "no article objects with a text field (" + "/".join(TEXT_FIELDS) + ")"
_NO_RECORD_TEXT = "no article text (in none of the fields " + "/".join(TEXT_FIELDS) + ")"
# (where, reason) of a record or line left out of a file that was otherwise read.
Skip = tuple[str, str]


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


def read_file(path: Path, skipped: list[Skip] | None = None, *,
              max_bytes: int = MAX_FILE_BYTES) -> list[Document]:
    """Read one file into documents, or raise `UnreadableFile` saying why.

    Only a regular file is opened. A file over `max_bytes` is refused, except a JSON Lines
    feed, which is read a line at a time (each line at most `max_bytes`). Records or lines that
    cannot be read go to `skipped` as (path, "line N: reason") when a list is given; without
    one, the first of them makes the whole file unreadable.
    """
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise UnreadableFile(f"unsupported file type {suffix or '(none)'!r}")
    if suffix in JSON_LINES_SUFFIXES:
        with open_regular(path) as file:
            if not file.peek(4).startswith(_WIDE_BOMS):  # else decoded whole, below
                return _records(_json_lines(_lines_of(file, max_bytes)), str(path), skipped)
    try:
        data = read_bytes(path, max_bytes)
    except UnreadableFile as error:
        if suffix == ".json" and "RAG_MAX_FILE_BYTES" in str(error):
            raise UnreadableFile(f"{error}; as JSON Lines (.jsonl, an article a line) it "
                                 "would be read a line at a time") from error
        raise
    return parse_bytes(data, suffix, str(path), skipped)


def parse_bytes(data: bytes, suffix: str, path: str | None,
                skipped: list[Skip] | None = None) -> list[Document]:
    """Decode file content by its suffix (used for files on disk and for uploads alike).

    `skipped` is as for `read_file`: where records or lines that cannot be read are reported.
    """
    if suffix in JSON_LINES_SUFFIXES and not data.startswith(_WIDE_BOMS):
        lines = (line + b"\n" for line in data.split(b"\n"))  # a last line ending the data
        return _records(_json_lines(lines), path, skipped)
    text = decode_text(data, html=suffix in HTML_SUFFIXES)
    if not text.strip():
        raise UnreadableFile("empty file")
    if suffix in TEXT_SUFFIXES:
        return [_text_document(text, suffix, path)]
    if suffix in HTML_SUFFIXES:
        page = _extract(text, None)
        if page is None:
            raise UnreadableFile("no article text found in the HTML page")
        return [Document(text=page.text, kind="record", path=path, title=page.title,
                         source=page.source, published=page.published, url=page.url,
                         author=page.author)]
    if suffix == ".json":
        return _records(_json_document(text), path, skipped)
    if suffix in JSON_LINES_SUFFIXES:  # UTF-16 or UTF-32 with a byte-order mark
        return _records(_json_lines(line.encode() + b"\n" for line in text.splitlines()),
                        path, skipped)
    raise UnreadableFile(f"unsupported file type {suffix!r}")


# ---- plain text and Markdown ------------------------------------------------------------------

def _text_document(text: str, suffix: str, path: str | None) -> Document:
    if suffix == ".txt":
        return Document(text=text, kind="text", path=path)
    metadata, text = _front_matter(text)
    # Markdown: headings become plain headline lines
    document = Document(text=_MARKDOWN_HEADING.sub("", text), kind="text", path=path)
    if not document.text.strip():
        raise UnreadableFile("no article text after the front matter")
    try:
        return _with_fields(document, metadata)
    except UnreadableFile as error:
        raise UnreadableFile(f"front matter: {error}") from error


def _front_matter(text: str) -> tuple[dict[str, Any], str]:
    """(the YAML front matter's fields, the text after it); ({}, text) without one.

    Values are read as YAML strings (a title "NO" or "1984" stays as written). A block that
    is not YAML is still front matter when every line reads "key: value" (a title holding a
    colon, unquoted); anything else is left in the text.
    """
    import yaml

    match = _FRONT_MATTER.match(text[:_FRONT_MATTER_MAX_CHARS])
    if not match:
        return {}, text
    block = match[1] or ""
    try:
        fields = yaml.load(block, Loader=yaml.BaseLoader)  # strings, lists and maps only
    except yaml.YAMLError:
        fields = _key_value_lines(block)
    if not block.strip():
        fields = {}
    return (fields, text[match.end() :]) if isinstance(fields, dict) else ({}, text)


def _key_value_lines(block: str) -> dict[str, str] | None:
    fields = {}
    for line in block.splitlines():
        key, colon, value = line.partition(":")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not colon or not re.fullmatch(r"[A-Za-z_][\w-]*", key.strip()):
            return None
        fields[key.strip()] = value.strip().strip("\"'")
    return fields


# ---- JSON -------------------------------------------------------------------------------------

def _json_document(text: str) -> Iterator[tuple[str, Any]]:
    """("record N", value) for each article object of a JSON document."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise UnreadableFile(f"invalid JSON: {error.msg} at line {error.lineno}") from error
    except RecursionError as error:
        raise UnreadableFile("invalid JSON: nested too deeply") from error
    if isinstance(value, dict) and isinstance(value.get("articles"), list):
        value = value["articles"]
    values = value if isinstance(value, list) else [value]
    yield from ((f"record {number}", item) for number, item in enumerate(values, start=1))


def _lines_of(file: BinaryIO, max_bytes: int) -> Iterator[bytes | UnreadableFile]:
    """A binary file's lines, each read up to `max_bytes`; for a longer line, the reason it is
    not read (it is never held whole)."""
    while line := file.readline(max_bytes + 1):
        if len(line) <= max_bytes or line.endswith(b"\n"):
            yield line
            continue
        length = len(line)
        while (rest := file.readline(1 << 20)) and not rest.endswith(b"\n"):
            length += len(rest)
        yield UnreadableFile(f"line of {too_large(length + len(rest), max_bytes)}")


def _json_lines(lines: Iterable[bytes | UnreadableFile]) -> Iterator[tuple[str, Any]]:
    """("line N", value) for each JSON Lines record, or ("line N", UnreadableFile) for a line
    that is not one; blank lines are passed over."""
    for number, line in enumerate(lines, start=1):
        where = f"line {number}"
        if isinstance(line, UnreadableFile):
            yield where, line
            continue
        if number == 1:
            line = line.removeprefix(b"\xef\xbb\xbf")
        if not line.strip():
            continue
        yield where, _json_line(line)


def _json_line(line: bytes) -> Any:
    if b"\x00" in line:
        return UnreadableFile("binary content (NUL bytes)")
    if not line.endswith(b"\n"):
        try:
            return json.loads(line)
        except (ValueError, RecursionError):
            return UnreadableFile("incomplete last line (no newline at its end, not valid "
                                  "JSON): a feed still being written? Index it again later")
    try:
        return json.loads(line.rstrip(b"\r\n"))
    except UnicodeDecodeError:
        return UnreadableFile("not UTF-8 text (JSON Lines are UTF-8)")
    except json.JSONDecodeError as error:
        return UnreadableFile(f"invalid JSON: {error.msg} at column {error.colno}")
    except RecursionError:
        return UnreadableFile("invalid JSON: nested too deeply")


def _records(values: Iterable[tuple[str, Any]], path: str | None,
             skipped: list[Skip] | None) -> list[Document]:
    """The article records among `values`; the others reported, or raised without `skipped`."""
    documents: list[Document] = []
    problems: list[tuple[str, UnreadableFile]] = []
    for where, value in values:
        try:
            if isinstance(value, UnreadableFile):
                raise value
            if not isinstance(value, dict):
                raise UnreadableFile(f"not a JSON object but {_json_kind(value)}")
            document = record_to_document(value, path)
            if not document.text.strip():
                raise UnreadableFile(_NO_RECORD_TEXT)
            documents.append(document)
        except UnreadableFile as error:
            problems.append((where, error))
    if not documents:
        if not problems:
            raise UnreadableFile(_NO_TEXT)
        where, error = problems[0]
        if len(problems) == 1:
            raise UnreadableFile(str(error) if where == "record 1" else f"{where}: {error}")
        raise UnreadableFile(f"no readable records: {where}: {error} "
                             f"(and {len(problems) - 1} more)")
    if problems and skipped is None:
        where, error = problems[0]
        raise UnreadableFile(f"{where}: {error}")
    if skipped is not None:
        skipped.extend((path or "(upload)", f"{where}: {error}") for where, error in problems)
    return documents


def record_to_document(record: dict[str, Any], path: str | None = None) -> Document:
    """Map an article object's fields (whatever the dataset calls them) onto a Document.

    A body given as a list of paragraphs is joined with blank lines; a body that is HTML (a
    crawler's raw page) is extracted to its story text, the record's own fields winning over
    what the page states. Raises `UnreadableFile` when a text field holds something other than
    text (a number, a boolean, an object).
    """
    document = Document(text=_text_field(record, TEXT_FIELDS, "\n\n") or "", kind="record")
    document = _with_fields(document, record, path)
    if not looks_like_html(document.text):
        return document
    page = _extract(document.text, document.url)
    if page is None:
        return replace(document, text="")
    return replace(
        document, text=page.text, title=document.title or page.title,
        source=document.source or page.source, published=document.published or page.published,
        url=document.url or page.url, author=document.author or page.author,
    )


def _with_fields(document: Document, fields: dict[str, Any],
                 path: str | None = None) -> Document:
    """`document` with the metadata `fields` state (a record's or front matter's)."""
    return replace(
        document,
        path=path or document.path,
        title=_text_field(fields, TITLE_FIELDS, None),
        source=_text_field(fields, SOURCE_FIELDS, None),
        published=parse_date(_first(fields, DATE_FIELDS)[1]),
        url=_text_field(fields, URL_FIELDS, None),
        author=_text_field(fields, AUTHOR_FIELDS, ", "),
    )


def _first(record: dict[str, Any], fields: tuple[str, ...]) -> tuple[str, Any]:
    for field in fields:
        if record.get(field) not in (None, "", [], {}):
            return field, record[field]
    return "", None


def _text_field(record: dict[str, Any], fields: tuple[str, ...], join: str | None) -> str | None:
    """The first of `fields` as text: a string; a list of strings joined with `join` (or its
    first, when `join` is None); an object's "name" (an outlet, an author). Raises
    `UnreadableFile` for numbers, booleans and other objects."""
    field, value = _first(record, fields)
    if value is None:
        return None
    if isinstance(value, dict) and isinstance(value.get("name"), str):
        value = value["name"]
    elif isinstance(value, list):
        names = [v["name"] if isinstance(v, dict) and isinstance(v.get("name"), str) else v
                 for v in value]
        wrong = next((v for v in names if not isinstance(v, str)), None)
        if wrong is not None:
            raise UnreadableFile(f"field {field!r} is a list holding {_json_kind(wrong)}, "
                                 "not text")
        parts = [part.strip() for part in names if part.strip()]
        value = (join.join(parts) if join is not None else parts[0]) if parts else ""
    if not isinstance(value, str):
        raise UnreadableFile(f"field {field!r} is {_json_kind(value)}, not text")
    return _SURROGATE.sub("\ufffd", value).strip() or None


def _json_kind(value: Any) -> str:
    kinds = ((bool, "a boolean"), (int | float, "a number"), (str, "a string"),
             (list, "a list"), (dict, "an object"))
    return next((name for kind, name in kinds if isinstance(value, kind)), "null")


def _extract(html: str, url: str | None):
    try:
        return extract_html(html, url=url)
    except UnreadablePage as error:
        raise UnreadableFile(str(error)) from error


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
    if not isinstance(value, str):
        return None
    text = value.strip()
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
