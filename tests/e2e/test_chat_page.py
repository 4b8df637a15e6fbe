"""The web chat page in a real browser (Debian's Chromium through Playwright) against the real
server on 127.0.0.1: streamed answers, citation cards, follow-ups, shareable links, abstentions,
errors, markup in articles shown as text; and the screenshots the README shows."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import quote, urlencode

import httpx
import pytest
from playwright.sync_api import Page, expect

from e2e.browser import DESKTOP, PHONE, BrowserPage, LiveServer

pytestmark = pytest.mark.slow

RATE = "Why did the Bank of Veltara raise its policy rate?"
FOLLOW_UP = "Which board members voted against it?"
STRIKE = "How many dockworkers walked off the job in the Port Averin strike?"
OUTLETS = re.compile(r"Northwind Wire|The Averin Ledger")
UNANSWERABLE = "What did the Ostmark football team score in the cup final?"

# Records every state the newest answer passes through, to show it streamed (a MutationObserver
# installed before the page's own script; init scripts are not subject to the page's CSP).
RECORD_STATES = """
window.__answerStates = [];
new MutationObserver((records) => {
  for (const record of records) {
    const node = record.target;
    if (node.nodeType === 1 && node.hasAttribute('data-answer')) {
      window.__answerStates.push(node.getAttribute('data-state'));
    }
  }
}).observe(document, {subtree: true, attributes: true, attributeFilter: ['data-state']});
"""


def last_turn(page: Page):
    return page.locator("article.turn").last


def wait_for_answer(page: Page, state: str = "done") -> None:
    """Until the newest answer has finished in the given state (done, abstained, error)."""
    expect(last_turn(page).locator("[data-answer]")).to_have_attribute("data-state", state)


def type_question(page: Page, question: str) -> None:
    box = page.get_by_label("Your question")
    box.click()
    box.fill(question)
    box.press("Enter")


def ask_requests(page: Page) -> list[dict]:
    """Bodies of the POST /v1/ask requests the page sends from now on."""
    bodies: list[dict] = []
    page.on("request", lambda request: bodies.append(json.loads(request.post_data))
            if request.url.endswith("/v1/ask") and request.method == "POST" else None)
    return bodies


def test_question_streams_an_answer_with_citation_cards(browser_page: BrowserPage) -> None:
    page = browser_page.page
    page.add_init_script(RECORD_STATES)
    sent = ask_requests(page)
    browser_page.open()
    expect(page.get_by_role("heading", name="Ask a question about the news")).to_be_visible()
    expect(page.get_by_label("Your question")).to_be_focused()

    with page.expect_response("**/v1/ask") as response_info:
        type_question(page, RATE)
    assert response_info.value.headers["content-type"].startswith("text/event-stream")
    wait_for_answer(page)
    assert sent[0]["stream"] is True and sent[0]["question"] == RATE and sent[0]["history"] == []
    # The text arrived as delta events: the answer was shown while still streaming.
    assert page.evaluate("window.__answerStates") == ["streaming", "done"]

    turn = last_turn(page)
    expect(turn.get_by_role("heading", name=RATE)).to_be_visible()
    answer = turn.locator("[data-answer]")
    expect(answer).to_contain_text("4.75 percent")
    cards = turn.locator("[data-citation]")
    assert cards.count() >= 2
    markers = answer.locator("a.marker")
    assert markers.count() >= 2
    # Copying the answer keeps its [n] markers: the brackets are there, only visually hidden.
    assert re.search(r"\[1\]", answer.text_content())

    for index in range(cards.count()):
        card = cards.nth(index)
        number = card.get_attribute("data-citation")
        assert card.locator(".card-number").text_content() == number
        expect(card.locator(".card-title")).not_to_be_empty()
        expect(card.locator(".card-outlet")).to_have_text(OUTLETS)
        expect(card.locator("time")).to_have_attribute("datetime", "2025-05-14")
        expect(card.locator("time")).to_have_text("May 14, 2025")
        mark = card.locator("blockquote.passage mark")
        expect(mark).to_have_count(1)
        assert len(mark.text_content()) > 20

    # A click on marker 2 scrolls to card 2, highlights and focuses it.
    answer.locator('a.marker[data-marker="2"]').first.click()
    second = turn.locator('[data-citation="2"]')
    expect(second).to_have_class(re.compile(r"\bis-selected\b"))
    expect(second).to_be_in_viewport()
    expect(second).to_be_focused()
    expect(turn.locator('[data-citation="1"]')).not_to_have_class(re.compile(r"\bis-selected\b"))
    # ... and "Back to answer" returns focus to the marker that was followed.
    second.get_by_role("link", name="Back to answer").click()
    expect(answer.locator('a.marker[data-marker="2"]').first).to_be_focused()
    assert browser_page.errors == [] and browser_page.dialogs == []


def test_follow_up_is_sent_with_the_conversation(browser_page: BrowserPage) -> None:
    page = browser_page.page
    sent = ask_requests(page)
    browser_page.open()
    type_question(page, RATE)
    wait_for_answer(page)
    first_answer = last_turn(page).locator("[data-answer]").text_content()

    box = page.get_by_label("Your question")
    box.fill(FOLLOW_UP)
    box.press("Shift+Enter")  # a new line, not a send
    expect(box).to_have_value(FOLLOW_UP + "\n")
    assert len(sent) == 1
    box.press("Enter")
    expect(page.locator("article.turn")).to_have_count(2)
    expect(last_turn(page).locator(".turn-label")).to_have_text("Follow-up")
    expect(last_turn(page).locator("[data-answer]")).to_have_attribute(
        "data-state", re.compile("done|abstained"))
    expect(box).to_have_value("")

    rewritten = last_turn(page).locator(".turn-rewrite")
    if rewritten.count():  # the follow-up was searched as a standalone question: shown as such
        expect(rewritten).to_contain_text("Searched as:")
    follow_up = sent[1]
    assert follow_up["question"] == FOLLOW_UP
    assert [m["role"] for m in follow_up["history"]] == ["user", "assistant"]
    assert follow_up["history"][0]["content"] == RATE
    # The history holds the answer as the API gave it, markers included.
    assert re.sub(r"\[\d+\]", "", follow_up["history"][1]["content"]).split() \
        == re.sub(r"\[\d+\]", "", first_answer).split()

    # A new conversation starts with no history.
    page.get_by_role("button", name="New chat").click()
    expect(page.locator("article.turn")).to_have_count(0)
    type_question(page, STRIKE)
    wait_for_answer(page)
    assert sent[2]["history"] == []
    assert browser_page.errors == []


def test_shared_link_asks_on_load(browser_page: BrowserPage) -> None:
    page = browser_page.page
    browser_page.open(f"/?q={quote(STRIKE)}")
    wait_for_answer(page)
    turn = last_turn(page)
    expect(turn.get_by_role("heading", name=STRIKE)).to_be_visible()
    expect(turn.locator("[data-answer]")).to_contain_text("2,400")
    assert turn.locator("[data-citation]").count() >= 1
    share = turn.get_by_role("link", name="Link to this question")
    assert share.get_attribute("href") == "/?" + urlencode({"q": STRIKE})

    # Filters travel in the link too.
    sent = ask_requests(page)
    link = "/?" + urlencode({"q": RATE, "source": "Northwind Wire", "to": "2025-06-30"})
    browser_page.open(link)
    wait_for_answer(page)
    assert sent[0]["filters"] == {"source": "Northwind Wire", "published_to": "2025-06-30"}
    expect(page.get_by_label("Outlet")).to_have_value("Northwind Wire")
    expect(last_turn(page).get_by_role("link", name="Link to this question")) \
        .to_have_attribute("href", link)
    assert browser_page.errors == []


def test_filters_come_from_the_facets_and_narrow_the_search(browser_page: BrowserPage) -> None:
    page = browser_page.page
    sent = ask_requests(page)
    browser_page.open()
    outlet = page.get_by_label("Outlet")
    expect(outlet.locator("option")).to_have_count(3)  # all, Northwind Wire, The Averin Ledger
    expect(page.locator("#articles li")).to_have_count(12)
    expect(page.locator("#article-count")).to_have_text("(12)")
    assert page.get_by_label("From").get_attribute("min") == "2025-03-03"
    assert page.get_by_label("To").get_attribute("max") == "2025-11-12"

    outlet.select_option("The Averin Ledger")
    page.get_by_label("From").fill("2025-05-01")
    expect(page.locator("#scope")).to_have_text("Searching The Averin Ledger, from May 1, 2025.")
    type_question(page, RATE)
    wait_for_answer(page)
    assert sent[0]["filters"] == {"source": "The Averin Ledger", "published_from": "2025-05-01"}
    outlets = last_turn(page).locator(".card-outlet").all_text_contents()
    assert outlets and set(outlets) == {"The Averin Ledger"}

    page.get_by_role("button", name="Clear filters").click()
    expect(page.locator("#scope")).to_have_text("Searching all outlets, any date.")
    assert browser_page.errors == []


def test_abstention_looks_different_from_an_answer(browser_page: BrowserPage) -> None:
    page = browser_page.page
    browser_page.open()
    type_question(page, UNANSWERABLE)
    wait_for_answer(page, "abstained")
    turn = last_turn(page)
    expect(turn.locator(".abstention")).to_be_visible()
    expect(turn.locator(".abstention")).to_contain_text("Not covered by the indexed articles")
    expect(turn.locator("[data-citation]")).to_have_count(0)
    expect(turn.locator(".grounding")).to_have_count(0)
    assert browser_page.errors == []


def test_an_error_is_shown_in_the_page(browser_page: BrowserPage) -> None:
    page = browser_page.page
    browser_page.open("/?q=" + "why " * 600)  # over the 2,000-character limit
    wait_for_answer(page, "error")
    alert = last_turn(page).get_by_role("alert")
    expect(alert).to_contain_text("question is longer than 2000 characters")
    expect(alert.get_by_role("button", name="Try again")).to_be_visible()


def test_markup_in_an_article_is_shown_as_text(browser_page: BrowserPage,
                                                live_server: LiveServer) -> None:
    title = "<img src=x onerror=alert(1)>"
    outlet = "<b>Calloway Herald</b>"
    created = httpx.post(f"{live_server.url}/v1/documents", json={
        "title": title,
        "source": outlet,
        "published": "2025-06-01",
        "url": "javascript:alert(3)",
        "text": (
            "The Zephyrine lantern festival in Calloway drew 18,000 visitors on Saturday, "
            "its organisers said. <script>alert(2)</script> The festival's glass lanterns "
            "<img src=y onerror=alert(4)> were made by forty local artisans.\n\n"
            "Mayor Idris Vantelle said the Zephyrine lantern festival would return next summer "
            "with a second night of processions along the Calloway canal."),
    }, timeout=30)
    assert created.status_code == 201, created.text
    article_id = created.json()["added"][0]["id"]
    try:
        page = browser_page.page
        browser_page.open("/?q=" + quote("How many visitors did the Zephyrine lantern festival "
                                         "in Calloway draw?"))
        wait_for_answer(page)
        turn = last_turn(page)
        card = turn.locator("[data-citation]").first
        expect(card.locator(".card-title")).to_have_text(title)
        expect(card.locator(".card-outlet")).to_have_text(outlet)
        expect(card.locator(".card-title a")).to_have_count(0)  # a javascript: url is no link
        expect(page.locator(f'#articles li[data-article="{article_id}"] .article-title')) \
            .to_have_text(title)
        expect(page.get_by_label("Outlet").locator("option", has_text=outlet)).to_have_count(1)
        page.wait_for_timeout(300)  # give any injected handler the chance to fire
        assert page.locator("img").count() == 0
        assert page.locator("b").count() == 0
        assert page.evaluate("document.scripts.length") == 1
        assert browser_page.dialogs == []
        assert browser_page.errors == []
    finally:
        httpx.delete(f"{live_server.url}/v1/documents/{article_id}", timeout=30)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_screenshots(browser_page: BrowserPage, screenshots: Path, scheme: str) -> None:
    """The page with an answer, at desktop and phone width: the README's pictures
    (docs/screenshots/, written by `make screenshots`)."""
    page = browser_page.page
    page.emulate_media(color_scheme=scheme)
    browser_page.open(f"/?q={quote(RATE)}")
    wait_for_answer(page)
    answer = last_turn(page).locator("[data-answer]")
    answer.locator('a.marker[data-marker="1"]').first.click()
    for name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(viewport)
        page.evaluate("window.scrollTo(0, 0)")
        page.evaluate("document.activeElement && document.activeElement.blur()")
        path = screenshots / f"{name}-{scheme}.png"
        page.screenshot(path=str(path), animations="disabled", caret="hide")
        assert png_size(path) == (viewport["width"], viewport["height"])
    assert browser_page.errors == []


def png_size(path: Path) -> tuple[int, int]:
    """A PNG's width and height, from its header."""
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big")


def test_a_speech_answer_links_its_speaker_to_their_statements(
        browser_page: BrowserPage, screenshots: Path) -> None:
    """Who said what: speaker names in the answer and on the cards ask what they said; an
    article of no known outlet says so; its screenshot is one of the README's."""
    page = browser_page.page
    question = "What did Ostmark's foreign minister say about the Kessa Pass?"
    browser_page.open(f"/?q={quote(question)}")
    # The first such question gathers the statements and loads the place names: a moment more.
    expect(last_turn(page).locator("[data-answer]")).to_have_attribute("data-state", "done",
                                                                        timeout=30_000)
    turn = last_turn(page)
    answer = turn.locator("[data-answer]")
    expect(answer).to_contain_text("also reported by The Averin Ledger")
    links = answer.locator("a.speaker-link")
    expect(links.first).to_have_text("Livia Varnholt")
    says = "/?" + urlencode({"q": "What did Livia Varnholt say?"})
    expect(links.first).to_have_attribute("href", says)
    card_link = turn.locator(".card-foot a.speaker-link").first
    expect(card_link).to_have_text("Livia Varnholt")
    page.set_viewport_size(DESKTOP)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(screenshots / "statements-desktop-light.png"),
                    animations="disabled", caret="hide")

    card_link.click()
    wait_for_answer(page)
    turn = last_turn(page)
    expect(turn.get_by_role("heading", name="What did Livia Varnholt say?")).to_be_visible()
    speakers = {text for text in turn.locator(".card-foot strong").all_text_contents()}
    assert speakers == {"Livia Varnholt"}

    browser_page.open(f"/?q={quote('What did Calloway say about the flood barriers?')}")
    wait_for_answer(page)
    expect(last_turn(page).locator(".card-outlet").first).to_have_text("Unknown outlet")
    assert browser_page.errors == []
