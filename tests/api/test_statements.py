"""Who said what over real HTTP (a server on 127.0.0.1): speech questions answered from
statements only (or abstained on, with the reason), /v1/speakers and /v1/statements. The
fictional examples know the truth by construction; the real seed articles check each case a new
user met before."""

from __future__ import annotations

import re

import httpx
import pytest

from support import ask_ok, needs_shared

MARKER = re.compile(r"\[(\d+)\]")




def quotes(answer: dict) -> list[str]:
    return [c["quote"] for c in answer["citations"]]


def assert_only(answer: dict, speaker: str) -> None:
    """Every cited quote is the speaker's, and every marker points at a citation."""
    assert not answer["abstained"], answer["answer"]
    assert answer["citations"], answer["answer"]
    assert {c["speaker"] for c in answer["citations"]} == {speaker}, answer["citations"]
    markers = {int(m) for m in MARKER.findall(answer["answer"])}
    assert markers == {c["id"] for c in answer["citations"]}


def assert_verbatim(client: httpx.Client, answer: dict) -> None:
    texts: dict[str, str] = {}
    for citation in answer["citations"]:
        article = citation["article_id"]
        if article not in texts:
            texts[article] = client.get(f"/v1/documents/{article}").json()["text"]
        text = texts[article]
        assert text[citation["quote_start"]: citation["quote_end"]] == citation["quote"]
        assert text[citation["start"]: citation["end"]] == citation["text"]  # the passage
        assert citation["quote"] in citation["text"]
        # Quoted where it is cited, or cited as the same statement in another outlet.
        assert (f"{citation['quote']} [{citation['id']}]" in answer["answer"]
                or f"[{citation['id']}])" in answer["answer"])


# --- the fictional examples ---------------------------------------------------------------------


def test_a_speaker_is_quoted_by_a_role_across_outlets_and_spellings(
        live_client: httpx.Client) -> None:
    answer = ask_ok(live_client, "What did Ostmark's foreign minister say about the Kessa Pass?")
    assert_only(answer, "Livia Varnholt")
    assert_verbatim(live_client, answer)
    assert {c["source"] for c in answer["citations"]} == {"Northwind Wire", "The Averin Ledger"}
    assert any("Kessa Pass crossing" in q for q in quotes(answer))


def test_someone_only_talked_about_is_never_quoted(live_client: httpx.Client) -> None:
    answer = ask_ok(live_client, "What did Dario Kestrel say about the Kessa Pass?")
    assert answer["abstained"] and answer["citations"] == []
    assert answer["abstention_reason"] == "not_a_speaker"
    assert "mention Dario Kestrel but quote no statement by Dario Kestrel" in answer["answer"]
    # What others said about him is there, and is not his.
    assert "stoking tension" not in answer["answer"]


def test_a_speaker_with_nothing_on_the_topic_is_told_apart(live_client: httpx.Client) -> None:
    answer = ask_ok(live_client, "What did Varnholt say about the weather?")
    assert answer["abstained"] and answer["abstention_reason"] == "no_statement_on_topic"
    assert "quote Livia Varnholt" in answer["answer"] and "none on the weather" in answer["answer"]
    assert answer["contexts"], "an abstention still shows what the search found"


def test_what_was_said_to_an_audience(live_client: httpx.Client) -> None:
    answer = ask_ok(live_client, "What did Varnholt tell Radio Selmarq?")
    assert_only(answer, "Livia Varnholt")
    assert any("Our door is open" in q for q in quotes(answer))
    # Hallum spoke in the same articles, to no one named: he is not quoted.
    assert "Hallum said" not in answer["answer"]


def test_reported_speech_is_marked_and_comes_after_direct_quotes(
        live_client: httpx.Client) -> None:
    answer = ask_ok(live_client, "What did Varnholt say about the crossing fee?")
    assert_only(answer, "Livia Varnholt")
    text = answer["answer"]
    reported = text.index("Reported: ")
    assert text.index("A shared checkpoint costs less") < reported
    assert text.index("She added that Ostmark would cut the crossing fee") > reported


def test_one_statement_in_two_outlets_is_quoted_once(live_client: httpx.Client) -> None:
    answer = ask_ok(live_client, "What did Ostmark's foreign minister say about the Kessa Pass?")
    text = answer["answer"]
    assert text.count("We will not let a mountain road decide") == 1
    assert "(also reported by The Averin Ledger (2025-09-16) [" in text


def test_a_place_is_found_under_another_name_and_spelling(live_client: httpx.Client) -> None:
    czechia = ask_ok(live_client, "What did Varnholt say about Czechia?")
    assert_only(czechia, "Livia Varnholt")
    assert any("Czech Republic" in q for q in quotes(czechia))
    defence = ask_ok(live_client, "What did the Veltaran defence minister say about troops?")
    assert_only(defence, "Piet Hallum")
    assert any("no plans to move troops" in q for q in quotes(defence))


def test_an_unknown_outlet_is_named_by_date_and_title_never_by_file(
        live_client: httpx.Client) -> None:
    answer = ask_ok(live_client, "What did Calloway say about the flood barriers?")
    assert_only(answer, "Ines Calloway")
    assert answer["answer"].startswith(
        "Ines Calloway (Mayor), according to an article of 2 October 2025, “Brannock approves "
        "river flood barriers")
    assert "10_brannock" not in answer["answer"]
    assert {c["source"] for c in answer["citations"]} == {None}


def test_an_ordinary_question_is_answered_as_before(live_client: httpx.Client) -> None:
    answer = ask_ok(live_client, "How many dockworkers walked off the job at Port Averin?")
    assert not answer["abstained"] and answer["abstention_reason"] is None
    assert "2,400" in answer["answer"] and len(answer["contexts"]) > 1


# --- /v1/speakers and /v1/statements ----------------------------------------------------------


def test_speakers_are_listed_with_aliases_roles_counts_outlets_and_dates(
        live_client: httpx.Client) -> None:
    response = live_client.get("/v1/speakers", params={"q": "varnholt"})
    assert response.status_code == 200, response.text
    (speaker,) = response.json()["speakers"]
    assert speaker["name"] == "Livia Varnholt"
    assert "Livia M Varnholt" in speaker["aliases"] and "Varnholt" in speaker["aliases"]
    assert speaker["outlets"] == ["Northwind Wire", "The Averin Ledger"]
    assert (speaker["first"], speaker["last"]) == ("2025-09-15", "2025-09-16")
    assert speaker["articles"] == 2 and speaker["statements"] >= 8
    assert any("foreign minister" in role for role in speaker["roles"])


def test_statements_by_role_with_kind_cue_audience_and_offsets(live_client: httpx.Client) -> None:
    response = live_client.get("/v1/statements", params={
        "speaker": "the Ostmark foreign minister", "source": "The Averin Ledger"})
    assert response.status_code == 200, response.text
    records = response.json()["statements"]
    assert records and {r["speaker"] for r in records} == {"Livia Varnholt"}
    assert {r["source"] for r in records} == {"The Averin Ledger"}
    door = next(r for r in records if r["quote"].startswith('"We will not let'))
    assert (door["kind"], door["cue"], door["audience"]) == ("direct", "told", "Radio Selmarq")
    assert door["speaker_as_written"] == "Livia M Varnholt"
    text = live_client.get(f"/v1/documents/{door['article_id']}").json()["text"]
    assert text[door["quote_start"]: door["quote_end"]] == door["quote"]
    warned = next(r for r in records if "would not stand for ever" in r["quote"])
    assert warned["kind"] == "reported"


def test_statements_on_a_topic_within_dates(live_client: httpx.Client) -> None:
    response = live_client.get("/v1/statements", params={
        "speaker": "Varnholt", "q": "trade court", "from": "2025-09-16", "to": "2025-09-16"})
    records = response.json()["statements"]
    assert records and "regional trade court" in records[0]["quote"]
    assert {r["published"] for r in records} == {"2025-09-16"}
    nobody = live_client.get("/v1/statements", params={"speaker": "Dario Kestrel"}).json()
    assert nobody["statements"] == [] and nobody["total"] == 0


@pytest.mark.parametrize("params", [{"from": "2025-13-01"}, {"from": "2025-09-16",
                                                              "to": "2025-09-01"},
                                    {"limit": 0}, {"speaker": "x" * 501}])
def test_bad_statement_queries_are_422(live_client: httpx.Client, params: dict) -> None:
    response = live_client.get("/v1/statements", params=params)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "invalid_request"


def test_the_statement_routes_are_in_the_schema(live_client: httpx.Client) -> None:
    paths = live_client.get("/openapi.json").json()["paths"]
    assert "/v1/speakers" in paths and "/v1/statements" in paths
    names = {p["name"] for p in paths["/v1/statements"]["get"]["parameters"]}
    assert {"speaker", "q", "source", "from", "to"} <= names


# --- the real seed articles: what a new user met ------------------------------------------------


@needs_shared
def test_imran_khan_said_nothing_in_these_articles(live_client: httpx.Client) -> None:
    answer = ask_ok(live_client, "What did Imran Khan say about the Taliban?")
    assert answer["abstained"] and answer["citations"] == []
    assert answer["abstention_reason"] == "not_a_speaker"
    assert "quote no statement by Imran Khan" in answer["answer"]


@needs_shared
def test_nobody_is_the_indian_prime_minister(live_client: httpx.Client) -> None:
    answer = ask_ok(live_client,
                 "What did the Indian prime minister say about the Pahalgam attack?")
    assert answer["abstained"] and answer["abstention_reason"] == "not_a_speaker"
    assert "quote no statement by the Indian prime minister" in answer["answer"]


@needs_shared
def test_what_the_minister_told_sky_news(live_client: httpx.Client) -> None:
    answer = ask_ok(live_client, "What did the minister tell Sky News?")
    assert_only(answer, "Khawaja Muhammad Asif")
    assert_verbatim(live_client, answer)
    cited = " ".join(quotes(answer))
    for said in ("We have been doing this dirty work", "a mistake that has deeply harmed",
                 "unimpeachable"):
        assert said in cited
    assert "Speaking to the British news outlet Sky News" not in cited  # the framing


@needs_shared
def test_turkey_finds_turkiye(live_client: httpx.Client) -> None:
    answer = ask_ok(live_client, "What did Asif say about Turkey?")
    assert_only(answer, "Khawaja Muhammad Asif")
    assert any("Pakistan and Türkiye share history" in q for q in quotes(answer))


@needs_shared
def test_pakistans_military_is_ispr(live_client: httpx.Client) -> None:
    answer = ask_ok(live_client, "What did Pakistan's military say about the exercise?")
    assert_only(answer, "Inter-Services Public Relations")
    cited = quotes(answer)
    assert "Distinguished Visitors’ Day ceremony" in cited[0]
    assert any("briefed on the scope" in q for q in cited)
    assert not any(q.lstrip().startswith("•") for q in cited)  # no bullet lines


@needs_shared
def test_no_outlet_is_a_file_name_and_no_speaker_is_named_twice(
        live_client: httpx.Client) -> None:
    answer = ask_ok(live_client, "What did Asif say about terrorism in Afghanistan?")
    assert_only(answer, "Khawaja Muhammad Asif")
    text = answer["answer"]
    assert not re.search(r"\d{3}_[0-9a-f]{16}", text)
    assert "Arab News" in {c["source"] for c in answer["citations"]}
    # A group whose first sentence names the speaker is not opened with the name again.
    assert not re.search(r"Khawaja Muhammad Asif[^:\]]*, according to [^:\]]+: "
                         r"Khawaja Muhammad Asif", text)


@pytest.mark.parametrize("question", [
    "What did (Varnholt) say?", "what did varnholt say about the kessa pass?",
    "What did Varnholt tell Radio Selmarq about?",
])
def test_a_speaker_written_loosely_is_still_found(live_client: httpx.Client, question: str) -> None:
    assert_only(ask_ok(live_client, question), "Livia Varnholt")


@pytest.mark.parametrize("question", [
    "Who said what?", "What did say?", "What did the say about?", "According to , what?",
    "What did " + "A " * 300 + "say?", "Does the Northwind Wire article suggest that pay rose?",
])
def test_odd_speech_questions_get_an_answer_or_an_abstention(live_client: httpx.Client,
                                                             question: str) -> None:
    answer = ask_ok(live_client, question)
    assert answer["abstention_reason"] is None  # none of them names a speaker
    assert answer["abstained"] or answer["citations"]
