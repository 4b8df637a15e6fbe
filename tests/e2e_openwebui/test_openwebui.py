"""Open WebUI, with newsrag as its OpenAI-compatible connection, as a reader uses it: pick the
`newsrag` model, ask about the example articles, watch the answer stream in, open its sources
(outlet, title, passage). Screenshots go to docs/screenshots/openwebui-*.png."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, expect

from e2e.browser import SCREENSHOTS
from e2e_openwebui.launch import Stack

pytestmark = pytest.mark.openwebui  # deselected by default: `make e2e-openwebui` runs it

# A seed question (examples/qa.jsonl, s03) whose answer quotes both outlets in four sentences.
QUESTION = "What did the Bank of Veltara set its policy rate to in May 2025?"
ANSWER_SECONDS = 120
MARKER = re.compile(r"\[\d+\]")
# Records every text the assistant's reply shows, so the test can tell it arrived in parts.
WATCH_REPLY = """() => {
  window.replyTexts = [];
  const record = () => {
    const replies = document.querySelectorAll('.chat-assistant #response-content-container');
    const text = replies.length ? replies[replies.length - 1].innerText.trim() : '';
    if (text && window.replyTexts[window.replyTexts.length - 1] !== text) {
      window.replyTexts.push(text);
    }
  };
  new MutationObserver(record).observe(document.body,
                                       {childList: true, subtree: true, characterData: true});
}"""


def newsrag_answer(stack: Stack) -> dict:
    """newsrag's own non-streamed completion of QUESTION, to compare the page with."""
    body = {"model": "newsrag", "messages": [{"role": "user", "content": QUESTION}]}
    response = httpx.post(f"{stack.newsrag_url}/v1/chat/completions", json=body, timeout=60)
    response.raise_for_status()
    return response.json()


def open_chat(page: Page, stack: Stack) -> None:
    """The chat page, past the "what's new" dialog Open WebUI shows an admin on a first visit
    (its data directory is new)."""
    page.goto(stack.openwebui_url + "/")
    expect(page.locator("#chat-input")).to_be_visible(timeout=60_000)
    okay = page.get_by_role("button", name="Okay, Let's Go!")
    expect(okay).to_be_visible()
    okay.click()
    expect(okay).to_be_hidden()


def test_open_webui_streams_a_newsrag_answer_with_its_sources(
        stack: Stack, browser_context: BrowserContext) -> None:
    expected = newsrag_answer(stack)
    sources = expected["sources"]
    assert sources, expected
    page = browser_context.new_page()
    try:
        open_chat(page, stack)

        # The connection lists the model: pick it.
        page.locator("#model-selector-model-button").click()
        option = page.get_by_role("option", name="Select newsrag model")
        expect(option).to_be_visible()
        expect(page.get_by_role("option")).to_have_count(1)  # newsrag is the connection's all
        page.screenshot(path=SCREENSHOTS / "openwebui-model.png")
        option.click()
        expect(page.locator("#model-selector-model-button")).to_contain_text("newsrag")

        # Ask; the reply arrives in parts, then its sources.
        page.evaluate(WATCH_REPLY)
        page.locator("#chat-input").fill(QUESTION)
        page.locator("#send-message-button").click()
        toggle = page.get_by_role("button", name=re.compile(r"^Toggle \d+ sources?$"))
        expect(toggle).to_be_visible(timeout=ANSWER_SECONDS * 1000)
        reply = page.locator(".chat-assistant #response-content-container").last
        expect(reply).to_contain_text("4.75 percent")
        texts = page.evaluate("window.replyTexts")
        sentences = [p for p in MARKER.split(expected["choices"][0]["message"]["content"])
                     if p.strip()]
        assert len(sentences) >= 2, sentences
        last_sentence = sentences[-1].strip()[:40]
        assert last_sentence in texts[-1], texts
        assert any(last_sentence not in t for t in texts[:-1]), texts  # shown before whole

        # One chip per citation, labelled with outlet and title, in marker order.
        names = [s["source"]["name"] for s in sources]
        assert {n.split(" — ")[0] for n in names} == {"Northwind Wire", "The Averin Ledger"}
        expect(toggle).to_have_text(f"{len(names)} Sources")
        toggle.click()
        chips = page.locator('button[id^="source-"]')
        expect(chips).to_have_count(len(names))
        for index, name in enumerate(names):
            expect(chips.nth(index)).to_contain_text(name)
        page.screenshot(path=SCREENSHOTS / "openwebui-answer.png", full_page=True)

        # A chip opens its passage.
        chips.last.click()
        dialog = page.get_by_role("dialog")
        expect(dialog).to_contain_text(names[-1])
        expect(dialog).to_contain_text(sources[-1]["metadata"][0]["quote"])
        page.screenshot(path=SCREENSHOTS / "openwebui-source.png")
    finally:
        page.close()
