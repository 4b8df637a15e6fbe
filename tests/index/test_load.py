"""Readers: field names of real datasets, one or many articles per file, clear skip reasons."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from index.load import UnreadableFile, parse_date, read_file
from support import MULTIHOP_CORPUS


def test_multihop_corpus_reads_as_its_609_articles() -> None:
    if not MULTIHOP_CORPUS.is_file():
        pytest.skip("MultiHop-RAG corpus not found in ../shared")
    documents = read_file(MULTIHOP_CORPUS)
    assert len(documents) == 609
    first = documents[0]
    assert first.title and first.source and first.url and first.text
    assert isinstance(first.published, dt.date)


def test_field_name_variants(tmp_path: Path) -> None:
    path = tmp_path / "feed.jsonl"
    rows = [
        {"headline": "A", "content": "Body A.", "outlet": "Wire", "published_at": "2025-01-02"},
        {"title": "B", "body": "Body B.", "source": {"name": "Ledger"}, "date": "March 3, 2025",
         "authors": ["Ann", "Bo"], "link": "https://example.com/b"},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows))
    a, b = read_file(path)
    assert (a.title, a.text, a.source, a.published) == ("A", "Body A.", "Wire", dt.date(2025, 1, 2))
    assert (b.source, b.published, b.author, b.url) == (
        "Ledger", dt.date(2025, 3, 3), "Ann, Bo", "https://example.com/b")


@pytest.mark.parametrize(("name", "content", "reason"), [
    ("empty.txt", b"   \n", "empty"),
    ("binary.txt", b"\x00\x01\x02abc", "binary"),
    ("latin1.txt", b"caf\xe9 au lait", "not UTF-8"),
    ("doc.pdf", b"%PDF-1.7", "unsupported"),
    ("bad.json", b'{"title": ', "invalid JSON"),
    ("no_text.json", b'{"title": "only a title"}', "no article objects"),
])
def test_bad_files_say_why(tmp_path: Path, name: str, content: bytes, reason: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(UnreadableFile, match=reason):
        read_file(path)


@pytest.mark.parametrize(("value", "expected"), [
    ("2023-11-27T08:45:59+00:00", dt.date(2023, 11, 27)),
    ("17 March 2024", dt.date(2024, 3, 17)),
    ("Feb 20, 2018", dt.date(2018, 2, 20)),
    (1700000000, dt.date(2023, 11, 14)),
    ("not a date", None),
    (None, None),
])
def test_parse_date(value: object, expected: dt.date | None) -> None:
    assert parse_date(value) == expected


FIXTURES = Path(__file__).parent / "fixtures"


def test_html_page_reads_as_its_story() -> None:
    (document,) = read_file(FIXTURES / "news_page.html")
    assert document.kind == "record"
    assert document.author == "Mira Hollis"
    assert document.published == dt.date(2025, 4, 2)
    assert "Advertisement" not in document.text and "Share on" not in document.text


def test_html_body_in_a_json_record_is_extracted(tmp_path: Path) -> None:
    page = (FIXTURES / "news_page.html").read_text()
    path = tmp_path / "crawl.json"
    path.write_text(json.dumps({"title": "Own title", "body": page, "source": "Feed"}))
    (document,) = read_file(path)
    assert (document.title, document.source, document.author) == ("Own title", "Feed",
                                                                   "Mira Hollis")
    assert "<p>" not in document.text and "Subscribe" not in document.text


def test_html_page_without_a_story_is_skipped() -> None:
    with pytest.raises(UnreadableFile, match="no article text"):
        read_file(FIXTURES / "login_page.html")
