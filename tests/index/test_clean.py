"""Tests for index/clean.py: furniture, repeats, several stories in one file, header metadata."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from index.clean import (
    CleanArticle,
    clean_text,
    find_outlet,
    find_published,
    is_boilerplate,
    normalize_whitespace,
    split_stories,
)

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus"
CORPUS_PREFIXES = ("000", "001", "002", "003", "004")
PERSIAN_THUMBNAIL = "تصویر بندانگشتی"
FURNITURE = (
    "Skip to main content",
    "Latest news",
    "Share this post",
    "Short Url",
    "Follow",
    "Tags:",
    PERSIAN_THUMBNAIL,
    "Updated 8 sec ago",
    "Updated 17 March 2024",
)

needs_corpus = pytest.mark.skipif(
    not CORPUS.is_dir(), reason=f"the shared news corpus is not at {CORPUS}"
)


def corpus_text(prefix: str) -> str:
    (path,) = CORPUS.glob(f"{prefix}_*.txt")
    return path.read_text(encoding="utf-8")


def paragraphs(article: CleanArticle) -> list[str]:
    return article.text.split("\n\n")


# --- the shared corpus ---------------------------------------------------------------------


@needs_corpus
def test_001_holds_two_stories_with_their_own_titles_and_dates() -> None:
    first, second = clean_text(corpus_text("001"))

    assert first.title == (
        "‘Terrorism’ against Pakistan being conducted mostly from Afghanistan — defense minister"
    )
    assert first.published == datetime.date(2024, 3, 17)
    assert (
        second.title == "US envoy, military officials attend Pakistan-US counterterrorism exercise"
    )
    assert second.published is None  # "Updated 8 sec ago" states no date
    assert not first.text.startswith(first.title)
    assert first.text.startswith("• His accusations come in response")


@needs_corpus
def test_004_repeated_body_is_one_article_without_repeated_paragraphs() -> None:
    (article,) = clean_text(corpus_text("004"))

    assert len(paragraphs(article)) == len(set(paragraphs(article)))
    assert article.title == "Terrorism Down, Security Up: Khawaja Asif on Post-US Afghanistan"
    assert article.title not in article.text
    assert article.removed_lines > 0


@needs_corpus
@pytest.mark.parametrize("prefix", CORPUS_PREFIXES)
def test_furniture_lines_never_reach_article_text(prefix: str) -> None:
    for article in clean_text(corpus_text(prefix)):
        lines = set(article.text.splitlines())
        assert not lines & set(FURNITURE), article.title


@needs_corpus
def test_003_photo_caption_date_is_not_the_publication_date() -> None:
    (article,) = clean_text(corpus_text("003"))

    assert article.published is None
    assert article.title == "Pakistan defense minister warns Kabul over cross-border terror"
    assert "(AP Photo)" not in article.text


@needs_corpus
def test_002_outlet_comes_from_the_lead_in() -> None:
    (article,) = clean_text(corpus_text("002"))

    assert article.source == "RASC News Agency"
    assert article.title is None  # the file opens with body text, not a headline
    assert article.text.startswith("RASC News Agency: Pakistan’s Defense Minister")


@needs_corpus
def test_000_is_one_article_with_its_headline() -> None:
    (article,) = clean_text(corpus_text("000"))

    assert article.title == (
        "Pakistani minister admits to backing terror outfits for the West, "
        "calls it a costly mistake"
    )
    # Sky News is described from outside ("the British news outlet"): not the publisher.
    assert article.source is None


@needs_corpus
@pytest.mark.parametrize(("prefix", "outlet"), [("003", "Daily Sabah"), ("004", "TOLOnews")])
def test_interview_outlet_is_the_publisher_unless_the_speaker_spoke_elsewhere(
    prefix: str, outlet: str
) -> None:
    (article,) = clean_text(corpus_text(prefix))

    assert article.source == outlet


@needs_corpus
@pytest.mark.parametrize("prefix", CORPUS_PREFIXES)
def test_every_paragraph_is_a_line_of_the_raw_file(prefix: str) -> None:
    raw = corpus_text(prefix)
    raw_lines = set(normalize_whitespace(raw).splitlines())
    for article in clean_text(raw):
        assert article.text.strip()
        for paragraph in paragraphs(article):
            assert paragraph in raw_lines
            assert paragraph in normalize_whitespace(article.raw_text)


@needs_corpus
@pytest.mark.parametrize("prefix", CORPUS_PREFIXES)
def test_raw_text_segments_cover_the_file(prefix: str) -> None:
    raw = corpus_text(prefix)

    assert "".join(article.raw_text for article in clean_text(raw)) == raw


# --- segmentation --------------------------------------------------------------------------

TWO_STORIES = """\
Port strike halts container traffic

Updated 5 January 2025

PORT AVERIN: Dockworkers walked off the job on Monday, halting container traffic.

The union said its members would stay out for at least 72 hours.

Council approves desalination plant
Updated 6 January 2025

SELMARQ: The city council approved a desalination plant on Tuesday.

Construction is due to start in the spring.
"""


def test_two_stories_are_two_articles() -> None:
    first, second = clean_text(TWO_STORIES)

    assert first.title == "Port strike halts container traffic"
    assert first.published == datetime.date(2025, 1, 5)
    assert first.text == (
        "PORT AVERIN: Dockworkers walked off the job on Monday, halting container traffic."
        "\n\nThe union said its members would stay out for at least 72 hours."
    )
    assert second.title == "Council approves desalination plant"
    assert second.published == datetime.date(2025, 1, 6)
    assert second.text.startswith("SELMARQ: The city council")
    assert first.raw_text + second.raw_text == TWO_STORIES


def test_two_blank_lines_before_a_headline_start_a_new_story() -> None:
    text = (
        "First headline about the budget\n\nThe budget passed on Monday.\n\n\n"
        "Second headline about the weather\n\nIt rained all week in the capital."
    )

    assert [article.title for article in clean_text(text)] == [
        "First headline about the budget",
        "Second headline about the weather",
    ]
    assert split_stories(text.splitlines()) == [(0, 5), (5, 8)]


def test_sub_heading_inside_a_story_does_not_split_it() -> None:
    text = (
        "Minister resigns over procurement scandal\n\n"
        "The minister resigned on Friday after an audit.\n\n"
        "What happens next\n\n"
        "Parliament will elect a successor next week."
    )

    (article,) = clean_text(text)
    assert "What happens next" in paragraphs(article)


REPEATED_BODY = """\
Floods close mountain roads

Heavy rain closed three mountain roads on Sunday.

“We will not back down,” she said.

Floods close mountain roads

Heavy rain closed three mountain roads on Sunday.

“We will not back down,” she said.
"""


def test_a_story_repeated_with_its_headline_is_one_article_without_repeats() -> None:
    (article,) = clean_text(REPEATED_BODY)

    assert article.title == "Floods close mountain roads"
    assert paragraphs(article) == [
        "Heavy rain closed three mountain roads on Sunday.",
        "“We will not back down,” she said.",
    ]
    assert article.removed_lines == 3  # the repeated headline and two repeated paragraphs


# --- boilerplate and whitespace ------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "Skip to main content",
        "Latest news",
        "Share this post",
        "Short Url",
        "Follow",
        "Tags:",
        "Tags: Pakistan, Afghanistan",
        "Updated 8 sec ago",
        "Updated 17 March 2024",
        "Published: Monday, March 3, 2025 10:30 GMT",
        "March 3, 2025",
        "Officials at the scene on Monday, March 3, 2025. (AP Photo/Jane Doe)",
        "Minister addressing a press conference in Islamabad on May 11, 2023. (APP)",
    ],
)
def test_furniture_is_boilerplate(line: str) -> None:
    assert is_boilerplate(line)


@pytest.mark.parametrize(
    "line",
    [
        "“We will not back down,” she said.",
        "He resigned.",
        "The court said hearings would begin on October 20.",
        "Updated figures were released on Monday.",
        "Follow the money, investigators say",
        "By the end of the year, prices had doubled.",
        "• Exercise marks 13th round of counterterrorism training",
    ],
)
def test_article_lines_are_not_boilerplate(line: str) -> None:
    assert not is_boilerplate(line)


def test_short_foreign_script_label_is_boilerplate_only_in_a_latin_article() -> None:
    label = "تصویر بندانگشتی خبر امروز"  # "thumbnail of today's news"

    assert is_boilerplate(label)
    assert not is_boilerplate(label, latin_article=False)


def test_short_quote_paragraph_is_kept() -> None:
    (article,) = clean_text(
        "Protesters vow to stay in the square\n\n"
        "Thousands gathered on Sunday.\n\n"
        "“We will not back down,” she said.\n\n"
        "Share this post"
    )

    assert paragraphs(article) == [
        "Thousands gathered on Sunday.",
        "“We will not back down,” she said.",
    ]
    assert article.removed_lines == 1


def test_whitespace_is_normalised() -> None:
    raw = "Title of the story here\n\n\n\n  • a bullet point\u00a0\nBody\u00a0 text.\u00a0  \n"

    assert normalize_whitespace(raw) == "Title of the story here\n\n• a bullet point\nBody text."


def test_empty_or_furniture_only_text_yields_no_article() -> None:
    assert clean_text("") == []
    assert clean_text("Skip to main content\nShare this post\n") == []


# --- metadata ------------------------------------------------------------------------------


def test_published_comes_from_an_updated_header_line() -> None:
    (article,) = clean_text(
        "Rates rise again\nUpdated 5 January 2025\n\nThe central bank raised rates on Friday."
    )

    assert article.published == datetime.date(2025, 1, 5)
    assert "Updated" not in article.text


def test_caption_date_is_ignored_but_a_header_date_line_is_used() -> None:
    header = [
        "Minister warns of reprisals",
        "The minister in Moscow, Feb. 20, 2018. (AP Photo)",
        "March 3, 2025",
    ]

    assert find_published(header) == datetime.date(2025, 3, 3)
    assert find_published(header[:2]) is None


def test_dates_in_the_headline_or_the_body_are_not_the_publication_date() -> None:
    lines = [
        "Elections set for Feb. 8, 2024 as parliament dissolves",
        "Parliament was dissolved on 9 August 2023, the speaker said.",
        "Updated 10 August 2023",
    ]

    assert find_published(lines) is None
    assert find_published(["Updated 8 sec ago"]) is None


def test_byline_gives_author_and_outlet() -> None:
    (article,) = clean_text(
        "Court to hear election law challenge\nBy Jana Kell, The Averin Ledger\n"
        "September 22, 2025\n\nThe court agreed on Monday to hear the challenge."
    )

    assert article.author == "Jana Kell"
    assert article.source == "The Averin Ledger"
    assert article.published == datetime.date(2025, 9, 22)
    assert article.text == "The court agreed on Monday to hear the challenge."


@pytest.mark.parametrize(
    ("text", "outlet"),
    [
        ("RASC News Agency: The minister spoke on Friday.", "RASC News Agency"),
        ("KABUL (Reuters) - The minister spoke on Friday.", "Reuters"),
        ("ISLAMABAD: The minister spoke on Friday.", None),
        ("Asif told reporters in Sialkot that talks had failed.", None),
        ("Speaking to Daily Sabah, Asif said talks had failed.", "Daily Sabah"),
        ("Speaking to the British news outlet Sky News, Asif said talks had failed.", None),
        (
            "Asif, in an interview with a local media outlet, said talks had failed.\n\n"
            "Asif told Dawn News: “We tried.”\n\n"
            "Sadiq Shinwari, an analyst, told TOLOnews: “They did not.”",
            "TOLOnews",
        ),
    ],
)
def test_find_outlet(text: str, outlet: str | None) -> None:
    assert find_outlet(text) == outlet


def test_outlet_lead_in_article() -> None:
    (article,) = clean_text("RASC News Agency: The minister spoke at a press conference on Friday.")

    assert article.source == "RASC News Agency"
    assert article.title is None
