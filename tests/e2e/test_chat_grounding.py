"""The chat page shows the grounding judge's verdicts on an LLM answer, in a real browser
(Debian's Chromium through Playwright) against the real server on 127.0.0.1, the model being
the scripted OpenAI-protocol server: a kept sentence's marker says what the source states, and
a removed sentence is listed with the reason it was removed."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import BrowserContext, expect

from api.app import create_app
from api.services import Services
from e2e.browser import BrowserPage, new_tab
from e2e.test_chat_page import last_turn, type_question, wait_for_answer
from scripted_llm import ScriptedLLM
from support import served, with_settings

pytestmark = pytest.mark.slow

QUESTION = "What did the transport minister say about the Port Averin strike?"
KEPT = "Transport Minister Rafael Achterberg said the government would not intervene directly"
NEGATED = "Achterberg said the government would intervene directly in the dispute"
QUOTE = "said the government would not intervene directly for now"


@pytest.fixture
def llm_services(e2e_services: Services, llm_server: ScriptedLLM) -> Services:
    """The browser tests' store, answered by the scripted model (no extractive fallback)."""
    return with_settings(e2e_services, llm_base_url=llm_server.url, llm_timeout=5.0,
                         llm_retries=0, llm_fallback=False)


@pytest.fixture
def llm_page(browser_context: BrowserContext, llm_services: Services) -> Iterator[BrowserPage]:
    with served(create_app(services=llm_services)) as url, \
            new_tab(browser_context, url) as tab:
        yield tab


def test_markers_say_why_a_sentence_was_kept_and_removed_sentences_say_why(
        llm_page: BrowserPage, llm_services: Services, llm_server: ScriptedLLM) -> None:
    hits = llm_services.engine.retriever.search(QUESTION).hits
    source = next(n for n, hit in enumerate(hits, 1) if QUOTE in hit.chunk.text)
    llm_server.script(f"{KEPT} [{source}]. {NEGATED} [{source}].")
    page = llm_page.page
    llm_page.open()
    type_question(page, QUESTION)
    wait_for_answer(page)

    turn = last_turn(page)
    answer = turn.locator("[data-answer]")
    expect(answer).to_contain_text(KEPT)
    expect(answer).not_to_contain_text("in the dispute")
    # The kept sentence's marker (renumbered 1) explains the check in its label and tooltip.
    marker = answer.locator('a.marker[data-marker="1"]')
    expect(marker).to_have_count(1)
    why = "Checked against the source, which states this: “"
    expect(marker).to_have_attribute("aria-label", _containing(why, QUOTE))
    expect(marker).to_have_attribute("title", _containing(why, QUOTE))

    meta = turn.locator(".answer-meta")
    expect(meta.locator(".grounding")).to_have_text(
        "1 of 2 sentences supported by their sources · 1 unsupported removed")
    removed = meta.locator("details.removed")
    expect(removed.locator("summary")).to_have_text("Why 1 sentence was removed")
    expect(removed.locator("li")).not_to_be_visible()  # folded until asked for
    removed.locator("summary").click()
    item = removed.locator("li")
    expect(item).to_have_count(1)
    expect(item.locator("q")).to_have_text(f"{NEGATED}.")
    expect(item.locator(".removed-reason")).to_have_text("negation")
    expect(item).to_contain_text("the passage denies “intervene”")
    assert llm_server.requests and llm_server.requests[0]["stream"] is True
    assert llm_page.errors == [] and llm_page.dialogs == []


def _containing(*parts: str) -> re.Pattern[str]:
    """A pattern matching text that holds every part, in order."""
    return re.compile(".*".join(re.escape(part) for part in parts), re.DOTALL)
