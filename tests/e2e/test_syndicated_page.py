"""The chat page names a cited story's other carriers: "Also carried by" each outlet, linked
to its copy, with its date (real Chromium, real server, real store)."""

from __future__ import annotations

from urllib.parse import quote

import httpx
from playwright.sync_api import expect

from e2e.browser import BrowserPage, LiveServer
from e2e.test_chat_page import last_turn, wait_for_answer
from syndicated import COPIES


def test_a_citation_card_lists_the_storys_other_carriers(browser_page: BrowserPage,
                                                         live_server: LiveServer) -> None:
    ids = []
    for article in COPIES:
        created = httpx.post(f"{live_server.url}/v1/documents", json=article, timeout=60)
        assert created.status_code == 201, created.text
        ids.append(created.json()["added"][0]["id"])
    try:
        page = browser_page.page
        browser_page.open("/?q=" + quote("How many vehicles a day use the Halvard Bridge?"))
        wait_for_answer(page)
        cards = last_turn(page).locator("[data-citation]")
        card = cards.filter(has_text="Halvard").first
        carriers = card.locator(".card-carriers")
        expect(carriers).to_contain_text("Also carried by ")
        cited = card.locator(".card-outlet").text_content()
        others = {"Estuary Wire", "Kessmoor Ledger", "Orlenvik Courier"} - {cited}
        assert len(others) == 2
        for outlet in others:
            link = carriers.get_by_role("link", name=outlet)
            expect(link).to_have_attribute("href", next(
                a["url"] for a in COPIES if a["source"] == outlet))
        expect(carriers.locator("time")).to_have_count(2)
        assert browser_page.errors == []
    finally:
        for article_id in ids:
            httpx.delete(f"{live_server.url}/v1/documents/{article_id}", timeout=30)
