"""Reading a question: the names it holds, and who and what a "what did X say" question asks."""

from __future__ import annotations

import pytest

from rag.question import family_name, names_in, same_person, speech_of


def test_names_leave_out_question_words_and_possessives() -> None:
    assert names_in("What did Pakistan's defence minister tell Sky News about the US?") == \
        ["Pakistan", "Sky News", "US"]
    assert names_in("And what did he say about India?") == ["India"]
    assert names_in("How did the Bank of Veltara explain it?") == ["Bank of Veltara"]
    assert names_in("why did it happen?") == []


@pytest.mark.parametrize(("question", "subject", "topic", "person"), [
    ("What did the Pakistani defence minister say about Afghanistan?",
     "the Pakistani defence minister", "Afghanistan", None),
    ("What did Khawaja Muhammad Asif say about India?", "Khawaja Muhammad Asif", "India",
     "Khawaja Muhammad Asif"),
    ("Which provincial government did Asif criticise over counterterrorism?", "Asif",
     "counterterrorism", "Asif"),
    ("What did Yusuf Amin Zazi say Pakistan should provide?", "Yusuf Amin Zazi",
     "Pakistan should provide", "Yusuf Amin Zazi"),
    ("What did Asif tell reporters about the border?", "Asif", "the border", "Asif"),
    ("What has Marta Kessling been saying?", "Marta Kessling", None, "Marta Kessling"),
    ("According to Asif, what drives terrorism?", "Asif", "what drives terrorism", "Asif"),
    ("And what did he say about India?", "he", "India", None),
])
def test_speech_questions(question: str, subject: str, topic: str | None,
                          person: str | None) -> None:
    speech = speech_of(question)
    assert speech is not None
    assert (speech.subject, speech.topic, speech.person) == (subject, topic, person)


@pytest.mark.parametrize("question", [
    "How many dockworkers walked off the job in the Port Averin strike?",
    "Where were the joint Pakistan-US counterterrorism drills held?",
    "What is the capital of Australia?",
])
def test_other_questions_have_no_speech_reading(question: str) -> None:
    assert speech_of(question) is None


def test_a_subject_is_a_name_or_a_description() -> None:
    assert speech_of("What did Asif say?").is_name
    assert speech_of("What did Abdul Matin Qani pledge?").is_name
    assert not speech_of("What did the minister say?").is_name
    assert not speech_of("What did Pakistani officials say?").is_name


def test_a_speaker_is_the_person_asked_about_by_family_name() -> None:
    assert family_name("Khawaja Muhammad Asif") == "Asif"
    assert same_person("Asif", "Khawaja Muhammad Asif")
    assert same_person("Khawaja Muhammad Asif", "Khwaja M Asif")
    assert not same_person("Muhammad Asif", "Muhammad Ali")
    assert not same_person("Asif", "")


def test_dates_in_reads_the_usual_written_forms() -> None:
    import datetime as dt

    from rag.question import dates_in

    text = ("After the TechCrunch report on October 7, 2023, the Oct. 30, 2023 follow-up, "
            "the 5 December 2023 piece and the one dated 2023-12-15")
    assert dates_in(text) == [dt.date(2023, 10, 7), dt.date(2023, 10, 30),
                              dt.date(2023, 12, 5), dt.date(2023, 12, 15)]
    assert dates_in("What happened on February 30, 2023 in 2023?") == []



@pytest.mark.parametrize(("question", "subject"), [
    ("What did the secretary of state say about the talks?", "the secretary of state"),
    ("What has the minister for transport said?", "the minister for transport"),
])
def test_a_subject_runs_on_past_of_and_for_to_its_noun(question: str, subject: str) -> None:
    """"State" after "secretary of" is a noun, not the verb of saying."""
    speech = speech_of(question)
    assert speech is not None and speech.subject == subject


def test_a_noun_like_a_verb_of_saying_makes_no_speech_question() -> None:
    assert speech_of("When does the secretary of state become president?") is None
