"""The statement index: one speaker under every spelling, resolved by name, alias or role; and
other spellings of places and words."""

from __future__ import annotations

import datetime as dt

import pytest

from rag.schemas import Statement
from rag.statements import Said, StatementIndex
from rag.variants import american_spelling, is_place, variants


def said(speaker: str, article: str, start: int = 0, *, roles: tuple[str, ...] = (),
         aliases: tuple[str, ...] = (), organisation: bool = False,
         published: dt.date | None = None, source: str | None = None,
         text: str = "x" * 10) -> Said:
    record = Statement(start=start, end=start + 10, speaker=speaker, kind="reported",
                       cue="said", roles=roles, aliases=aliases, organisation=organisation)
    return Said(statement=record, position=0, sentence=0, previous=-1, chunk_id=f"{article}:0",
                article_id=article, text=text, title=None, source=source,
                published=published, url=None)


@pytest.fixture(scope="module")
def index() -> StatementIndex:
    return StatementIndex([
        said("Khawaja Muhammad Asif", "a", 0, roles=("Pakistan’s Defense Minister",),
             aliases=("Asif",), source="Arab News", published=dt.date(2024, 3, 17)),
        said("Khawaja Muhammad Asif", "a", 50, roles=("Pakistan’s Defense Minister",),
             aliases=("Asif",), source="Arab News", published=dt.date(2024, 3, 17)),
        said("Khwaja M Asif", "b", 0, roles=("Pakistan’s Defence Minister",),
             aliases=("Asif",), published=None),
        said("Imran Khan", "c", 0, roles=("former prime minister",)),
        said("Sadiq Khan", "d", 0, roles=("Mayor of London",)),
        said("Inter-Services Public Relations", "e", 0, roles=("military’s media wing",),
             aliases=("ISPR",), organisation=True, source="Arab News"),
        said("Sadiq Shinwari", "f", 0, roles=("military affairs expert",), source="TOLOnews"),
        said("Ataullah Tarar", "a", 90, roles=("Information Minister",), source="Arab News"),
    ])


def test_one_person_under_several_spellings_is_one_speaker(index: StatementIndex) -> None:
    asif = index.speaker("Asif")
    assert asif.name == "Khawaja Muhammad Asif" and len(asif.said) == 3
    assert set(asif.aliases) == {"Asif", "Khwaja M Asif"}
    assert asif.roles == ["Pakistan’s Defense Minister"]  # one spelling of one role
    assert asif.dates == (dt.date(2024, 3, 17), dt.date(2024, 3, 17))
    # A shared family name with other initials is someone else.
    assert index.speaker("Imran Khan") is not index.speaker("Sadiq Khan")


@pytest.mark.parametrize(("subject", "person", "expected"), [
    ("Khawaja Asif", "Khawaja Asif", ["Khawaja Muhammad Asif"]),
    ("the ISPR", "ISPR", ["Inter-Services Public Relations"]),
    ("the Pakistani defence minister", None, ["Khawaja Muhammad Asif"]),
    ("Pakistan's military", None, ["Inter-Services Public Relations"]),
    ("the information minister", None, ["Ataullah Tarar"]),
    ("the minister", None, ["Khawaja Muhammad Asif", "Ataullah Tarar", "Imran Khan"]),
    ("the Indian prime minister", None, []),
    ("Shehbaz Sharif", "Shehbaz Sharif", []),
])
def test_a_subject_resolves_by_name_alias_or_role(index: StatementIndex, subject: str,
                                                  person: str | None,
                                                  expected: list[str]) -> None:
    resolution = index.resolve(subject, person)
    assert [s.name for s in resolution.speakers] == expected
    assert resolution.speaker_like


def test_a_subject_that_is_no_speaker_at_all_is_not_speaker_like(
        index: StatementIndex) -> None:
    assert not index.resolve("the report", None).speaker_like
    assert not index.resolve("the individual", None).speaker_like


def test_every_statement_knows_its_speaker(index: StatementIndex) -> None:
    for speaker in index.speakers:
        assert all(index.owner(item) is speaker for item in speaker.said)


def test_other_spellings_come_from_maintained_data() -> None:
    assert {"turkey", "türkiye"} <= variants("Turkey")
    assert "kiev" in variants("Kyiv") and "kyiv" in variants("Kiev")
    assert {"czechia", "czech republic"} <= variants("Czechia")
    assert variants("defence") == {"defence", "defense"}
    assert variants("Kessa Pass") == {"kessa pass"}
    assert american_spelling("Defence") == "defense"
    assert is_place("Pakistani") and is_place("indian") and not is_place("military")


def test_short_forms_never_join_two_people_and_a_full_name_finds_its_own() -> None:
    index = StatementIndex([
        said("Jason Kelce", "a", aliases=("Kelce",)), said("Jason Kelce", "a", 20),
        said("Travis Kelce", "b", aliases=("Kelce",)),
        said("Elon Musk", "c", aliases=("Musk",)),
        said("Bloomberg Businessweek Musk", "d", aliases=("Musk",)),
        said("Kelce", "e"),  # named by one word only: the family name's first cluster
    ])
    assert index.speaker("Travis Kelce").name == "Travis Kelce"
    assert index.speaker("Jason Kelce").name == "Jason Kelce"
    assert len(index.speaker("Jason Kelce").said) == 3
    assert [s.name for s in index.resolve("Elon Musk", "Elon Musk").speakers] == ["Elon Musk"]
    assert index.resolve("the", None).speakers == []


@pytest.fixture(scope="module")
def bodies() -> StatementIndex:
    return StatementIndex([
        said("Dockers' Union of Averin", "strike", 0, organisation=True),
        said("Ilse Brandvold", "strike", 50, roles=("union secretary",)),
        said("Marcus Oyelaran", "strike", 90, roles=("Port Averin Authority chief executive",)),
        said("Hanne Solberg", "rail", 0, roles=("VeltaRail chief executive",)),
        said("Yusuf Brennholt", "plant", 0, roles=("Councillor",),
             text="Councillor Yusuf Brennholt of the Green List said the plant costs too much."),
        said("Lumenfield Systems", "breach", 0, organisation=True),
        said("Ravi Castellane", "breach", 50, roles=("chief executive",)),
        said("Livia Varnholt", "pass", 0, roles=("Federation of Ostmark's foreign minister",)),
        said("Piet Hallum", "pass", 50, roles=("Veltara's defence minister",)),
        said("Lucan Dreyfold", "rates", 0, roles=("Governor",)),
        said("Elena Mirov", "fire", 0, roles=("regional fire commander",)),
    ])


@pytest.mark.parametrize(("subject", "person", "expected"), [
    # A body quoted in the article of a role whose common noun names it.
    ("the union", None, ["Dockers' Union of Averin", "Ilse Brandvold"]),
    ("Dockers' Union", "Dockers' Union", ["Dockers' Union of Averin", "Ilse Brandvold"]),
    # A body named in a role, quoted or not.
    ("the port authority", None, ["Marcus Oyelaran"]),
    ("VeltaRail", "VeltaRail", ["Hanne Solberg"]),
    # Named right after the speaker.
    ("the Green List", "Green List", ["Yusuf Brennholt"]),
    # A bare officer's title in a story one body speaks in.
    ("Lumenfield Systems", "Lumenfield Systems", ["Lumenfield Systems", "Ravi Castellane"]),
    # Ministers speak for their country's government.
    ("the Ostmark government", None, ["Livia Varnholt"]),
    ("the Veltaran government", None, ["Piet Hallum"]),
    # Whoever leads a body answers to "chief", "boss", "head", "leader".
    ("the VeltaRail boss", None, ["Hanne Solberg"]),
    ("the fire chief", None, ["Elena Mirov"]),
    # A title's qualifier is the speaker's own, or no one's.
    ("the deputy governor", None, []),
    ("the Veltaran foreign minister", None, []),
])
def test_a_body_resolves_to_those_who_speak_for_it(bodies: StatementIndex, subject: str,
                                                   person: str | None,
                                                   expected: list[str]) -> None:
    resolution = bodies.resolve(subject, person)
    assert sorted(s.name for s in resolution.speakers) == sorted(expected)
    assert resolution.speaker_like


def test_governor_is_not_government_and_a_chairwoman_is_a_chair(
        bodies: StatementIndex) -> None:
    assert [s.name for s in bodies.resolve("the government", None).speakers] == [
        "Livia Varnholt", "Piet Hallum"]
    assert [s.name for s in bodies.resolve("the governor", None).speakers] == ["Lucan Dreyfold"]


@pytest.mark.parametrize(("subject", "near"), [
    ("the deputy governor", ["Lucan Dreyfold"]),
    ("the port union leader", ["Dockers' Union of Averin", "Ilse Brandvold"]),
    ("the Veltaran foreign minister", ["Livia Varnholt", "Piet Hallum"]),
])
def test_a_role_no_one_holds_names_those_nearest_to_it(bodies: StatementIndex, subject: str,
                                                       near: list[str]) -> None:
    resolution = bodies.resolve(subject, None)
    assert resolution.speakers == [] and resolution.speaker_like
    assert sorted(s.name for s in resolution.near) == near


def test_an_unknown_person_noun_is_still_a_speaker_not_a_topic(bodies: StatementIndex) -> None:
    resolution = bodies.resolve("the PayLark contractor", None)
    assert resolution.speakers == [] and resolution.speaker_like
    assert not bodies.resolve("the evidence", None).speaker_like


def test_no_one_is_named_near_a_role_when_many_are_as_near() -> None:
    index = StatementIndex([said(f"Minister {n}", n, roles=(f"{p} Minister",))
                            for n, p in [("A", "Finance"), ("B", "Justice"), ("C", "Transport"),
                                         ("D", "Interior")]])
    resolution = index.resolve("the prime minister", None)
    assert resolution.speakers == [] and resolution.near == []
