"""Whether a passage states what a claim says, beyond sharing its words: the checks that catch a
fabrication built from the passage's own words, each with the reason it gives. The checks, their
order and what each measured: docs/citation-verification.md, "When a passage supports a
sentence".
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rag.lexicon import (
    DOWN,
    GENERIC_NAME_WORDS,
    HEDGES,
    QUANTIFIERS,
    UP,
    WEEKDAYS,
    privative,
    stem,
    wordnet,
)
from rag.question import same_person
from rag.reading import DateMention, Reading, Word, read

# Who spoke each of a text's sentences (given as offsets), None where nobody is quoted; the
# API passes index/speakers.py's attribution, so rag/ needs no import of it.
Attribute = Callable[[str, Sequence[tuple[int, int]]], list[str | None]]

# Reasons a claim is not supported, most specific first.
REASONS = ("number_mismatch", "date_mismatch", "wrong_speaker", "entity_not_in_source",
           "entity_mismatch", "negation", "contradiction", "quantifier", "modality",
           "low_overlap")
_YEAR = re.compile(r"^1[5-9]\d\d$|^20\d\d$")
_PREFIX = 5  # name words match by this many leading letters: "Afghans" is "Afghanistan"
_FUTURE = frozenset({"will", "would", "shall"})
# Content words two words must share around them to be said of the same thing.
_CONTEXT_SHARED = 2
_CONDITIONS = frozenset({"if", "unless"})
# Share of the conditioned clause's content words a claim must repeat to be stating it.
_CONDITIONED_SHARE = 0.7


@dataclass(frozen=True)
class Finding:
    """Why a claim is not supported by a passage: a reason of `REASONS` and what showed it."""

    reason: str
    detail: str


@dataclass(frozen=True)
class Facts:
    """What the checks read from a whole passage: its words, numbers, dates and speakers."""

    readings: tuple[Reading, ...]  # one per sentence
    speakers: tuple[str | None, ...]  # one per sentence
    metadata: Reading  # title, outlet and date, as the prompt showed them
    published: dt.date | None

    @functools.cached_property
    def words(self) -> frozenset[str]:
        return _passage_words(self)

    @functools.cached_property
    def numbers(self) -> frozenset[str]:
        readings = (self.metadata, *self.readings)
        return frozenset().union(*(r.numbers for r in readings), *(r.shares for r in readings))


def _passage_words(facts: Facts) -> frozenset[str]:
    return frozenset().union(facts.metadata.lowers, *(r.lowers for r in facts.readings))


def cheap_finding(claim: Reading, facts: Facts) -> Finding | None:
    """The reasons that need no alignment: numbers, dates and names the passage lacks."""
    missing = sorted(claim.numbers - facts.numbers)
    if missing:
        return Finding("number_mismatch", f"the passage does not state {', '.join(missing)}")
    date = _missing_date(claim, facts)
    if date:
        return Finding("date_mismatch", f"the passage does not give the date {date}")
    name = _missing_name(claim, facts)
    if name:
        return Finding("entity_not_in_source", f"the passage does not name {name}")
    return None


def finding(claim: Reading, facts: Facts, evidence: Sequence[int],
            claim_speaker: str | None) -> Finding | None:
    """Why the passage does not support the claim, or None when nothing shows it.

    `evidence` are the indexes of the passage sentences the claim is about (its nearest
    sentence first); `claim_speaker` is who the claim says spoke, when it says so.
    """
    sentences = [facts.readings[i] for i in evidence]
    checks = (
        lambda: cheap_finding(claim, facts) if claim.numbers - facts.numbers
        else _swapped_number(claim, sentences),
        lambda: _date_finding(claim, facts),
        lambda: _speaker_finding(claim_speaker, [facts.speakers[i] for i in evidence[:1]]),
        lambda: _name_finding(claim, facts, sentences, claim_speaker),
        lambda: _negation(claim, sentences),
        lambda: _contradiction(claim, sentences),
        lambda: _quantifier(claim, sentences),
        lambda: _modality(claim, sentences),
    )
    for check in checks:
        found = check()
        if found:
            return found
    return None


# ---- numbers, dates, names -----------------------------------------------------------------

def _swapped_number(claim: Reading, sentences: list[Reading]) -> Finding | None:
    """A number the passage gives, but not here: where the passage's sentence gives another
    number of the same thing (the same word after it, or both years), said of the same thing."""
    for position, word in enumerate(claim.words):
        if not word.number:
            continue
        context = claim.context(position)
        unit = _unit(claim, position)
        own = other = 0
        other_value = None
        for sentence in sentences:
            for j, candidate in enumerate(sentence.words):
                if not candidate.number:
                    continue
                overlap = len(context & sentence.context(j))
                if candidate.number == word.number:
                    own = max(own, overlap)
                elif (candidate.number not in claim.numbers and _unit(sentence, j) == unit
                      and overlap > other):
                    other, other_value = overlap, candidate.number
        if other >= _CONTEXT_SHARED and not own:
            return Finding("number_mismatch",
                           f"the passage gives {other_value} where the claim says {word.text}")
        measured = _measured_otherwise(claim, position, sentences)
        if measured:
            return Finding("number_mismatch", f"the passage gives {word.text} {measured} where "
                                              f"the claim says {word.text} "
                                              f"{claim.words[position + 1].text}")
    return None


# Units of measure, as stems, by what they measure: the same number in another unit of the
# same measure ("two days" / "two weeks") is another quantity.
_MEASURES = {
    **dict.fromkeys(("second", "minut", "hour", "day", "week", "month", "year", "decad",
                     "centuri"), "time"),
    **dict.fromkeys(("metr", "meter", "kilometr", "kilomet", "km", "mile", "cm", "mm"),
                    "length"),
    **dict.fromkeys(("hectar", "acr"), "area"),
    **dict.fromkeys(("kg", "kilogram", "kilo", "gram", "tonn", "ton", "pound"), "weight"),
}
_SAME_UNITS = {"km": "kilometr", "kilomet": "kilometr", "meter": "metr", "ton": "tonn"}


def _measured_otherwise(claim: Reading, position: int, sentences: list[Reading]) -> str | None:
    """The unit a passage sentence gives the claim's number in, of the claim unit's measure
    but another unit, said of the same thing; None when any sentence gives the claim's unit
    (or none) to that number."""
    unit = _unit(claim, position)
    measure = _MEASURES.get(unit or "")
    if measure is None:
        return None
    other = None
    for sentence in sentences:
        for j, candidate in enumerate(sentence.words):
            if candidate.number != claim.words[position].number:
                continue
            theirs = _unit(sentence, j)
            if _SAME_UNITS.get(theirs or "", theirs) == _SAME_UNITS.get(unit or "", unit):
                return None
            if (_MEASURES.get(theirs or "") == measure and len(
                    claim.context(position) & sentence.context(j)) >= _CONTEXT_SHARED):
                other = sentence.words[j + 1].text
    return other


def _unit(reading: Reading, position: int) -> str | None:
    """What a number counts: "year" for a year, else the stem of the word after it."""
    if _YEAR.match(reading.words[position].number or ""):
        return "year"
    following = reading.words[position + 1] if position + 1 < len(reading.words) else None
    return following.stem if following is not None and not following.number else None


def _date_finding(claim: Reading, facts: Facts) -> Finding | None:
    date = _missing_date(claim, facts)
    return Finding("date_mismatch", f"the passage does not give the date {date}") if date \
        else None


def _missing_date(claim: Reading, facts: Facts) -> str | None:
    """A date or weekday of the claim that no date of the passage (or its publication) fits."""
    given = [d for r in (*facts.readings, facts.metadata) for d in r.dates]
    weekdays = set().union(*(r.weekdays for r in facts.readings))
    if facts.published:
        given.append(DateMention(facts.published.month, facts.published.day,
                                 facts.published.year))
        weekdays.add(WEEKDAYS[facts.published.weekday()])
    for date in claim.dates:
        if not any(_fits(date, other) for other in given):
            return _date_text(date)
    missing = sorted(claim.weekdays - weekdays)
    if missing:
        return missing[0].capitalize()
    times = frozenset().union(*(r.times for r in (*facts.readings, facts.metadata)))
    for time in sorted(claim.times - times):
        if not _dated(time, facts, given):
            return time
    return None


_FROM_NOW = {"next": 1, "last": -1, "this": 0}


def _dated(time: str, facts: Facts, given: list[DateMention]) -> bool:
    """Whether the passage gives, as a date, the month or year a time counted from its
    publication names ("next month" in a passage of September that says "October"); "this
    week" or "this year" is the publication's own, when it has a date."""
    counted, _, unit = time.partition(" ")
    if facts.published is None or counted not in _FROM_NOW:
        return False
    if counted == "this":
        return True
    if unit == "year":
        return str(facts.published.year + _FROM_NOW[counted]) in facts.numbers
    if unit == "month":
        month = (facts.published.month - 1 + _FROM_NOW[counted]) % 12 + 1
        return any(d.month == month for d in given)
    return False


def _fits(claim: DateMention, passage: DateMention) -> bool:
    return (claim.month == passage.month
            and (claim.day is None or passage.day is None or claim.day == passage.day)
            and (claim.year is None or passage.year is None or claim.year == passage.year))


def _date_text(date: DateMention) -> str:
    month = dt.date(2000, date.month, 1).strftime("%B")
    return " ".join(str(p) for p in (date.day, month, date.year) if p)


def _missing_name(claim: Reading, facts: Facts) -> str | None:
    words = facts.words
    for run in claim.names:
        for i in run:
            word = claim.words[i]
            if word.stem in GENERIC_NAME_WORDS or word.lower in GENERIC_NAME_WORDS:
                continue
            if not _named(word.lower, words, facts):
                return claim.name_text(run)
    return None


def _named(lower: str, words: frozenset[str], facts: Facts) -> bool:
    """Whether the passage names this word: itself, a form sharing its first letters
    ("Afghan" / "Afghanistan", "Iran" / "Iranian"), or the initials it abbreviates ("US")."""
    lower = _plain(lower.replace(".", ""))
    words = frozenset(_plain(w) for w in words)
    if lower in words or any(_related_forms(lower, other) for other in words):
        return True
    if 2 <= len(lower) <= 5:
        return lower in _initials(facts)
    return False


def _plain(word: str) -> str:
    """A word without accents ("Khloé" is "Khloe")."""
    if word.isascii():
        return word
    return "".join(c for c in unicodedata.normalize("NFKD", word)
                   if not unicodedata.combining(c))


def _initials(facts: Facts) -> set[str]:
    found = set()
    for reading in (*facts.readings, facts.metadata):
        for run in reading.names:
            letters = "".join(reading.words[i].text[0] for i in run
                              if reading.words[i].capital)
            found.add(letters.lower())
    return found


def _name_finding(claim: Reading, facts: Facts, sentences: list[Reading],
                  claim_speaker: str | None) -> Finding | None:
    name = _missing_name(claim, facts)
    if name:
        return Finding("entity_not_in_source", f"the passage does not name {name}")
    return (_altered_name(claim, facts) or _swapped_name(claim, sentences, claim_speaker)
            or _moved_place(claim, sentences))


def _altered_name(claim: Reading, facts: Facts) -> Finding | None:
    """A name of several words that the passage writes with one of them changed: every word
    is in the passage, but where the passage names the rest, it gives another word instead
    ("the Central Bank of Kessa" for "the Cooperative Bank of Kessa", "Ana Malinde" for
    "Ana Ferreyra and Joost Malinde"). Names joined by "and" or a possessive are read one
    by one."""
    passage_runs = [(reading, run) for reading in (*facts.readings, facts.metadata)
                    for run in _single_names(reading)]
    for run in _single_names(claim):
        words = _name_words(claim, run)
        if len(words) < 2:
            continue
        sharing = [(reading, other) for reading, other in passage_runs
                   if _same_names(_name_words(reading, other), words)]
        if not sharing or any(all(_same_names({word}, _name_words(reading, other))
                                  for word in words) for reading, other in sharing):
            continue
        reading, other = sharing[0]
        if any(not _same_names({word}, words) for word in _name_words(reading, other)):
            return Finding("entity_mismatch", f"the passage names {reading.name_text(other)}"
                                              f", not {claim.name_text(run)}")
    return None


def _single_names(reading: Reading) -> list[tuple[int, ...]]:
    """A reading's runs of name words, split where "and" joins two names or a possessive
    ends one ("TV Insider's Michael Logan")."""
    runs = []
    for run in reading.names:
        part: list[int] = []
        for i in run:
            if reading.words[i].lower == "and":
                runs.append(tuple(part))
                part = []
                continue
            part.append(i)
            if reading.words[i].possessive:
                runs.append(tuple(part))
                part = []
        runs.append(tuple(part))
    return [run for run in runs if run]


def _moved_place(claim: Reading, sentences: list[Reading]) -> Finding | None:
    """A place the claim puts where its sentences put another: after the same word, a phrase
    of place that shares no word with the passage's ("speaking at the bank's headquarters"
    where the passage says "speaking in parliament"; "a plant near the reserve" for "a plant
    on the edge of the harbour"), in a sentence that does not name the claim's place at all.
    Times ("on Monday", "in 2019") are left to the date check."""
    for anchor, phrase in claim.places():
        words = {claim.words[i].stem for i in phrase}
        stem = claim.words[anchor].stem
        found = [(sentence, other) for sentence in sentences
                 for other_anchor, other in sentence.places()
                 if sentence.words[other_anchor].stem == stem]
        if any(_shares(words, frozenset(s.words[i].stem for i in other)) for s, other in found):
            continue
        for sentence, other in found:
            if not words & sentence.stems:  # "in Mir Ali, in the tribal area" says both
                return Finding("entity_mismatch", f"the passage says “"
                               f"{sentence.text_of(other[0] - 1, other[-1])}” where the claim "
                               f"says “{claim.text_of(phrase[0] - 1, phrase[-1])}”")
    return None


def _shares(words: set[str], others: frozenset[str]) -> bool:
    """Whether two sets of stems share a word, or forms of one ("south" / "southern")."""
    return bool(words & others) or any(_related_forms(a, b) for a in words for b in others)


def _name_words(reading: Reading, run: tuple[int, ...]) -> set[str]:
    """The words of a name that tell it apart (not "Bank", "of", "Minister")."""
    return {_plain(reading.words[i].lower) for i in run
            if reading.words[i].stem not in GENERIC_NAME_WORDS
            and reading.words[i].lower not in GENERIC_NAME_WORDS}


def _swapped_name(claim: Reading, sentences: list[Reading],
                  claim_speaker: str | None) -> Finding | None:
    """A name the passage holds, but where its sentence names someone or something else (the
    claim's speaker is left to the speaker check): a name the claim does not give, in a
    sentence without the claim's name; or another name of the claim, in the very words the
    claim puts around its own (two names trading places: "the crisis in Turkey was far more
    intense than the one in Greece" where the passage says "the crisis in Greece was far more
    intense")."""
    claim_names = {claim.words[i].lower for run in claim.names for i in run}
    for run in claim.names:
        position = run[0]
        word = claim.words[position]
        if word.stem in GENERIC_NAME_WORDS or (
                claim_speaker and same_person(claim.name_text(run), claim_speaker)):
            continue
        context = claim.context(position) | claim.context(run[-1])
        lowers = {claim.words[i].lower for i in run}
        slot = claim.slot(run)
        own, other, other_name = 0, 0, None
        swapped_name, in_own_slot = None, False
        for sentence in sentences:
            holds_it = _same_names(lowers, sentence.lowers)
            for other_run in sentence.names:
                names = {sentence.words[i].lower for i in other_run}
                overlap = len(context & (sentence.context(other_run[0])
                                         | sentence.context(other_run[-1])))
                if _same_names(names, lowers):
                    own = max(own, overlap)
                    in_own_slot = in_own_slot or sentence.slot(other_run) == slot
                elif _same_names(names, claim_names):
                    if holds_it and None not in slot and sentence.slot(other_run) == slot:
                        swapped_name = sentence.name_text(other_run)
                elif not holds_it and overlap > other and not sentence.reports(other_run):
                    other, other_name = overlap, sentence.name_text(other_run)
        if other >= _CONTEXT_SHARED and other > own and own < _CONTEXT_SHARED:
            return Finding("entity_mismatch", f"the passage names {other_name} where the claim "
                                              f"names {claim.name_text(run)}")
        if swapped_name and not in_own_slot:
            return Finding("entity_mismatch", f"the passage says of {swapped_name} what the "
                                              f"claim says of {claim.name_text(run)}")
    return None


def _same_names(names: set[str], others: set[str]) -> bool:
    """Whether two sets of name words share a name, written alike or as forms of one name
    ("Mexican" / "Mexico", "Afghan" / "Afghanistan")."""
    return any(_plain(a) == _plain(b) or _related_forms(_plain(a), _plain(b))
               for a in names for b in others)


def _related_forms(a: str, b: str) -> bool:
    if len(a) >= _PREFIX and len(b) >= _PREFIX and a[:_PREFIX] == b[:_PREFIX]:
        return True
    return min(len(a), len(b)) >= 4 and (a.startswith(b) or b.startswith(a))


# ---- speaker ---------------------------------------------------------------------------------

def _speaker_finding(claim_speaker: str | None,
                     speakers: list[str | None]) -> Finding | None:
    """The claim names who spoke, and the passage sentences it is about were someone else's."""
    if not claim_speaker:
        return None
    known = [s for s in speakers if s]
    if not known or any(_same_speaker(claim_speaker, s) for s in known):
        return None
    return Finding("wrong_speaker", f"the passage attributes this to {known[0]}, not to "
                                    f"{claim_speaker}")


def _same_speaker(claim: str, passage: str) -> bool:
    """Whether two ways of naming a speaker name one: the same family name; one word of the
    other's name ("Sasuke" for "Sasuke Uchiha"); or its initials ("ISPR" for "Inter-Services
    Public Relations")."""
    if same_person(claim, passage) or same_person(passage, claim):
        return True
    words = [w for w in re.split(r"[\s-]+", claim) if w]
    other = [w for w in re.split(r"[\s-]+", passage) if w]
    short, long = sorted((words, other), key=len)
    if len(short) == 1:
        lowered = short[0].lower().replace(".", "")
        return lowered in {w.lower() for w in long} or lowered == "".join(
            w[0] for w in long if w[0].isupper()).lower()
    return False


# ---- negation, opposites, quantifiers, modality ------------------------------------------------

def _negation(claim: Reading, sentences: list[Reading]) -> Finding | None:
    """One side denies what the other asserts of the same thing (the words around agree), and
    nothing denies it there. The claim's denials are held to its nearest sentence."""
    for position in claim.negated:
        word = claim.words[position]
        context = claim.context(position)
        nearest = sentences[0]
        asserted = any(w.stem == word.stem and j not in nearest.negative
                       and context & nearest.context(j) for j, w in enumerate(nearest.words))
        denied = any(w.stem == word.stem and j in s.negative
                     for s in sentences for j, w in enumerate(s.words))
        if asserted and not denied:
            return Finding("negation", f"the passage does not deny “{word.text}”")
        stated = _stated_instead(claim, position, nearest)
        if stated is not None:
            return Finding("negation", f"the passage says “{stated}” where the claim says "
                                       f"“not {word.text}”")
    for sentence in sentences:
        for position in sentence.negated:
            word = sentence.words[position]
            context = sentence.context(position)
            asserted = any(w.stem == word.stem and j not in claim.negative
                           and context & claim.context(j) for j, w in enumerate(claim.words))
            denied = any(w.stem == word.stem and j in claim.negative
                         for j, w in enumerate(claim.words))
            if asserted and not denied:
                return Finding("negation", f"the passage denies “{word.text}”")
    return None


def _stated_instead(claim: Reading, position: int, sentence: Reading) -> str | None:
    """The word a sentence that denies nothing asserts where the claim denies its word at
    `position`, of the same thing ("would hit the valley's harvest" against "would not hurt
    the valley's harvest": the same word follows, the words around agree); None when there
    is none, or when the word itself denies (an opposite, "failed", "spared")."""
    if sentence.negative:
        return None
    lexicon = wordnet()
    word = claim.words[position]
    after = claim.slot((position,))[1]
    context = claim.context(position)
    for j, other in enumerate(sentence.words):
        if (other.content and j not in sentence.named and other.stem not in claim.stems
                and after is not None and sentence.slot((j,))[1] == after
                and len(context & sentence.context(j)) >= _CONTEXT_SHARED
                and other.stem not in privative() and other.lower not in HEDGES
                and not lexicon.opposed(word.stem, other.stem)):
            return other.text
    return None


def _contradiction(claim: Reading, sentences: list[Reading]) -> Finding | None:
    """An opposite of a claim's word said of the same thing (the words around them agree),
    with no word of the claim's own sense said there more closely."""
    lexicon = wordnet()
    for position, word in enumerate(claim.words):
        if not (word.content or word.stem in UP or word.stem in DOWN) \
                or position in claim.named or not lexicon.has_opposite(word.stem):
            continue
        context = claim.context(position)
        agree = oppose = 0
        opposite = None
        for sentence in sentences:
            for j, other in enumerate(sentence.words):
                overlap = len(context & sentence.context(j))
                if other.stem == word.stem or _same_direction(other.stem, word.stem):
                    agree = max(agree, overlap)
                elif overlap >= _CONTEXT_SHARED and j not in sentence.named \
                        and lexicon.opposed(word.stem, other.stem) \
                        and (other.stem not in claim.stems  # "kept being violated" says both
                             or (_directional(word.stem) and _directional(other.stem))):
                    if (position in claim.negative) != (j in sentence.negative):
                        continue  # "did not rise" says what "fell" says
                    if overlap > oppose:
                        oppose, opposite = overlap, other.text
        if oppose > agree:
            return Finding("contradiction",
                           f"the passage says “{opposite}” where the claim says “{word.text}”")
    return None


def _directional(stem: str) -> bool:
    return stem in UP or stem in DOWN


def _same_direction(a: str, b: str) -> bool:
    return (a in UP and b in UP) or (a in DOWN and b in DOWN)


def _quantifier(claim: Reading, sentences: list[Reading]) -> Finding | None:
    """An absolute of the claim that its sentences do not say. "All" floated after the verb
    or a pronoun ("pools and car washing are all banned", "they all") only gathers what the
    claim has listed, and says nothing more."""
    said = frozenset().union(*(s.lowers for s in sentences))
    for i, word in enumerate(claim.words):
        floated = word.lower in _FLOATING and i > 0 and claim.words[i - 1].lower in _HOSTS
        if word.lower in QUANTIFIERS and word.lower not in said and not floated:
            return Finding("quantifier", f"the passage does not say “{word.text}”")
    return None


_FLOATING = frozenset({"all", "both", "each"})
# Words a floating quantifier follows: forms of "be" and "have", modals, plural pronouns.
_HOSTS = frozenset({"are", "were", "is", "was", "be", "been", "have", "had", "has", "will",
                    "would", "can", "could", "may", "might", "must", "should", "they", "we",
                    "you", "these", "those", "them", "us"})


def _modality(claim: Reading, sentences: list[Reading]) -> Finding | None:
    """The passage plans, expects or conditions (or puts in the future) what the claim states
    as settled."""
    if claim.hedges:
        return None
    stems = claim.stems
    for sentence in sentences:
        for j in sorted(sentence.hedged):
            word = sentence.words[j]
            hedged = _said_of(claim, word.stem, sentence.context(j))
            if word.content and hedged and hedged > _stated(claim, word.stem, sentences):
                hedge = next(w.text for w in reversed(sentence.words[:j]) if w.lower in HEDGES)
                return Finding("modality", f"the passage says “{hedge}”: not a settled fact")
    nearest = sentences[0]
    condition = next((j for j, w in enumerate(nearest.words) if w.lower in _CONDITIONS), None)
    if condition is not None:
        word = nearest.words[condition]
        opens = condition == 0 or nearest.words[condition - 1].clause != word.clause
        if opens:  # "If we do nothing, the taps run dry": what follows the condition's clause
            stated = {w.stem for w in nearest.words[condition:] if w.content
                      and w.clause == word.clause + 1}
        else:
            clause = nearest.words[condition - 1].clause
            stated = {w.stem for w in nearest.words[:condition]
                      if w.content and w.clause == clause}
        if len(stated) >= 2 and len(stated & stems) >= _CONDITIONED_SHARE * len(stated):
            return Finding("modality", f"the passage says “{nearest.words[condition].text}”: "
                                       "a condition the claim leaves out")
    future = {_verb_after(sentence, j) for sentence in sentences
              for j, w in enumerate(sentence.words) if w.lower in _FUTURE}
    if any(w.lower in _FUTURE for w in claim.words):
        return None
    for word in claim.words:
        if word.stem in future and (word.lower.endswith("ed") or _irregular_past(word)):
            return Finding("modality", f"the passage puts “{word.text}” in the future")
    return None


def _irregular_past(word: Word) -> bool:
    """Whether a word is an irregular form WordNet gives of its base ("taken", "began")."""
    return stem(word.lower) != word.stem and not word.lower.endswith("s")


def _said_of(claim: Reading, stem: str, context: frozenset[str]) -> int:
    """How many context words the claim's nearest use of `stem` shares with `context`."""
    return max((len(context & claim.context(i)) for i, w in enumerate(claim.words)
                if w.stem == stem), default=0)


def _stated(claim: Reading, stem: str, sentences: list[Reading]) -> int:
    """How closely the sentences state `stem` plainly (no hedge on it) of what the claim says
    it of: the most context words shared, 0 when they never state it plainly."""
    return max((_said_of(claim, stem, sentence.context(j)) for sentence in sentences
                for j, w in enumerate(sentence.words)
                if w.stem == stem and j not in sentence.hedged), default=0)


def _verb_after(sentence: Reading, position: int) -> str | None:
    """The verb a "will"/"would" carries ("would *arrive*", "will be *fined*", "will try to
    *start*")."""
    following = [w for w in sentence.words[position + 1 : position + 5]
                 if w.lower not in ("be", "not", "have", "to") and w.lower not in HEDGES]
    return following[0].stem if following else None


def readings(texts: Sequence[str]) -> tuple[Reading, ...]:
    return tuple(read(text) for text in texts)
