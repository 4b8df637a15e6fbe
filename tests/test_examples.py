"""The sample corpus that `make run` serves answers its own evaluation questions."""

from __future__ import annotations

import json

import pytest

from api.services import Services
from support import EXAMPLES

QUESTIONS = [json.loads(line) for line in (EXAMPLES.parent / "qa.jsonl").open()]


@pytest.mark.parametrize("item", [q for q in QUESTIONS if q["answerable"]],
                         ids=lambda r: r["id"])
def test_answerable_sample_questions_cite_their_evidence(news_services: Services,
                                                         item: dict) -> None:
    answer = news_services.engine.ask(item["question"])
    assert not answer.abstained, f"abstained at evidence {answer.evidence_score}"
    assert any(e in c.text for c in answer.citations for e in item["evidence"])


def test_unanswerable_sample_questions_mostly_abstain(news_services: Services) -> None:
    """The calibrated rule abstains on most, not all (docs/evaluation.md: su1 is a known miss:
    every term of it but "settlement" is in the strike story)."""
    unanswerable = [q for q in QUESTIONS if not q["answerable"]]
    abstained = [q["id"] for q in unanswerable
                 if news_services.engine.ask(q["question"]).abstained]
    assert len(abstained) >= len(unanswerable) - 1, abstained


def test_two_outlets_on_one_event_are_both_cited(news_services: Services) -> None:
    answer = news_services.engine.ask("Why did the Bank of Veltara raise its policy rate?")
    assert {"Northwind Wire", "The Averin Ledger"} <= {c.source for c in answer.citations}
