"""HTML news pages: the story without page furniture, metadata from JSON-LD and meta tags."""

from __future__ import annotations

import datetime as dt
import socket
from pathlib import Path

import pytest

from index.html import extract_html, looks_like_html

FIXTURES = Path(__file__).parent / "fixtures"

NEWS_STORY = [
    "Councillors in the fictional harbour town of Brackenwick voted seven to two on Tuesday night"
    " to let a small engineering firm lower three tidal turbines beside the disused ferry pier for"
    " a two-year trial.",
    "The firm, Pellow Marine Works, says the turbines will sit on the seabed in eleven metres of"
    " water and will together generate enough electricity for roughly four hundred homes when the"
    " tide runs at full strength.",
    '"We have watched that water race past the pier twice a day for as long as anyone can'
    " remember, and for the first time we are going to ask it to do some work for us,\" said"
    " harbour master Odile Fenwright, who chaired the meeting.",
    "Opponents on the council argued that the trial had been rushed through before the town's"
    " lobster fishers had seen the survey of the seabed, and asked for the vote to be delayed"
    " until the summer.",
    "Pellow Marine Works has agreed to pay for an independent monitor who will count seals and"
    " porpoises near the pier every week and publish the figures on the harbour office"
    " noticeboard.",
    "The first turbine is due to be lowered into place in late September, weather permitting,"
    " and the council will review the results at a public meeting in the spring of 2027.",
]

META_ONLY_STORY = [
    "The public library in the fictional river town of Orrinford opened its doors on Monday"
    " morning for the first time since floodwater filled its ground floor in the spring of last"
    " year.",
    "Volunteers queued from seven o'clock to carry the first boxes of dried and rebound books back"
    " onto the shelves, and the children's reading room was full within an hour of opening.",
    '"Every one of those books went through a freezer, a vacuum chamber and a lot of patient'
    ' hands," said head librarian Wendeline Askew. "Some of them smell a little of the river, and'
    ' I think the town rather likes that."',
    "The repairs cost the district just over a million crowns, most of it raised by a levy"
    " approved at a town meeting and the rest by a bake sale that ran every Saturday for a year.",
    "The building's new flood doors will be tested in January, when the river usually reaches its"
    " highest level of the winter.",
]

# Page furniture both fixtures carry; none of it belongs to a story.
FURNITURE = [
    "Home", "World", "Business", "Sign in", "Subscribe", "Advertisement", "Share on Facebook",
    "Share on X", "Copy link", "Related stories", "cookies", "newsletter", "Newsletter", "©",
    "All rights reserved", "Posted by",
]
NEWS_COMMENTS = [
    "gullwatcher52", "About time the harbour did something useful",
    "Nobody asked the lobster boats", "Join the conversation",
]
NEWS_URL = "https://coastline-courier.example/news/2025/04/brackenwick-tidal-trial"

# Four paragraphs of invented story, long enough to count as an article.
FERRY_STORY = "".join(
    f"<p>Ferry crew {n} of the fictional Dunmarrow Sound rowed the harbour pilot across the bay"
    " before the storm came in on Friday.</p>"
    for n in range(1, 5)
)


def read_fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def test_news_page_gives_exactly_the_story_paragraphs() -> None:
    article = extract_html(read_fixture("news_page.html"))

    assert article is not None
    for paragraph in NEWS_STORY:
        assert paragraph in article.text
    for furniture in [*FURNITURE, *NEWS_COMMENTS]:
        assert furniture not in article.text, furniture
    assert article.text.split("\n\n") == NEWS_STORY
    assert article.title not in article.text  # the headline is `title`, not a paragraph


def test_news_page_metadata_comes_from_json_ld_and_meta_tags() -> None:
    article = extract_html(read_fixture("news_page.html"))

    assert article is not None
    assert article.title == "Brackenwick harbour approves tidal turbine trial"
    assert article.published == dt.date(2025, 4, 2)
    assert article.author == "Mira Hollis"
    assert article.source == "The Coastline Courier"
    assert article.url == NEWS_URL


def test_page_with_meta_tags_only() -> None:
    html = read_fixture("meta_only_page.html")
    assert "application/ld+json" not in html

    article = extract_html(html, url="https://mirror.example/copy-of-the-story")

    assert article is not None
    assert article.text.split("\n\n") == META_ONLY_STORY
    for furniture in [*FURNITURE, "So glad my grandchildren"]:
        assert furniture not in article.text, furniture
    assert article.title == "Orrinford library reopens after eighteen months of flood repairs"
    assert article.published == dt.date(2024, 11, 18)
    assert article.author == "Tobias Quennell"
    assert article.source == "Valley Ledger"
    # The page's own og:url wins over where the caller found a copy.
    assert article.url == "https://valley-ledger.example/2024/11/orrinford-library-reopens/"


def test_page_without_an_article_gives_none() -> None:
    assert extract_html(read_fixture("login_page.html")) is None


@pytest.mark.parametrize("html", ["", "   ", "plain words", "<p>Hi</p><p>there</p>"])
def test_empty_or_tiny_input_gives_none(html: str) -> None:
    assert extract_html(html) is None


def test_json_ld_fills_what_trafilatura_misses() -> None:
    # No canonical link, no og: tags: the URL is only in JSON-LD (inside an @graph), which
    # trafilatura does not read for URLs; it still beats the caller's URL.
    html = (
        '<html><head><title>Ferry crews row the bay</title><script type="application/ld+json">'
        '{"@context": "https://schema.org", "@graph": ['
        '{"@type": "WebSite", "name": "Gazette site"},'
        '{"@type": "NewsArticle", "headline": "Ferry crews row the bay",'
        ' "datePublished": "2025-03-07T22:10:00-05:00",'
        ' "author": [{"@type": "Person", "name": "Ansel Gray"}, {"name": "Ruth Penhale"}],'
        ' "publisher": {"@type": "Organization", "name": "The Dunmarrow Gazette"},'
        ' "mainEntityOfPage": {"@id": "https://dunmarrow-gazette.example/ferry-crews"}}]}'
        f"</script></head><body><article><h1>Ferry crews row the bay</h1>{FERRY_STORY}"
        "</article></body></html>"
    )

    article = extract_html(html, url="https://aggregator.example/item/99")

    assert article is not None
    assert article.url == "https://dunmarrow-gazette.example/ferry-crews"
    assert article.published == dt.date(2025, 3, 7)  # the day as written, not shifted to UTC
    assert article.author == "Ansel Gray; Ruth Penhale"
    assert article.source == "The Dunmarrow Gazette"
    assert article.text.startswith("Ferry crew 1 of")


def test_a_copyright_year_is_not_a_publication_date() -> None:
    html = (
        "<!DOCTYPE html><html><head><title>Ferry crews row the bay</title></head><body>"
        f"<article><h1>Ferry crews row the bay</h1>{FERRY_STORY}</article>"
        "<footer><p>© 2025 The Dunmarrow Gazette</p></footer></body></html>"
    )

    article = extract_html(html)

    assert article is not None
    assert article.published is None
    assert "©" not in article.text


def test_fragment_from_a_json_record_uses_the_callers_url() -> None:
    url = "https://dunmarrow-gazette.example/2025/03/07/ferry-crews"

    article = extract_html(FERRY_STORY, url=url)

    assert article is not None
    assert article.text.count("\n\n") == 3
    assert article.url == url
    assert article.published == dt.date(2025, 3, 7)  # from the date in the URL's path
    assert article.source is None  # a host name is not an outlet name the page states


@pytest.mark.parametrize(("text", "expected"), [
    (read_fixture("news_page.html"), True),
    ("<p>Hi</p><p>there</p>", True),
    ("<div class='story'>One line<br>another line</div>", True),
    ("First line<br/>second line", True),
    ("  <p>An unclosed paragraph", True),
    ("a < b and c > d", False),
    ("x<b and c>y, for all b", False),
    ("Prices rose >5% while volumes stayed <3 million.", False),
    ("Plain text\n\nin two paragraphs.", False),
])
def test_looks_like_html(text: str, expected: bool) -> None:
    assert looks_like_html(text) is expected


def test_extraction_opens_no_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    # pytest-socket already blocks all but loopback; this also fails on loopback and DNS, so
    # an extraction that tried to fetch anything at all would show here.
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network use during extraction: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)

    for name in ("news_page.html", "meta_only_page.html"):
        assert extract_html(read_fixture(name), url=NEWS_URL) is not None
