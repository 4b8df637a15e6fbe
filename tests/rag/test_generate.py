"""LLM answers through the engine: the evidence rule before the model, verification after it,
streaming sentence by sentence, and the fallback when the model fails. The real `openai`
client talks to the scripted server on 127.0.0.1; the encoder and Chroma are real."""

from __future__ import annotations

import re

import pytest

from api.services import Services
from rag.answer import ABSTENTION
from rag.engine import Engine
from rag.generate import NOT_ASKED
from rag.llm import LLMError, LLMFailed
from scripted_llm import Reply, ScriptedLLM
from support import with_settings

QUESTION = "What did Quillfeather say about the budget?"
UNCOVERED = "Who won the football world cup in 1966?"
MARKER = re.compile(r"\[(\d+)\]")
UNVEILED = "Finance minister Aurelia Quillfeather unveiled a budget that cuts fuel taxes"
LEVY = "Quillfeather said the cuts would be paid for by a levy on bank profits"
INVENTED = "She also promised free trams for every pensioner"
RECKLESS = "Opposition parties called the plan reckless"


def llm_engine(services: Services, server: ScriptedLLM, **overrides: object) -> Engine:
    settings = {"llm_base_url": server.url, "llm_timeout": 1.0, "llm_retries": 0,
                "llm_fallback": False, **overrides}
    return with_settings(services, **settings).engine


def sources(engine: Engine, question: str) -> dict[str | None, int]:
    """The number the prompt gives each retrieved article's first passage, by title."""
    numbers: dict[str | None, int] = {}
    for number, hit in enumerate(engine.retriever.search(question).hits, start=1):
        numbers.setdefault(hit.chunk.title, number)
    return numbers


def scripted_answer(engine: Engine) -> str:
    """A reply with one supported sentence, one citing the wrong source, one invented, and
    one citing a source that does not exist."""
    n = sources(engine, QUESTION)
    budget, strike = n["Quillfeather unveils budget"], n["Dockworkers strike at Port Averin"]
    return (f"{UNVEILED} [{budget}]. {LEVY} [{strike}]. {INVENTED} [{budget}]. "
            f"{RECKLESS} [7].")


def test_an_llm_answer_is_verified(small_services: Services, llm_server: ScriptedLLM) -> None:
    engine = llm_engine(small_services, llm_server)
    llm_server.script(scripted_answer(engine))
    answer = engine.ask(QUESTION, mode="llm")
    assert answer.mode == "llm" and not answer.abstained and answer.notice is None
    assert answer.answer == f"{UNVEILED}. [1] {LEVY}. [1] {RECKLESS}. [1]"
    assert INVENTED not in answer.answer
    g = answer.grounding
    assert (g.sentences, g.supported, g.dropped, g.repointed, g.score) == (4, 3, 1, 2, 0.75)
    assert [c.title for c in answer.citations] == ["Quillfeather unveils budget"]
    assert set(answer.timings_ms) == {"retrieve", "answer", "total"}
    messages = llm_server.requests[-1]["messages"]
    assert [m["role"] for m in messages] == ["system", "user"]
    assert messages[1]["content"].count("<source id=") == len(answer.contexts)


def test_auto_uses_the_configured_llm(small_services: Services,
                                      llm_server: ScriptedLLM) -> None:
    engine = llm_engine(small_services, llm_server)
    llm_server.script(f"{UNVEILED} [1].")
    assert engine.ask(QUESTION).mode == "llm"
    assert engine.ask(QUESTION, mode="extractive").mode == "extractive"
    assert len(llm_server.requests) == 1


def test_weak_evidence_abstains_without_asking_the_model(small_services: Services,
                                                         llm_server: ScriptedLLM) -> None:
    engine = llm_engine(small_services, llm_server)
    answer = engine.ask(UNCOVERED, mode="llm")
    assert answer.abstained and answer.answer == ABSTENTION and answer.mode == "llm"
    assert answer.grounding.method == NOT_ASKED
    streamed = engine.stream(UNCOVERED, mode="llm")
    assert "".join(streamed) == ABSTENTION and streamed.answer.abstained
    assert llm_server.requests == []


def test_the_models_abstention_is_kept(small_services: Services,
                                       llm_server: ScriptedLLM) -> None:
    engine = llm_engine(small_services, llm_server)
    llm_server.script("The indexed articles do not cover this question.")
    answer = engine.ask(QUESTION, mode="llm")
    assert answer.abstained and answer.answer == ABSTENTION and answer.citations == []


@pytest.mark.parametrize(("reply", "code"), [
    (Reply(status=500, text="boom"), "llm_error"),
    (Reply(status=429, text="slow down"), "llm_unavailable"),
    (Reply(text="late", delay=2.5), "llm_timeout"),
    (Reply(body="{not json"), "llm_bad_output"),
], ids=["500", "429", "timeout", "malformed"])
def test_a_failing_model_falls_back_to_extractive_and_says_so(
        small_services: Services, llm_server: ScriptedLLM, reply: Reply, code: str) -> None:
    engine = llm_engine(small_services, llm_server, llm_fallback=True)
    llm_server.script(reply)
    answer = engine.ask(QUESTION, mode="llm")
    assert answer.mode == "extractive" and not answer.abstained
    assert answer.notice is not None and answer.notice.code == code
    assert "answered extractively" in answer.notice.message


def test_without_fallback_the_failure_is_raised(small_services: Services,
                                                llm_server: ScriptedLLM) -> None:
    engine = llm_engine(small_services, llm_server)
    llm_server.script(Reply(status=500, text="boom"), Reply(status=500, text="boom"))
    with pytest.raises(LLMFailed):
        engine.ask(QUESTION, mode="llm")
    with pytest.raises(LLMFailed):
        engine.stream(QUESTION, mode="llm")


def test_a_stream_shows_only_verified_sentences(small_services: Services,
                                                llm_server: ScriptedLLM) -> None:
    engine = llm_engine(small_services, llm_server)
    text = scripted_answer(engine)
    llm_server.script(text, text)
    whole = engine.ask(QUESTION, mode="llm")
    stream = engine.stream(QUESTION, mode="llm")
    assert stream.contexts == whole.contexts
    deltas = list(stream)
    assert len(deltas) == 3  # one a sentence, the invented one never shown
    assert all(INVENTED not in delta for delta in deltas)
    assert "".join(deltas) == whole.answer == stream.answer.answer
    assert stream.answer.grounding == whole.grounding
    assert stream.answer.citations == whole.citations
    assert set(stream.answer.timings_ms) == {"retrieve", "answer", "total"}
    assert llm_server.requests[-1]["stream"] is True


def test_a_stream_that_breaks_after_a_sentence_keeps_it_and_says_so(
        small_services: Services, llm_server: ScriptedLLM) -> None:
    engine = llm_engine(small_services, llm_server, llm_fallback=True)
    text = f"{UNVEILED} [1]. {LEVY} [1]. {RECKLESS} [1]."
    llm_server.script(Reply(text=text, stall_after=len(UNVEILED) // 7 + 3, delay=2.5))
    stream = engine.stream(QUESTION, mode="llm")
    assert list(stream) == [f"{UNVEILED}. [1]"]
    answer = stream.answer
    assert answer.mode == "llm" and answer.answer == f"{UNVEILED}. [1]"
    assert answer.notice is not None and answer.notice.code == "llm_timeout"
    assert "stopped early" in answer.notice.message


def test_a_stream_that_breaks_before_any_sentence_falls_back(
        small_services: Services, llm_server: ScriptedLLM) -> None:
    engine = llm_engine(small_services, llm_server, llm_fallback=True)
    llm_server.script(Reply(text=f"{UNVEILED} [1].", garbage_after=2))
    stream = engine.stream(QUESTION, mode="llm")
    shown = "".join(stream)
    assert stream.answer.mode == "extractive" and shown == stream.answer.answer
    assert stream.answer.notice is not None and stream.answer.notice.code == "llm_bad_output"


def test_without_fallback_a_broken_stream_raises_from_the_iterator(
        small_services: Services, llm_server: ScriptedLLM) -> None:
    engine = llm_engine(small_services, llm_server)
    llm_server.script(Reply(text=f"{UNVEILED} [1].", garbage_after=2))
    stream = engine.stream(QUESTION, mode="llm")
    with pytest.raises(LLMError):
        list(stream)


def test_a_stream_that_cannot_start_falls_back_at_once(small_services: Services,
                                                       llm_server: ScriptedLLM) -> None:
    engine = llm_engine(small_services, llm_server, llm_fallback=True)
    llm_server.script(Reply(status=503, text="overloaded"))
    stream = engine.stream(QUESTION, mode="llm")
    assert "".join(stream) == stream.answer.answer
    assert stream.answer.mode == "extractive"
    assert stream.answer.notice is not None and stream.answer.notice.code == "llm_unavailable"
    assert MARKER.search(stream.answer.answer)
