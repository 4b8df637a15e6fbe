"""The chat page shows what a question's time words were read as: the range of publication
dates searched, and where it was counted from (examples only: the newest is 2025-11-12)."""

from __future__ import annotations

from playwright.sync_api import expect

from e2e.browser import BrowserPage
from e2e.test_chat_page import last_turn, type_question, wait_for_answer


def test_the_range_searched_is_shown_under_the_question(browser_page: BrowserPage) -> None:
    page = browser_page.page
    browser_page.open()
    type_question(page, "Why did the Bank of Veltara raise its rate in May 2025?")
    wait_for_answer(page)
    shown = last_turn(page).locator(".turn-time")
    expect(shown).to_have_text("Searched articles published 2025-05-01 to 2025-05-31, read "
                               "from in May 2025 (counted from the newest article, "
                               "2025-11-12)")
    expect(shown.locator("q")).to_have_text("in May 2025")
    assert browser_page.errors == []


def test_an_empty_range_is_answered_as_such_and_shown(browser_page: BrowserPage) -> None:
    page = browser_page.page
    browser_page.open()
    type_question(page, "Why did the Bank of Veltara raise its policy rate last week?")
    wait_for_answer(page, "abstained")
    turn = last_turn(page)
    expect(turn.locator(".turn-time")).to_contain_text(
        "Searched articles published 2025-11-03 to 2025-11-09")
    expect(turn.locator("[data-answer]")).to_contain_text("No article published between "
                                                          "2025-11-03 and 2025-11-09")
    assert browser_page.errors == []


def test_a_question_without_time_words_shows_no_range(browser_page: BrowserPage) -> None:
    page = browser_page.page
    browser_page.open()
    type_question(page, "Why did the Bank of Veltara raise its policy rate?")
    wait_for_answer(page)
    expect(last_turn(page).locator(".turn-time")).to_have_count(0)
