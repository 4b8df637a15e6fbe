"""The rule-based follow-up rewrite: which questions lean on the conversation, what each rule
makes of them, and, through the engine on the shared corpus, that the rewrite retrieves what
the follow-up asked about."""

from __future__ import annotations

import pytest

from api.services import Services
from rag.config import Settings
from rag.engine import Engine
from rag.followup import (
    MAX_TURNS,
    depends_on_conversation,
    llm_standalone_question,
    standalone_question,
)
from rag.llm import ChatModel
from rag.schemas import Turn
from scripted_llm import Reply, ScriptedLLM
from support import needs_shared

AFGHANISTAN = "What did the Pakistani defence minister say about Afghanistan?"
FOLLOW_UP = "And what did he say about India?"
INDIA = "India wants to engage Pakistan on both borders"
STRIKE = "How many dockworkers walked off the job in the Port Averin strike?"
# How an extractive answer to AFGHANISTAN opens its groups (rag/attribution.py).
ANSWER = ("Khwaja M Asif, according to Example Post: He admitted it. [1] "
          "Khawaja Muhammad Asif, according to TOLOnews (2024-03-17): Terror fell. [2] "
          "Khawaja Muhammad Asif, according to Daily Sabah: Kabul backs them. [3]")


def user(content: str) -> Turn:
    return Turn(role="user", content=content)


def assistant(content: str) -> Turn:
    return Turn(role="assistant", content=content)


ASKED = [user(AFGHANISTAN)]
ANSWERED = [user(AFGHANISTAN), assistant(ANSWER)]


# ---- dependence ----------------------------------------------------------------------------

@pytest.mark.parametrize("question", [
    FOLLOW_UP,                                   # a pronoun, and an opener
    "What did she promise the unions?",          # a pronoun before any name
    "What about India?",                         # an ellipsis
    "India?",                                    # three words or fewer
    "Why was the border closed?",                # names nothing
])
def test_questions_that_lean_on_the_conversation(question: str) -> None:
    assert depends_on_conversation(question)


@pytest.mark.parametrize("question", [
    STRIKE,
    "What did Asif say about his critics?",      # "his" follows the name it refers to
    "Where were the joint Pakistan-US counterterrorism drills held?",
])
def test_questions_that_stand_alone(question: str) -> None:
    assert not depends_on_conversation(question)
    assert standalone_question(question, ANSWERED) == question


def test_without_an_earlier_user_turn_nothing_is_rewritten() -> None:
    assert standalone_question(FOLLOW_UP, []) == FOLLOW_UP
    assert standalone_question(FOLLOW_UP, [assistant(ANSWER)]) == FOLLOW_UP
    assert standalone_question(FOLLOW_UP, [Turn(role="system", content=AFGHANISTAN)]) == \
        FOLLOW_UP


# ---- the rewrite rules ---------------------------------------------------------------------

def test_he_becomes_the_subject_the_user_named() -> None:
    assert standalone_question(FOLLOW_UP, ASKED) == \
        "What did the Pakistani defence minister say about India?"


def test_he_becomes_the_speaker_the_answer_named_most_by_family_name() -> None:
    # The user described a role; the answer's attributions say who that was.
    assert standalone_question(FOLLOW_UP, ANSWERED) == "What did Asif say about India?"
    assert standalone_question("Did she mention Gaza?", ANSWERED) == "Did Asif mention Gaza?"
    assert standalone_question("What did his critics say?", ANSWERED) == \
        "What did Asif's critics say?"
    assert standalone_question("Which paper interviewed her?", ANSWERED) == \
        "Which paper interviewed Asif?"
    assert standalone_question("What was her view?", ANSWERED) == "What was Asif's view?"


def test_a_named_subject_is_kept_and_shortened_like_news_text() -> None:
    history = [user("What did Abdul Matin Qani pledge about Afghan soil?")]
    assert standalone_question("What else did he say?", history) == "What else did Qani say?"


def test_they_is_the_subject_as_asked() -> None:
    history = [user("What did the Taliban say about the border?")]
    assert standalone_question("What did they promise?", history) == \
        "What did the Taliban promise?"


def test_it_is_the_topic_and_say_it_is_the_statement() -> None:
    history = [user("What did Asif say about the deportation campaign?")]
    assert standalone_question("When did it start?", history) == \
        "When did the deportation campaign start?"
    assert standalone_question("When did he say it?", history) == \
        "When did Asif say that about the deportation campaign?"


@pytest.mark.parametrize("question", ["What about India?", "And India?", "India?",
                                      "And about India?", "how about India"])
def test_an_ellipsis_takes_the_earlier_question_with_its_topic_replaced(question: str) -> None:
    assert standalone_question(question, ANSWERED) == \
        "What did the Pakistani defence minister say about India?"


def test_an_ellipsis_after_a_question_without_a_topic_is_added_in_parentheses() -> None:
    assert standalone_question("What about the union?", [user(STRIKE)]) == \
        "How many dockworkers walked off the job in the Port Averin strike (the union)?"


def test_a_short_question_carries_the_earlier_subject_and_topic() -> None:
    assert standalone_question("Why?", ASKED) == \
        "Why (the Pakistani defence minister, Afghanistan)?"
    assert standalone_question("Is it true?", ASKED) == \
        "Is it true (the Pakistani defence minister, Afghanistan)?"


def test_a_question_naming_nothing_carries_the_earlier_content_words() -> None:
    assert standalone_question("How long did it last?", [user(STRIKE), assistant("[1]")]) == \
        "How long did it last (dockworkers walked job Port Averin strike)?"


def test_a_chain_of_follow_ups_keeps_its_antecedent() -> None:
    history = [*ANSWERED, user(FOLLOW_UP),
               assistant("Khawaja Muhammad Asif, according to Daily Sabah: India. [1]")]
    assert standalone_question("And what did he say about Israel?", history) == \
        "What did Asif say about Israel?"
    assert standalone_question("What about Gaza?", history) == "What did Asif say about Gaza?"


def test_only_the_latest_turns_are_read() -> None:
    filler = [user(STRIKE), assistant("About 2,400 [1]")] * MAX_TURNS
    assert standalone_question(FOLLOW_UP, [*ASKED, *filler]) == \
        "What did he say about India (dockworkers walked job Port Averin strike)?"


def test_the_rewrite_is_deterministic() -> None:
    assert len({standalone_question(FOLLOW_UP, ANSWERED) for _ in range(5)}) == 1


# ---- through the engine, on the shared corpus ------------------------------------------------

def quotes(answer) -> list[str]:
    return [c.quote for c in answer.citations]


@needs_shared
@pytest.mark.parametrize("with_answer", [False, True], ids=["questions-only", "with-answer"])
def test_the_follow_up_retrieves_what_asif_said_about_india(news_services: Services,
                                                            with_answer: bool) -> None:
    engine = news_services.engine
    history = [user(AFGHANISTAN)]
    if with_answer:
        history.append(assistant(engine.ask(AFGHANISTAN).answer))
    answer = engine.ask(FOLLOW_UP, history=history)
    assert answer.standalone_question != FOLLOW_UP
    assert "he" not in answer.standalone_question.split()
    assert not answer.abstained
    assert any(INDIA in quote for quote in quotes(answer)), answer.answer
    india = next(c for c in answer.citations if INDIA in c.quote)
    assert india.source == "Daily Sabah" and india.speaker == "Khawaja Muhammad Asif"


@needs_shared
def test_a_self_contained_second_question_is_searched_as_asked(news_services: Services) -> None:
    engine = news_services.engine
    history = [user(AFGHANISTAN), assistant(engine.ask(AFGHANISTAN).answer)]
    answer = engine.ask(STRIKE, history=history)
    assert answer.standalone_question == STRIKE
    assert quotes(answer) == quotes(engine.ask(STRIKE))


# ---- the LLM rewrite, against the scripted OpenAI-compatible server ------------------------

def chat_model(server: ScriptedLLM) -> ChatModel:
    return ChatModel(Settings(llm_base_url=server.url, llm_retries=0, _env_file=None))


def test_the_llm_rewrites_a_follow_up_from_the_conversation(llm_server: ScriptedLLM) -> None:
    llm_server.script('"What did Khawaja Muhammad Asif say about India?"')
    rewritten = llm_standalone_question(FOLLOW_UP, ANSWERED, chat_model(llm_server))
    assert rewritten == "What did Khawaja Muhammad Asif say about India?"
    (request,) = llm_server.requests
    (message,) = request["messages"]
    assert message["role"] == "user"
    assert f"user: {AFGHANISTAN}" in message["content"]
    assert "assistant: Khwaja M Asif, according to Example Post" in message["content"]
    assert f"Last question: {FOLLOW_UP}" in message["content"]


def test_the_llm_is_not_asked_about_a_question_that_stands_alone(
        llm_server: ScriptedLLM) -> None:
    assert llm_standalone_question(STRIKE, ANSWERED, chat_model(llm_server)) == STRIKE
    assert llm_standalone_question(FOLLOW_UP, [], chat_model(llm_server)) == FOLLOW_UP
    assert llm_server.requests == []


@pytest.mark.parametrize("reply", [
    Reply(status=400, text="bad request"),
    "Here is the rewrite:\nWhat did Asif say about India?",
    "x" * 1001,
], ids=["model-error", "more-than-one-line", "too-long"])
def test_without_a_usable_llm_rewrite_the_rules_rewrite(llm_server: ScriptedLLM,
                                                        reply: Reply | str) -> None:
    llm_server.script(reply)
    assert llm_standalone_question(FOLLOW_UP, ANSWERED, chat_model(llm_server)) == \
        standalone_question(FOLLOW_UP, ANSWERED)


@needs_shared
def test_an_llm_answer_searches_the_llm_rewrite(news_services: Services,
                                                llm_server: ScriptedLLM) -> None:
    settings = news_services.settings.model_copy(update={"llm_base_url": llm_server.url,
                                                         "llm_retries": 0})
    engine = Engine(settings, store=news_services.engine.store,
                    encoder=news_services.engine.encoder)
    rewrite = "What did Khawaja Muhammad Asif say about India?"
    llm_server.script(rewrite, f"{INDIA}. [1]")
    answer = engine.ask(FOLLOW_UP, mode="llm", history=ANSWERED)
    assert answer.standalone_question == rewrite
    rewrite_request, answer_request = llm_server.requests
    assert "Last question" in rewrite_request["messages"][0]["content"]
    assert rewrite in answer_request["messages"][-1]["content"]
    # An extractive answer never asks the model, even with one configured.
    llm_server.reset()
    extractive = engine.ask(FOLLOW_UP, mode="extractive", history=ANSWERED)
    assert extractive.standalone_question == "What did Asif say about India?"
    assert llm_server.requests == []
