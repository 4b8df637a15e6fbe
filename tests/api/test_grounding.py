"""POST /v1/grounding over HTTP: every kind of same-word fabrication rejected with its reason,
faithful paraphrases kept, sources inline, by reference to indexed articles and retrieved for a
question, and bad requests answered with 4xx JSON errors. Real encoder, real store."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from api.services import Services
from support import assert_json_error

# A fictional story, so the truth of every claim below is known by construction.
VESSBY = (
    "Harbour minister Lena Okafor said on Tuesday that the port of Vessby would not raise its "
    "fees this year. The port handled 4.2 million containers in 2024, up 6 percent from a year "
    "earlier. Okafor said a second terminal would open in March 2026 if funding was approved. "
    "The port plans to build a rail link to Ostrava by 2027. Union leader Tomas Brandt "
    "criticised the plan, saying dock crews had not been consulted."
)
SOURCE = {"id": 1, "text": VESSBY, "title": "Vessby port keeps its fees"}

FABRICATIONS = [
    ("Okafor said the port of Vessby would raise its fees this year.", "negation"),
    ("The port handled 4.2 million containers in 2024, down 6 percent from a year earlier.",
     "contradiction"),
    ("Union leader Tomas Brandt praised the plan.", "contradiction"),
    ("Tomas Brandt said the port of Vessby would not raise its fees this year.",
     "wrong_speaker"),
    ("Harbour minister Lena Okafor said the port of Malmo would not raise its fees this year.",
     "entity_not_in_source"),
    ("Okafor said a second terminal would open in April 2026 if funding was approved.",
     "date_mismatch"),
    ("The port handled 4.2 million containers in 2024, up seven percent from a year earlier.",
     "number_mismatch"),
    ("Okafor said the port of Vessby would never raise its fees.", "quantifier"),
    ("The port will build a rail link to Ostrava by 2027.", "modality"),
    ("Okafor said a second terminal will open in March 2026.", "modality"),
    ("Union leader Tomas Okafor criticised the plan.", "entity_mismatch"),
    ("The port did not ship 4.2 million containers in 2024.", "negation"),
]
PARAPHRASES = [
    "Lena Okafor, the harbour minister, said Vessby would not increase its fees this year.",
    "Container traffic at the port rose 6 percent in 2024, to 4.2 million containers.",
    "Brandt, a union leader, criticised the plan and said dock crews had not been consulted.",
    "A second terminal could open in March 2026 if funding is approved, Okafor said.",
    "The port plans a rail link to Ostrava by 2027.",
    # Two facts of two sentences in one, and other words for most of them.
    "The port handled 4.2 million containers in 2024, and it plans to build a rail link to "
    "Ostrava by 2027.",
    "Container volumes at Vessby went up by 6 percent in 2024 to 4.2 million.",
]


def grade(client: TestClient, answer: str, sources: list[dict] | None = None,
          **extra: object) -> dict:
    body = {"answer": answer, **({"sources": sources} if sources is not None else {}), **extra}
    response = client.post("/v1/grounding", json=body)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize(("claim", "reason"), FABRICATIONS,
                         ids=[f"{r}-{i}" for i, (_, r) in enumerate(FABRICATIONS)])
def test_a_fabrication_is_rejected_with_its_reason(news_client: TestClient, claim: str,
                                                   reason: str) -> None:
    report = grade(news_client, f"{claim} [1]", [SOURCE])
    [sentence] = report["sentences"]
    assert sentence["text"] == claim
    assert sentence["citations"] == [1]
    assert (sentence["supported"], sentence["reason"]) == (False, reason), sentence
    assert sentence["detail"], "a rejection says what showed it"
    assert sentence["quote"] in VESSBY
    assert (report["supported"], report["total"], report["score"]) == (0, 1, 0.0)


def test_faithful_paraphrases_are_kept(news_client: TestClient) -> None:
    answer = " ".join(f"{claim} [1]" for claim in PARAPHRASES)
    report = grade(news_client, answer, [SOURCE])
    assert [(s["supported"], s["reason"]) for s in report["sentences"]] == \
        [(True, "supported")] * len(PARAPHRASES), report["sentences"]
    assert all(s["supported_by"] == [1] for s in report["sentences"])
    assert (report["supported"], report["total"], report["score"]) == \
        (len(PARAPHRASES), len(PARAPHRASES), 1.0)
    assert report["method"].startswith("lexical+embedding+meaning")


def test_a_sentence_citing_the_wrong_source_or_none_says_so(news_client: TestClient) -> None:
    other = {"id": 7, "text": "Lava poured down the slopes of Mount Ostrova overnight."}
    report = grade(news_client, "Okafor said Vessby would not raise its fees this year [7]. "
                                "The port handled 4.2 million containers in 2024.",
                   [SOURCE, other])
    cited_wrong, uncited = report["sentences"]
    assert (cited_wrong["reason"], cited_wrong["supported_by"]) == ("wrong_citation", [1])
    assert (uncited["reason"], uncited["supported_by"]) == ("no_citation", [1])
    assert report["supported"] == 0


def test_an_answer_without_markers_is_judged_against_every_source(
        news_client: TestClient) -> None:
    report = grade(news_client, "The port handled 4.2 million containers in 2024. "
                                "Union leader Tomas Brandt praised the plan.", [SOURCE])
    kept, fabricated = report["sentences"]
    assert (kept["supported"], kept["supported_by"], kept["citations"]) == (True, [1], [])
    assert (fabricated["supported"], fabricated["reason"]) == (False, "contradiction")
    assert report["score"] == 0.5


def article_id(services: Services, title_word: str) -> str:
    store = services.engine.store
    return next(a for a in store.article_ids()
                if title_word in (store.get_article(a).title or ""))


def test_sources_by_reference_to_an_indexed_article(news_client: TestClient,
                                                    news_services: Services) -> None:
    strike = article_id(news_services, "Dockworkers walk out")
    text = news_services.engine.store.get_article(strike).text
    start = text.index("Port Averin Authority chief executive")
    end = text.index("Shipping agents said")
    source = {"id": 3, "article_id": strike, "start": start, "end": end}
    report = grade(news_client,
                   "Oyelaran called the offer fair and fully funded [3]. Union secretary Ilse "
                   "Brandvold said every day the cranes stand still costs the country money "
                   "[3].", [source])
    kept, swapped = report["sentences"]
    assert (kept["supported"], kept["supported_by"]) == (True, [3])
    assert kept["quote"] in text[start:end]
    assert (swapped["supported"], swapped["reason"]) == (False, "wrong_speaker")
    assert "Oyelaran" in swapped["detail"]


def test_sources_retrieved_for_a_question(news_client: TestClient) -> None:
    report = grade(news_client, "Roughly 2,400 dockworkers walked off the job at Port Averin "
                                "on Monday. About 24,000 dockworkers walked off the job.",
                   question="How many dockworkers walked off the job at Port Averin?")
    kept, wrong = report["sentences"]
    assert kept["supported"] and kept["supported_by"], kept
    assert (wrong["supported"], wrong["reason"]) == (False, "number_mismatch")


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"sources": [SOURCE]}, 422, "invalid_request"),
    ({"answer": "   ", "sources": [SOURCE]}, 422, "invalid_request"),
    ({"answer": "The port handled 4.2 million containers."}, 422, "invalid_request"),
    ({"answer": "The port grew [2].", "sources": [SOURCE]}, 422, "unknown_source"),
    ({"answer": "The port grew [1].", "sources": [SOURCE, SOURCE]}, 422, "invalid_request"),
    ({"answer": "x", "sources": [{"id": 1, "text": "a", "article_id": "b"}]}, 422,
     "invalid_request"),
    ({"answer": "x", "sources": [{"id": 1, "article_id": "0123456789abcdef"}]}, 404,
     "document_not_found"),
    ({"answer": "x", "sources": [{"id": n, "text": "a passage"} for n in range(1000)]}, 422,
     "invalid_request"),
    ({"answer": "x" * 10_000_000, "sources": [SOURCE]}, 422, "invalid_request"),
    ({"answer": "x", "sources": [{"id": 1, "text": "t" * 10_000_000}]}, 422,
     "invalid_request"),
], ids=["no answer", "blank answer", "no sources or question", "marker to no source",
        "duplicate ids", "text and reference", "unknown article", "1000 sources",
        "10 MB answer", "10 MB source"])
def test_a_bad_request_gets_a_clear_json_error(news_client: TestClient, body: dict,
                                               status: int, code: str) -> None:
    response = news_client.post("/v1/grounding", content=json.dumps(body),
                                headers={"content-type": "application/json"})
    error = assert_json_error(response, status, code)
    if code == "unknown_source":
        assert "[2]" in error["message"] and "1" in error["message"]


def test_a_span_outside_its_article_is_refused(news_client: TestClient,
                                              news_services: Services) -> None:
    strike = article_id(news_services, "Dockworkers walk out")
    response = news_client.post("/v1/grounding", json={
        "answer": "x", "sources": [{"id": 1, "article_id": strike, "start": 10,
                                    "end": 10_000_000}]})
    assert "outside the article" in assert_json_error(response, 422, "invalid_request")["message"]


def test_the_route_is_in_the_openapi_schema(news_client: TestClient) -> None:
    schema = news_client.get("/openapi.json").json()
    operation = schema["paths"]["/v1/grounding"]["post"]
    assert {"200", "404", "413", "422"} <= set(operation["responses"])
    verdict = schema["components"]["schemas"]["SentenceVerdict"]
    assert "negation" in verdict["properties"]["reason"]["enum"]
