"""The engine's front: requests it refuses (and why), and the answers it returns with timings."""

from __future__ import annotations

import pytest

from api.services import Services
from rag.engine import InvalidRequest
from rag.schemas import Filters


@pytest.mark.parametrize("question", ["", "   ", "\n\t "])
def test_a_blank_question_is_refused(small_services: Services, question: str) -> None:
    with pytest.raises(InvalidRequest, match="question is empty"):
        small_services.engine.ask(question)


def test_a_too_long_question_is_refused_with_the_limit(small_services: Services) -> None:
    limit = small_services.settings.max_question_chars
    with pytest.raises(InvalidRequest, match=f"longer than {limit} characters"):
        small_services.engine.ask("x" * (limit + 1))
    # The limit applies to the question without its surrounding whitespace.
    padded = " " * 10 + "tram " * ((limit - 4) // 5) + " " * 10
    assert len(padded) > limit >= len(padded.strip())
    answer = small_services.engine.ask(padded)
    assert answer.mode == "extractive"


def test_llm_mode_without_an_llm_is_refused_saying_what_to_set(
        small_services: Services) -> None:
    with pytest.raises(InvalidRequest, match="mode 'llm' needs an LLM") as refused:
        small_services.engine.ask("What did Quillfeather propose?", mode="llm")
    assert "RAG_LLM_BASE_URL" in str(refused.value)
    assert isinstance(refused.value, ValueError)


@pytest.mark.parametrize("mode", ["auto", "extractive"])
def test_ask_answers_with_citations_and_timings(small_services: Services,
                                                ids: dict[str, str], mode: str) -> None:
    answer = small_services.engine.ask("What did Quillfeather say about the budget?",
                                       mode=mode)
    assert answer.mode == "extractive"
    assert not answer.abstained
    assert answer.citations[0].article_id == ids["budget.json"]
    timings = answer.timings_ms
    assert set(timings) == {"retrieve", "answer", "total"}
    assert all(value >= 0 for value in timings.values())
    assert timings["total"] >= max(timings["retrieve"], timings["answer"])


def test_ask_passes_top_k_and_filters_through(small_services: Services,
                                              ids: dict[str, str]) -> None:
    answer = small_services.engine.ask(
        "strike flood tram", top_k=2, filters=Filters(source="Harbour Times"))
    assert len(answer.contexts) == 2
    assert {c.article_id for c in answer.contexts} == {ids["port.json"], ids["flood.json"]}
    assert set(answer.timings_ms) == {"retrieve", "answer", "total"}


def test_an_empty_store_abstains_with_timings(fresh_services: Services) -> None:
    answer = fresh_services.engine.ask("Who won the election?")
    assert answer.abstained and answer.citations == [] and answer.contexts == []
    assert set(answer.timings_ms) == {"retrieve", "answer", "total"}
