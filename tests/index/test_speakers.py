"""Speaker attribution: real news from the shared corpus, the sample corpus, hand-made patterns."""

from __future__ import annotations

import dataclasses

import pytest

from index.chunk import sentence_spans
from index.clean import clean_text
from index.speakers import Attribution, attribute_speakers
from support import EXAMPLES, SHARED_CORPUS


def attributions(text: str) -> list[Attribution]:
    return attribute_speakers(text, sentence_spans(text))


def speaker_of(text: str, fragment: str, found: list[Attribution] | None = None) -> str | None:
    """The speaker of the one sentence holding `fragment`, or None when it has no attribution."""
    found = attributions(text) if found is None else found
    holding = [(start, end) for start, end in sentence_spans(text) if fragment in text[start:end]]
    assert len(holding) == 1, f"{fragment!r} is in {len(holding)} sentences"
    ((start, end),) = holding
    return next((a.speaker for a in found if (a.start, a.end) == (start, end)), None)


def cue_of(text: str, fragment: str) -> str | None:
    return next((a.cue for a in attributions(text) if fragment in text[a.start : a.end]), None)


def corpus_text(prefix: str, story: int = 0) -> str:
    """One cleaned story of a shared-corpus file; skips the test when the corpus is absent."""
    paths = sorted(SHARED_CORPUS.glob(f"{prefix}_*.txt"))
    if not paths:
        pytest.skip(f"shared corpus file {prefix}_*.txt not found in {SHARED_CORPUS}")
    return clean_text(paths[0].read_text(encoding="utf-8"))[story].text


def example_text(name: str) -> str:
    return clean_text((EXAMPLES / name).read_text(encoding="utf-8"))[0].text


# --- the shared corpus ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fragment", "speaker"),
    [
        ("terrorism in the region significantly decreased", "Khawaja Muhammad Asif"),
        # Inside the quotation "Khawaja Muhammad Asif told Dawn News:" opened.
        ("It is not as prevalent as it was when the US was there", "Khawaja Muhammad Asif"),
        # A role noun: the article named him "Pakistan's Minister of Defense".
        ("The Pakistani Defense Minister said", "Khawaja Muhammad Asif"),
        ("We do not allow anyone to use Afghan soil against regional and other countries",
         "Abdul Matin Qani"),
        ("These contradictory statements", "Sadiq Shinwari"),
        ("We have repeatedly told Pakistan", "Yusuf Amin Zazi"),
        ("Come and sit with us.", "Yusuf Amin Zazi"),
        ("Some military experts believe", None),
    ],
)
def test_004_interview_quotes(fragment: str, speaker: str | None) -> None:
    assert speaker_of(corpus_text("004"), fragment) == speaker


@pytest.mark.parametrize(
    "fragment",
    [
        "Most of the militants killed by our armed forces in recent weeks were Afghans",
        "Pakistan and Türkiye share history, religion and culture",
        "Peace means progress, peace means prosperity",
        # A quotation following an attributed one in the same paragraph, without its own cue.
        "That proves our point that the Kabul government",
        # "The minister described ..." resolves the role to the man named at the top.
        "The minister described the situation along the border",
    ],
)
def test_003_he_said_is_the_defense_minister(fragment: str) -> None:
    assert speaker_of(corpus_text("003"), fragment) == "Khawaja Muhammad Asif"


def test_001_first_story_told_reporters_and_he_said() -> None:
    text = corpus_text("001")
    terrorism = "Terrorism is being conducted mostly from Afghanistan against us"
    assert speaker_of(text, terrorism) == "Khawaja Muhammad Asif"
    assert cue_of(text, terrorism) == "told"
    assert speaker_of(text, "We have also raised this issue with Afghanistan") == (
        "Khawaja Muhammad Asif"
    )
    # "He alleged" follows a sentence that opens with another titled minister.
    assert speaker_of(text, "He alleged many social media accounts") == "Ataullah Tarar"


def test_001_second_story_statement_of_the_military_media_wing() -> None:
    text = corpus_text("001", story=1)
    found = attributions(text)
    speaker = speaker_of(text, "Distinguished Visitors’ Day ceremony was held", found)
    assert speaker is not None
    assert "Inter-Services Public Relations" in speaker or "ISPR" in speaker
    # "it added" is the organisation that spoke last; "ISPR said" is the same organisation.
    assert speaker_of(text, "The visitors were briefed on the scope", found) == speaker
    assert speaker_of(text, "ISPR said the exercise was meant to enhance", found) == speaker
    no_speech = "Pakistan and the United States have maintained close defense and security ties"
    assert speaker_of(text, no_speech, found) is None


def test_002_quotation_attributed_in_its_next_sentence() -> None:
    text = corpus_text("002")
    # '"This was a collective decision. All three played a pivotal role ...," he declared.'
    assert speaker_of(text, "This was a collective decision.") == "Khawaja Muhammad Asif"


# --- the sample corpus (fictional wire stories) ---------------------------------------------


def test_port_strike_speakers() -> None:
    text = example_text("01_port_strike.txt")
    found = attributions(text)
    assert speaker_of(text, "We have been patient for eighteen months", found) == "Ilse Brandvold"
    assert speaker_of(text, "Every day the cranes stand still", found) == "Marcus Oyelaran"
    assert speaker_of(text, "This is a dispute between an employer", found) == (
        "Rafael Achterberg"
    )
    assert speaker_of(text, "stay out for at least 72 hours", found) == (
        "Harbour Workers' Union of Veltara"
    )
    assert speaker_of(text, "Shipping agents said", found) is None  # an unnamed group
    assert speaker_of(text, "The Port Averin Authority has offered 5 percent", found) is None


def test_rate_decision_speakers() -> None:
    text = example_text("04_rate_decision_ledger.txt")
    found = attributions(text)
    assert speaker_of(text, "Inflation above six percent is a tax", found) == "Lucan Dreyfold"
    # ", telling reporters that ...": the speaker is the clause's subject, "He".
    assert speaker_of(text, "He declined to say whether further increases", found) == (
        "Lucan Dreyfold"
    )
    # A quotation whose attribution ("Morrow told lawmakers") comes in its second sentence.
    assert speaker_of(text, "I will not pretend this is painless", found) == "Adaeze Morrow"
    assert speaker_of(text, "a brake slammed on an economy", found) == "Dmitri Achebe-Lowe"
    # "according to a statement": a document, not a named speaker.
    assert speaker_of(text, "voted to keep the rate unchanged", found) is None


# --- hand-made patterns ----------------------------------------------------------------------


def test_x_said() -> None:
    text = "Transport Minister Rafael Achterberg said the government would not intervene."
    (found,) = attributions(text)
    assert found == Attribution(0, len(text), "Rafael Achterberg", "said",
                                roles=("Transport Minister",))


def test_said_x_the_role_of_place() -> None:
    text = (
        '"It took ten years," said Tomas Vell, the mayor of Brannock. The bridge opened on '
        'Monday. "We are proud of it," the mayor said.'
    )
    assert speaker_of(text, "It took ten years") == "Tomas Vell"
    assert cue_of(text, "It took ten years") == "said"
    assert speaker_of(text, "We are proud of it") == "Tomas Vell"
    assert speaker_of(text, "The bridge opened") is None


def test_according_to() -> None:
    text = (
        "Sales rose 4 percent, according to Dana Whitfield, a spokeswoman for Acme Corp. "
        "According to her, prices will not change."
    )
    assert speaker_of(text, "Sales rose 4 percent") == "Dana Whitfield"
    assert cue_of(text, "Sales rose") == "according to"
    assert speaker_of(text, "prices will not change") == "Dana Whitfield"


def test_she_said_is_the_last_person_not_known_to_be_a_man() -> None:
    text = (
        "Ms. Anna Berg chairs the water board. Mayor Tom Hale said the vote was set. "
        '"We are ready," he said. "We will vote in June," she said.'
    )
    assert speaker_of(text, "We are ready") == "Tom Hale"
    assert speaker_of(text, "We will vote in June") == "Anna Berg"


def test_role_noun_resolves_to_the_titled_name() -> None:
    text = (
        "Governor Lucan Dreyfold raised the rate on Wednesday. Finance Minister Adaeze Morrow "
        'said she respected the decision. "We would rather act early," the governor said.'
    )
    assert speaker_of(text, "We would rather act early") == "Lucan Dreyfold"
    assert speaker_of(text, "she respected the decision") == "Adaeze Morrow"


def test_sentences_inside_one_quotation_carry_its_speaker() -> None:
    text = (
        'Union secretary Ilse Brandvold said: "We have been patient. Patience has not paid a '
        'single bill. We will stay out."\n\n"Nobody wants this," said Marcus Oyelaran. "The '
        "cranes are still.\n\n"
        '"Every day costs money."\n\nThe port reopened on Friday.'
    )
    found = attributions(text)
    for fragment in ("We have been patient", "Patience has not paid", "We will stay out"):
        assert speaker_of(text, fragment, found) == "Ilse Brandvold"
    # A quotation left open at a paragraph's end goes on in the next one.
    assert speaker_of(text, "The cranes are still", found) == "Marcus Oyelaran"
    assert speaker_of(text, "Every day costs money", found) == "Marcus Oyelaran"
    assert speaker_of(text, "The port reopened", found) is None


def test_surname_first_takes_the_full_name_given_later() -> None:
    text = (
        "Asif said the border was fragile. Later, Defence Minister Khawaja Muhammad Asif told "
        'reporters the talks had failed. "We are ready," Asif said.'
    )
    assert {a.speaker for a in attributions(text)} == {"Khawaja Muhammad Asif"}


def test_organisations_speak_and_it_added() -> None:
    text = (
        "Lumenfield Systems, the Port Averin software company, said on Tuesday that hackers "
        "stole customer data. The company said the attackers used a contractor's account. "
        '"Passwords were not taken," it added.'
    )
    assert {a.speaker for a in attributions(text)} == {"Lumenfield Systems"}
    assert len(attributions(text)) == 3


def test_subjects_that_name_no_one_are_left_out() -> None:
    """Decision: a report, a statement or an unnamed group is not a speaker (see the module)."""
    text = (
        "The report said inflation rose. The statement said nothing new. The ministry said it "
        "would act. Officials said the road was closed. According to the company, sales fell. "
        '"We are leaving," they said.'
    )
    assert attributions(text) == []
    # A cue of its own whose speaker is unknown does not inherit the previous speaker.
    text = '"We will vote," Tom Hale said. "We are leaving," they said.'
    assert speaker_of(text, "We are leaving") is None


def test_no_speech_no_attribution() -> None:
    text = (
        "The bridge opened in 1995 and carries 40,000 vehicles a day. He was told to wait. "
        "She declined to say more. The company added 200 jobs last year."
    )
    assert attributions(text) == []


def test_attributions_are_frozen_and_point_at_sentences() -> None:
    text = example_text("03_rate_decision_northwind.txt")
    spans = set(sentence_spans(text))
    found = attributions(text)
    assert found and all((a.start, a.end) in spans for a in found)
    with pytest.raises(dataclasses.FrozenInstanceError):
        found[0].speaker = "someone else"  # type: ignore[misc]
    assert attribute_speakers("", []) == []


# --- statement details: direct or reported, roles, aliases, audience ---------------------------


def test_a_statement_says_direct_or_reported_and_to_whom() -> None:
    text = ('Speaking to Radio Selmarq, Foreign Minister Livia Varnholt said the talks would '
            'resume. "Our door is open, and our negotiators are ready," she said. '
            'She described the offer as "fair."')
    found = {text[a.start:a.end].split()[0]: a for a in attributions(text)}
    assert found["Speaking"].kind == "reported" and found['"Our'].kind == "direct"
    assert found["She"].kind == "reported"  # two quoted words are not a direct quotation
    assert {a.audience for a in found.values()} == {"Radio Selmarq"}
    assert found["Speaking"].roles == ("Foreign Minister",)


def test_an_audience_is_named_never_described_or_quoted() -> None:
    told = 'Asif told reporters in Sialkot that talks had failed. Asif told Dawn News: "No."'
    audiences = [a.audience for a in attributions(told)]
    assert audiences == ["Dawn News", "Dawn News"]  # one named audience for the article
    inside = 'Zazi said: "We have repeatedly told Pakistan to provide evidence."'
    assert [a.audience for a in attributions(inside)] == [None]


def test_roles_and_aliases_are_kept_as_the_article_gives_them() -> None:
    text = ("Abdul Matin Qani, the spokesperson for the Ministry of Interior, pledged support. "
            "Sadiq Shinwari, a military affairs expert, told TOLOnews: \"It is good.\" "
            "The military's media wing, Inter-Services Public Relations (ISPR), said it was "
            "ready. ISPR said the drills went well.")
    by_speaker = {a.speaker: a for a in attributions(text)}
    assert by_speaker["Abdul Matin Qani"].roles == ("spokesperson for the Ministry of Interior",)
    assert by_speaker["Sadiq Shinwari"].roles == ("military affairs expert",)
    ispr = by_speaker["Inter-Services Public Relations"]
    assert ispr.aliases == ("ISPR",) and ispr.organisation


@pytest.mark.parametrize(("text", "speaker", "cue"), [
    ("Kabul denies the allegations and has assured Islamabad of its help.", "Kabul", "denies"),
    ("The Florida senator Marco Ruiz is telling reporters that he will win.", "Marco Ruiz",
     "telling"),
    ("Asif's allegations come a day after Foreign Minister Ishaq Dar expressed his preference "
     "for closer ties.", "Ishaq Dar", "expressed"),
    ("''We will win,'' Mr. Cruz wrote.", "Cruz", "wrote"),
])
def test_more_of_how_news_reports_speech(text: str, speaker: str, cue: str) -> None:
    (found,) = attributions(text)
    assert (found.speaker, found.cue) == (speaker, cue)


def test_a_name_inside_a_role_and_a_pronoun_after_it() -> None:
    text = ("Imran Khan's Pakistan Tehreek-e-Insaf (PTI) party was blamed. Khan's PTI party "
            "condemned the attack in a statement. It demanded the government take action.")
    found = attributions(text)
    assert [a.speaker for a in found] == ["Pakistan Tehreek-e-Insaf"] * 2
    assert [a.cue for a in found] == ["condemned", "demanded"]


def test_a_role_is_a_title_never_the_words_before_a_name() -> None:
    text = ("I am summarizing briefly because Gary Wang said the code was changed. "
            "Chelsea said coach Mauricio Pochettino would stay, said head coach Pochettino.")
    roles = {a.speaker: a.roles for a in attributions(text)}
    assert roles.get("Gary Wang", ()) == ()
    assert all(not role.startswith(("said", "of ")) for r in roles.values() for role in r)
