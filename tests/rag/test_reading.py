"""How the grounding judge reads a sentence (rag/reading.py): numbers however they are written,
and the phrases of place it compares; and how it judges a claim against passage sentences
(rag/judge.py), on sentences whose truth is known by construction."""

from __future__ import annotations

import datetime as dt

import pytest

from rag.judge import Facts, finding
from rag.reading import read


@pytest.mark.parametrize(("one", "other"), [
    ("about 1.2 million customers", "about 1,200,000 customers"),
    ("two million users", "2 million users"),
    ("2.3 billion veltars", "2,300,000,000 veltars"),
    ("forty vessels", "40 vessels"),
    ("cut by a third", "cut by one third"),
    ("two thirds of voters", "0.67 of voters"),
])
def test_numbers_read_alike_however_they_are_written(one: str, other: str) -> None:
    assert read(one).numbers == read(other).numbers != frozenset()


def test_phrases_of_place_are_read_and_times_are_not() -> None:
    reading = read("Speaking at the bank's headquarters later on Wednesday, Morrow said rates "
                   "would rise in 2026.")
    places = [(reading.words[a].text, [reading.words[i].text for i in p])
              for a, p in reading.places()]
    assert places == [("Speaking", ["bank", "headquarters"])]


def test_an_ordinal_is_no_fraction() -> None:
    assert read("She won a third term.").numbers == read("She won the third term.").numbers


def test_shares_read_as_percent_and_fraction() -> None:
    assert "0.5" in read("a 50 percent discount").shares
    assert "0.25" in read("by 25 basis points").shares
    assert "50" in read("cut by half").shares


def test_times_of_the_calendar_are_read() -> None:
    assert read("They meet over the coming month, or in the fall.").times == {
        "next month", "autumn"}
    assert read("Prices fall in March.").times == frozenset()


def test_a_place_that_is_a_name_ends_with_it() -> None:
    reading = read("Traders in Port Averin said the delays grew.")
    places = [(reading.words[a].text, [reading.words[i].text for i in p])
              for a, p in reading.places()]
    assert places == [("Traders", ["Port", "Averin"])]


def judge(claim: str, *passage: str) -> str | None:
    readings = tuple(read(sentence) for sentence in passage)
    facts = Facts(readings=readings, speakers=(None,) * len(readings), metadata=read(""),
                  published=None)
    found = finding(read(claim), facts, list(range(len(readings))), None)
    return found.reason if found else None


@pytest.mark.parametrize(("claim", "passage", "reason"), [
    # A denial set against another word in the same place.
    ("Farmers said the cuts would not hurt the valley's apricot harvest.",
     "Farmers said the cuts would hit the valley's apricot harvest hardest.", "negation"),
    # ... but not against a word that itself denies.
    ("Farmers said the cuts would not hurt the valley's apricot harvest.",
     "Farmers said the cuts would spare the valley's apricot harvest.", None),
    # Two names trading places in the same words.
    ("The crisis in Turkey was far more intense than the one in Greece.",
     "The crisis in Greece was far more intense than the one in Turkey.", "entity_mismatch"),
    ("Greece and Turkey were historic rivals.", "Turkey and Greece were historic rivals.", None),
    # A name with one word changed; a name spelled out around it is the same name.
    ("Deputy Governor Ana Malinde voted to keep the rate.",
     "Deputy Governors Ana Ferreyra and Joost Malinde voted to keep the rate.",
     "entity_mismatch"),
    ("Martin Luther King Jr. is buried there.", "Martin Luther King , Jr. is buried there.",
     None),
    # A place moved after the same word; a sentence naming both places says both.
    ("Speaking at the bank's headquarters, Morrow said rates would rise.",
     "Speaking in parliament, Morrow said rates would rise.", "entity_mismatch"),
    ("Seven soldiers were killed in Mir Ali.",
     "Seven soldiers were killed in Mir Ali, in the restive northwestern tribal area.", None),
    # A hedged word the passage also states plainly.
    ("The discovery disproves a 3rd-century date for any book.",
     "Scholars tried to date the books as late as the 3rd century, but the discovery "
     "disproves a 3rd-century date for any book.", None),
    # "All" floated after the verb gathers what the claim lists.
    ("Car washing and garden watering are all banned.",
     "Car washing and garden watering are banned outright.", None),
    ("All car washing is banned.", "Car washing is banned outright.", "quantifier"),
    # Fractions, and shares written as percent.
    ("The levy on imports was cut by half.", "The levy on imports was cut by a third.",
     "number_mismatch"),
    ("The levy on imports was cut by half.", "The levy on imports was cut by 50 percent.",
     None),
    # The same number in another unit of the same measure.
    ("The strike added two weeks to grain shipments.",
     "The strike added two days to grain shipments.", "number_mismatch"),
    ("The strike added 2 days to grain shipments.",
     "The strike added two days to grain shipments.", None),
    # Seasons and times counted from now.
    ("The envoys will meet in Vienna next year.", "The envoys will meet in Vienna next month.",
     "date_mismatch"),
    ("The envoys will meet in Vienna by the end of the summer.",
     "The envoys will meet in Vienna by the new year.", "date_mismatch"),
    ("The envoys will meet in Vienna over the coming month.",
     "The envoys will meet in Vienna next month.", None),
    # A superlative read as its adjective.
    ("The mayor called the dam the most expensive option on the table.",
     "The mayor called the dam the cheapest option on the table.", "contradiction"),
    # A condition that opens the sentence; an irregular past of a verb put in the future.
    ("The wells will run dry before the rains.",
     "If nothing is done, the wells run dry before the rains.", "modality"),
    ("If nothing is done, the wells will run dry before the rains.",
     "If nothing is done, the wells run dry before the rains.", None),
    ("The council has taken the dispute to the high court.",
     "The council will take the dispute to the high court.", "modality"),
])
def test_the_meaning_checks(claim: str, passage: str, reason: str | None) -> None:
    assert judge(claim, passage) == reason


def test_a_time_counted_from_the_publication_is_read_against_its_date() -> None:
    def dated(claim: str, passage: str) -> str | None:
        facts = Facts(readings=(read(passage),), speakers=(None,), metadata=read(""),
                      published=dt.date(2025, 9, 15))
        found = finding(read(claim), facts, [0], None)
        return found.reason if found else None

    assert dated("The envoys will meet next month.", "The envoys will meet in October.") is None
    assert dated("The envoys will meet next month.",
                 "The envoys will meet in December.") == "date_mismatch"
    assert dated("The envoys met this week.", "The envoys met in Vienna.") is None
    assert dated("The envoys will meet next year.", "The envoys will meet in 2026.") is None


def test_a_place_moved_to_a_name_the_passage_gives_elsewhere() -> None:
    assert judge("Traders in Selmarq said the delays grew.",
                 "Traders in Port Averin said the delays grew.",
                 "The minister spoke to Radio Selmarq.") == "entity_mismatch"
