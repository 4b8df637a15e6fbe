"""End to end on the five real news articles: cited answers, verbatim passages, abstention."""

from __future__ import annotations

import json
import re

import pytest

from api.services import Services
from support import SHARED_CORPUS, needs_shared

pytestmark = needs_shared

MARKER = re.compile(r"\[(\d+)\]")


def shared_article_ids(services: Services) -> set[str]:
    store = services.engine.store
    return {a for a in store.article_ids() if "corpus" in (store.get_article(a).path or "")}


def assert_citations_verbatim(services: Services, answer) -> None:
    """Every marker resolves; every quote is inside its passage; every passage is a span."""
    ids = {c.id for c in answer.citations}
    markers = {int(m) for m in MARKER.findall(answer.answer)}
    assert markers, "an answer without markers"
    assert markers <= ids, f"markers {markers - ids} point at no citation"
    for citation in answer.citations:
        article = services.engine.store.get_article(citation.article_id)
        assert citation.text == article.text[citation.start : citation.end]
        assert citation.quote in citation.text
        assert citation.quote == article.text[citation.quote_start : citation.quote_end]


def test_minister_on_afghanistan_cites_three_articles(news_services: Services) -> None:
    answer = news_services.engine.ask("What did the minister say about Afghanistan?")
    assert not answer.abstained
    assert_citations_verbatim(news_services, answer)
    cited = {c.article_id for c in answer.citations} & shared_article_ids(news_services)
    assert len(cited) >= 3, answer.answer


def dev_questions(answerable: bool) -> list[dict]:
    if not SHARED_CORPUS.is_dir():
        return []
    rows = [json.loads(line) for line in (SHARED_CORPUS / "dev_qa.jsonl").open()]
    return [r for r in rows if r["answerable"] is answerable]


@pytest.mark.parametrize("item", dev_questions(True), ids=lambda r: r["id"])
def test_answerable_dev_questions_cite_the_evidence(news_services: Services, item: dict) -> None:
    answer = news_services.engine.ask(item["question"])
    assert not answer.abstained, f"abstained at evidence {answer.evidence_score}"
    assert_citations_verbatim(news_services, answer)
    assert any(e in c.text for c in answer.citations for e in item["evidence"])


@pytest.mark.parametrize("item", dev_questions(False), ids=lambda r: r["id"])
def test_uncovered_questions_abstain(news_services: Services, item: dict) -> None:
    answer = news_services.engine.ask(item["question"])
    assert answer.abstained, answer.answer
    assert answer.citations == []
    assert "do not cover" in answer.answer
    assert answer.contexts, "evaluation scripts still get the retrieved contexts"


@pytest.mark.parametrize("question", [
    "What did the defence minister say about the price of wheat in Lahore?",
    "Which football club won the Champions League final?",
    "What is the capital of Australia?",
])
def test_questions_about_unmentioned_things_abstain(news_services: Services,
                                                    question: str) -> None:
    assert news_services.engine.ask(question).abstained


def test_every_chunk_is_a_verbatim_span_of_its_article(news_services: Services) -> None:
    store = news_services.engine.store
    for article_id in shared_article_ids(news_services):
        text = store.get_article(article_id).text
        chunks = store.chunks_of(article_id)
        assert chunks
        for chunk in chunks:
            assert chunk.text == text[chunk.start : chunk.end]
            for start, end in chunk.sentences:
                assert chunk.start <= start < end <= chunk.end


@pytest.mark.parametrize(("phrase", "speaker"), [
    ("terrorism in the region significantly decreased", "Khawaja Muhammad Asif"),
    ("We do not allow anyone to use Afghan soil", "Abdul Matin Qani"),
])
def test_stored_sentences_know_who_spoke(news_services: Services, phrase: str,
                                         speaker: str) -> None:
    store = news_services.engine.store
    found = []
    for article_id in shared_article_ids(news_services):
        for chunk in store.chunks_of(article_id):
            found += [chunk.speaker_of(s, e) for s, e in chunk.sentences
                      if phrase in chunk.text[s - chunk.start : e - chunk.start]]
    assert found and set(found) == {speaker}


def test_citations_name_the_speaker(news_services: Services) -> None:
    answer = news_services.engine.ask("What did Abdul Matin Qani pledge about Afghan soil?")
    speakers = {c.speaker for c in answer.citations}
    assert "Abdul Matin Qani" in speakers, answer.answer


def test_cleaned_articles_keep_their_raw_text(news_services: Services) -> None:
    store = news_services.engine.store
    (article,) = [store.get_article(a) for a in shared_article_ids(news_services)
                  if "004_" in (store.get_article(a).path or "")]
    assert "Skip to main content" in article.raw_text
    assert "Skip to main content" not in article.text


def test_no_boilerplate_line_reaches_a_chunk(news_services: Services) -> None:
    boilerplate = {"Skip to main content", "Latest news", "Share this post", "Short Url",
                   "Follow", "Tags:", "Updated 8 sec ago", "Updated 17 March 2024"}
    store = news_services.engine.store
    for article_id in shared_article_ids(news_services):
        for chunk in store.chunks_of(article_id):
            lines = {line.strip() for line in chunk.text.splitlines()}
            assert not lines & boilerplate
