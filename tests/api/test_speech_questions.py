"""Who said what over real HTTP, on questions a reader words their own way: a body named for
the people who speak for it, a topic named differently from the article, "who said X" by
meaning, roles worded near the article's, and abstentions that say what was asked and who the
articles do quote. The fictional examples know the truth by construction."""

from __future__ import annotations

import httpx
import pytest

from support import ask_ok, needs_shared

UNION = "Harbour Workers' Union of Veltara"
STRIKE = "Dockworkers walk out at Port Averin as wage talks collapse"




def quoted(answer: dict) -> str:
    assert not answer["abstained"], answer["answer"]
    return " ".join(c["quote"] for c in answer["citations"])


def speakers(answer: dict) -> set[str]:
    return {c["speaker"] for c in answer["citations"]}


# --- what a new user met on the sample corpus ---------------------------------------------------


def test_the_union_is_quoted_on_the_strike_it_calls_a_walkout(live_client: httpx.Client) -> None:
    answer = ask_ok(live_client, "What did the union say about the strike?")
    cited = quoted(answer)
    assert "its members would stay out for at least 72 hours" in cited
    # Its secretary speaks for it, and is named as who said it.
    assert "We have been patient for eighteen months" in cited
    assert speakers(answer) == {UNION, "Ilse Brandvold"}
    assert "Ilse Brandvold (union secretary)" in answer["answer"]


def test_who_said_finds_the_statement_by_meaning_and_names_its_speaker(
        live_client: httpx.Client) -> None:
    answer = ask_ok(live_client, "Who said the strike would continue?")
    assert "its members would stay out for at least 72 hours" in quoted(answer)
    assert UNION in speakers(answer) and UNION in answer["answer"]
    # Only the strike's own statements come close. Which of them fall within the margin of the
    # best depends on how the CPU's int8 kernels round (cosines near 0.32 a few thousandths
    # apart on AVX-512 VNNI; docs/evaluation.md, "Who said what").
    assert {c["title"] for c in answer["citations"]} == {STRIKE}
    # Matched by meaning within the story, not by its words: the answer says so.
    assert answer["answer"].startswith("No one is quoted saying exactly that")


def test_a_role_near_the_articles_wording_names_who_they_do_quote(
        live_client: httpx.Client) -> None:
    answer = ask_ok(live_client, "What did the port union leader say about the strike?")
    assert answer["abstained"] and answer["abstention_reason"] == "not_a_speaker"
    assert answer["citations"] == []
    assert answer["answer"].startswith(
        "The indexed articles do not cover this: they quote no statement by the port union "
        "leader. The nearest they quote are ")
    assert "Ilse Brandvold (union secretary)" in answer["answer"]


# --- bodies, topics and roles in other words ----------------------------------------------------


@pytest.mark.parametrize(("question", "speaker", "said"), [
    # A body named in the speaker's role.
    ("What did VeltaRail say about freight?", "Hanne Solberg",
     "freight services on the line would start in early 2026"),
    ("What did the port authority say about the walkout?", "Marcus Oyelaran",
     "fair and fully funded"),
    # A body named right after the speaker's name.
    ("What did the Green List say about the desalination plant?", "Yusuf Brennholt",
     "as much electricity as a small town"),
    # A minister speaks for their country's government.
    ("What did the Ostmark government say about the Kessa Pass?", "Livia Varnholt",
     "ready to reopen talks"),
    # A topic in other words than the article's.
    ("What did Oyelaran say about the stoppage?", "Marcus Oyelaran", "fair and fully funded"),
    ("What did Lindqvar say about the redrawn districts?", "Oskar Lindqvar",
     "The commission followed the census"),
    # Roles: a place from the article's headline, a leader's generic title.
    ("What did the Brannock mayor say about the flood barriers?", "Ines Calloway",
     "the cheapest insurance this town will ever buy"),
    ("What did the central bank governor say about inflation?", "Lucan Dreyfold",
     "Inflation above six percent"),
    ("What did the fire chief say about the cause of the fire?", "Elena Mirov",
     "too early to determine the cause"),
])
def test_a_body_topic_or_role_in_other_words_finds_who_said_it(
        live_client: httpx.Client, question: str, speaker: str, said: str) -> None:
    answer = ask_ok(live_client, question)
    assert said in quoted(answer)
    assert speakers(answer) == {speaker}


def test_a_company_and_its_chief_executive_both_speak_for_it(live_client: httpx.Client) -> None:
    answer = ask_ok(live_client, "What did Lumenfield Systems say about the breach?")
    cited = quoted(answer)
    assert "hackers had stolen the names" in cited
    assert "We failed our customers" in cited  # a bare "chief executive" in its story
    assert speakers(answer) == {"Lumenfield Systems", "Ravi Castellane"}


@pytest.mark.parametrize(("question", "nearest"), [
    # Governor Dreyfold is not a deputy governor; Varnholt is Ostmark's, not Veltara's.
    ("What did the deputy governor say about the rate decision?",
     "The nearest they quote is Lucan Dreyfold (Governor)."),
    ("What did the Veltaran foreign minister say about the Kessa Pass?",
     "Livia Varnholt (Federation of Ostmark's foreign minister)"),
])
def test_a_role_no_one_holds_is_not_given_to_someone_close(live_client: httpx.Client, question: str,
                                                          nearest: str) -> None:
    answer = ask_ok(live_client, question)
    assert answer["abstained"] and answer["abstention_reason"] == "not_a_speaker"
    assert nearest in answer["answer"]


def test_a_detail_of_the_story_someone_else_spoke_on_is_not_theirs(
        live_client: httpx.Client) -> None:
    answer = ask_ok(live_client, "What did Halvorsen say about apricots?")
    assert answer["abstained"] and answer["abstention_reason"] == "no_statement_on_topic"
    assert answer["answer"] == ("The indexed articles do not cover this: they quote Noor "
                                "Halvorsen (2 statements), but none on apricots.")


@needs_shared
def test_a_name_the_speakers_stories_never_name_is_not_their_topic(
        live_client: httpx.Client) -> None:
    answer = ask_ok(live_client, "What did Asif say about Saudi Arabia?")
    assert answer["abstained"] and answer["abstention_reason"] == "no_statement_on_topic"


# --- "who said", and abstentions worded for the question asked ---------------------------------


def test_who_said_a_claim_quotes_only_who_said_it(live_client: httpx.Client) -> None:
    answer = ask_ok(live_client, "Who said the pay offer was fair?")
    assert "fair and fully funded" in quoted(answer)
    assert speakers(answer) == {"Marcus Oyelaran"}
    assert not answer["answer"].startswith("No one is quoted")  # said in so many words


def test_who_spoke_on_a_topic_lists_everyone_on_it(live_client: httpx.Client) -> None:
    answer = ask_ok(live_client, "Who warned about inflation?")
    assert {"Bank of Veltara", "Lucan Dreyfold"} <= speakers(answer)


@pytest.mark.parametrize(("question", "says"), [
    ("Who said the moon is made of cheese?",
     "The indexed articles do not cover this: they quote no one who said the moon is made of "
     "cheese."),
    ("Did Varnholt say that the harvest had failed?",
     "The indexed articles do not cover this: they quote Livia Varnholt (10 statements), but "
     "none saying that the harvest had failed."),
    ("What did the union say about the desalination plant?",
     f"The indexed articles do not cover this: they quote {UNION} and Ilse Brandvold "
     "(2 statements), but none on the desalination plant."),
])
def test_an_abstention_names_what_was_asked(live_client: httpx.Client, question: str,
                                            says: str) -> None:
    answer = ask_ok(live_client, question)
    assert answer["abstained"] and answer["abstention_reason"] == "no_statement_on_topic"
    assert answer["answer"] == says


@pytest.mark.parametrize(("question", "holds"), [
    ("What did the Port Averin Authority offer the dockworkers?", "5 percent"),
    ("What did the Brannock city council vote to build?", "flood barriers"),
])
def test_a_question_that_only_looks_like_speech_keeps_the_ordinary_answer(
        live_client: httpx.Client, question: str, holds: str) -> None:
    answer = ask_ok(live_client, question)
    assert not answer["abstained"] and answer["abstention_reason"] is None
    assert holds in answer["answer"]


def test_statements_of_a_body_list_those_who_speak_for_it(live_client: httpx.Client) -> None:
    response = live_client.get("/v1/statements", params={"speaker": "the union"})
    assert response.status_code == 200, response.text
    assert {r["speaker"] for r in response.json()["statements"]} == {UNION, "Ilse Brandvold"}
