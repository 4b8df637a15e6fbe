"""The speech-verb vocabulary: every form each reader is given is one it reads (an article's
cues, audiences and interviews; a question's verbs; a follow-up's "say it")."""

from __future__ import annotations

import re

import pytest

from index.clean import find_outlet
from index.speakers import attribute_speakers
from rag.followup import standalone_question
from rag.question import speech_of
from rag.schemas import Turn
from rag.sentences import sentence_spans
from rag.speech_verbs import (
    AUDIENCE_OPENINGS,
    AUDIENCE_PHRASES,
    CUE_VERBS,
    INTERVIEW_OPENINGS,
    INTERVIEW_PHRASES,
    QUESTION_VERB_STEMS,
    QUESTION_VERBS,
    RESTATING,
    WEAK_CUE_VERBS,
    alternation,
)


def attributed(text: str) -> list[tuple[str, str, str | None]]:
    return [(a.speaker, a.cue, a.audience) for a in attribute_speakers(text, sentence_spans(text))]


def test_an_alternation_capitalises_only_the_phrases_given() -> None:
    pattern = re.compile(rf"^(?:{alternation(('speaking to', 'told'), ('speaking to',))})$")
    assert pattern.match("speaking to") and pattern.match("Speaking to")
    assert pattern.match("told") and not pattern.match("Told")
    assert not pattern.match("SPEAKING TO") and not pattern.match("speaking")


@pytest.mark.parametrize("verb", CUE_VERBS)
def test_every_cue_verb_attributes_a_sentence(verb: str) -> None:
    text = f"Defence Minister Khawaja Asif {verb} that the border would stay closed."
    assert attributed(text) == [("Khawaja Asif", verb, None)]


@pytest.mark.parametrize("verb", WEAK_CUE_VERBS)
def test_every_weak_verb_attributes_a_quotation(verb: str) -> None:
    text = f'"The border will stay closed," Defence Minister Khawaja Asif {verb}.'
    assert [(s, c) for s, c, _ in attributed(text)] == [("Khawaja Asif", verb)]


@pytest.mark.parametrize("phrase", [p for p in AUDIENCE_PHRASES if p not in AUDIENCE_OPENINGS])
def test_every_audience_phrase_names_whom_it_was_said_to(phrase: str) -> None:
    before = {"interview with": " said in a television", "telling": " said,"}.get(phrase, "")
    text = (f"Defence Minister Khawaja Asif{before} {phrase} Daily Sabah that the border "
            "would stay closed.")
    ((speaker, _, audience),) = attributed(text)
    assert (speaker, audience) == ("Khawaja Asif", "Daily Sabah")


@pytest.mark.parametrize("phrase", AUDIENCE_OPENINGS)
def test_an_audience_phrase_may_open_the_sentence(phrase: str) -> None:
    text = (f"{phrase[0].upper()}{phrase[1:]} Daily Sabah, Defence Minister Khawaja Asif said "
            "the border would stay closed.")
    assert attributed(text) == [("Khawaja Asif", "said", "Daily Sabah")]


@pytest.mark.parametrize("phrase", INTERVIEW_PHRASES)
def test_every_interview_phrase_names_the_outlet(phrase: str) -> None:
    text = (f"Defence Minister Khawaja Asif {phrase} Dawn News on Monday that the border "
            "would stay closed.\nThe crossing has been shut since March.")
    assert find_outlet(text) == "Dawn News"
    if phrase in INTERVIEW_OPENINGS:
        opening = (f"{phrase[0].upper()}{phrase[1:]} Dawn News on Monday, Khawaja Asif said the "
                   "border would stay closed.")
        assert find_outlet(opening) == "Dawn News"


@pytest.mark.parametrize("verb", [*QUESTION_VERBS, *(f"{stem}ed" for stem in QUESTION_VERB_STEMS)])
def test_every_question_verb_asks_what_someone_said(verb: str) -> None:
    speech = speech_of(f"What has Khawaja Asif {verb} about the border?")
    assert speech is not None
    assert (speech.subject, speech.topic) == ("Khawaja Asif", "the border")


@pytest.mark.parametrize("verb", RESTATING)
def test_a_followups_it_after_every_restating_verb_is_what_was_said(verb: str) -> None:
    history = [Turn(role="user", content="What did Khawaja Asif say about the border?")]
    assert standalone_question(f"Why did he {verb} it?", history) == \
        f"Why did Asif {verb} that about the border?"
