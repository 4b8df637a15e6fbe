"""The sample corpus that `make run` serves answers its own evaluation questions."""

from __future__ import annotations

import json

import pytest

from api.services import Services
from support import EXAMPLES

QUESTIONS = [json.loads(line) for line in (EXAMPLES.parent / "qa.jsonl").open()]


@pytest.mark.parametrize("item", QUESTIONS, ids=lambda r: r["id"])
def test_sample_questions(news_services: Services, item: dict) -> None:
    answer = news_services.engine.ask(item["question"])
    if item["answerable"]:
        assert not answer.abstained, f"abstained at evidence {answer.evidence_score}"
        assert any(e in c.text for c in answer.citations for e in item["evidence"])
    else:
        assert answer.abstained, answer.answer


def test_two_outlets_on_one_event_are_both_cited(news_services: Services) -> None:
    answer = news_services.engine.ask("Why did the Bank of Veltara raise its policy rate?")
    assert {"Northwind Wire", "The Averin Ledger"} <= {c.source for c in answer.citations}
