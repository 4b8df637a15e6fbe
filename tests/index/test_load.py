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
    ("nul_late.txt", b"A story. " * 2000 + b"\x00" + b"More text.", "binary"),
    ("noise.txt", bytes(range(1, 256)) * 40, "no character encoding"),
    ("bad_utf16.txt", b"\xff\xfeA\x00\x00\xd8", "not valid UTF-16"),
    ("doc.pdf", b"%PDF-1.7", "unsupported"),
    ("bad.json", b'{"title": ', "invalid JSON"),
    ("no_text.json", b'{"title": "only a title"}', "no article text"),
    ("not_objects.json", b'[1, "two"]', "record 1: not a JSON object but a number"),
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


def good_record(number: int) -> dict:
    return {"title": f"Story {number}", "text": f"Body of story {number}, told in full.",
            "source": "Wire"}


def test_bad_lines_of_a_feed_are_skipped_one_by_one(tmp_path: Path) -> None:
    lines = [json.dumps(good_record(n)) for n in range(5)]
    lines.insert(2, '{"title": "cut off", "text": "no closing brace"')
    lines.insert(4, "[1, 2, 3]")
    path = tmp_path / "feed.jsonl"
    path.write_text("\n".join(lines) + "\n")
    skipped: list[tuple[str, str]] = []
    documents = read_file(path, skipped)
    assert [d.title for d in documents] == [f"Story {n}" for n in range(5)]
    assert skipped == [
        (str(path), "line 3: invalid JSON: Expecting ',' delimiter at column 48"),
        (str(path), "line 5: not a JSON object but a list"),
    ]
    with pytest.raises(UnreadableFile, match="line 3: invalid JSON"):  # nowhere to report
        read_file(path)


def test_a_feed_being_written_keeps_its_complete_records(tmp_path: Path) -> None:
    path = tmp_path / "live.jsonl"
    complete = "".join(json.dumps(good_record(n)) + "\n" for n in range(11))
    path.write_text(complete + json.dumps(good_record(11))[:40])  # the writer is mid-line
    skipped: list[tuple[str, str]] = []
    assert len(read_file(path, skipped)) == 11
    ((where, reason),) = skipped
    assert where == str(path) and reason.startswith("line 12: incomplete last line")
    path.write_text(complete + json.dumps(good_record(11)))  # whole, without its newline
    assert len(read_file(path, [])) == 12


def test_a_feed_is_read_a_line_at_a_time_each_line_bounded(tmp_path: Path) -> None:
    path = tmp_path / "feed.ndjson"
    huge = json.dumps({"title": "Huge", "text": "word " * 5000})
    path.write_text("\n".join([json.dumps(good_record(1)), huge, json.dumps(good_record(2))]))
    skipped: list[tuple[str, str]] = []
    documents = read_file(path, skipped, max_bytes=10_000)  # the file is over it, lines not
    assert [d.title for d in documents] == ["Story 1", "Story 2"]
    assert skipped == [(str(path), f"line 2: line of {len(huge) + 1:,} bytes, over the limit "
                                   "of 10,000 (RAG_MAX_FILE_BYTES)")]


def test_a_feed_of_bad_lines_is_one_skip(tmp_path: Path) -> None:
    path = tmp_path / "broken.jsonl"
    path.write_text("not json\n{also not\n")
    with pytest.raises(UnreadableFile, match=r"no readable records: line 1: invalid JSON.*"
                                             r"\(and 1 more\)"):
        read_file(path, [])


def test_json_values_of_other_types(tmp_path: Path) -> None:
    records = [
        {"title": ["The regional budget passes", "Second headline"],
         "text": ["First paragraph of the story.", "", "Second paragraph."],
         "authors": [{"name": "Ann Lee"}, "Bo Ruiz"], "date": "2025-03-03"},
        {"title": "A flag", "text": True},
        {"title": "A count", "body": 42},
        {"title": "An object", "content": {"html": "<p>x</p>"}},
        {"title": "Mixed", "text": ["A paragraph.", 7]},
        {"title": True, "text": "A body with a boolean for a title."},
        {"title": "Escapes", "text": "Lone \ud800 surrogate from a broken emoji."},
    ]
    path = tmp_path / "records.json"
    path.write_text(json.dumps(records))
    skipped: list[tuple[str, str]] = []
    first, escaped = read_file(path, skipped)
    assert first.title == "The regional budget passes"
    assert first.text == "First paragraph of the story.\n\nSecond paragraph."
    assert first.author == "Ann Lee, Bo Ruiz"
    assert escaped.text == "Lone \ufffd surrogate from a broken emoji."
    assert [reason for _, reason in skipped] == [
        "record 2: field 'text' is a boolean, not text",
        "record 3: field 'body' is a number, not text",
        "record 4: field 'content' is an object, not text",
        "record 5: field 'text' is a list holding a number, not text",
        "record 6: field 'title' is a boolean, not text",
    ]


def test_markdown_front_matter_is_metadata(tmp_path: Path) -> None:
    path = tmp_path / "story.md"
    path.write_text(
        "---\ntitle: NO to the bridge toll\ndate: 2025-04-02\nsource: The Averin Ledger\n"
        "url: https://ledger.example/toll\nauthors:\n  - Mira Hollis\n  - Tom Ade\n"
        "tags: [toll, bridge]\n---\n\n# NO to the bridge toll\n\nResidents of Port Averin "
        "voted against the toll on Sunday, by a wide margin.\n")
    (document,) = read_file(path)
    assert (document.title, document.published, document.source, document.url,
            document.author) == ("NO to the bridge toll", dt.date(2025, 4, 2),
                                 "The Averin Ledger", "https://ledger.example/toll",
                                 "Mira Hollis, Tom Ade")
    assert "title:" not in document.text and "---" not in document.text
    assert "Residents of Port Averin voted" in document.text


def test_front_matter_that_is_not_yaml(tmp_path: Path) -> None:
    path = tmp_path / "colon.md"
    path.write_text("---\ntitle: Minister: we will act\ndate: 2025-04-02\n---\n"
                    "The minister spoke on Monday about the budget and the port.\n")
    (document,) = read_file(path)
    assert (document.title, document.published) == ("Minister: we will act",
                                                     dt.date(2025, 4, 2))
    assert document.text == "The minister spoke on Monday about the budget and the port.\n"
    prose = tmp_path / "rule.md"  # a thematic break, then prose: not front matter
    prose.write_text("---\nThe minister spoke. Then, at noon, he left.\n---\nMore text.\n")
    (document,) = read_file(prose)
    assert document.title is None and "The minister spoke" in document.text


def test_html_nested_deeper_than_lxml_default_keeps_its_story(tmp_path: Path) -> None:
    story = "".join(f"<p>Paragraph {i} tells how the harbour pilots of Port Averin returned "
                    "to work on Monday after the long dispute.</p>" for i in range(5))
    path = tmp_path / "deep.html"
    path.write_text("<html><head><title>Pilots return</title></head><body>" + "<div>" * 400
                    + f"<article>{story}</article>" + "</div>" * 400 + "</body></html>")
    (document,) = read_file(path)
    assert "Paragraph 4 tells how the harbour pilots" in document.text
    path.write_text("<html><body>" + "<div>" * 3000 + story + "</div>" * 3000
                    + "</body></html>")
    with pytest.raises(UnreadableFile, match="nested too deeply"):
        read_file(path)
