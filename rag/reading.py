"""A sentence as the grounding judge reads it: its words as stems, which of them a negation or a
hedge governs, the numbers it states (in digits or words), its names, and its dates.

Rules over words, not a parser (none installs from PyPI with its model, docs/
citation-verification.md): numbers written as words are turned into digits by `text2num`,
dates are parsed by `dateparser`, word relations come from WordNet (`rag.lexicon`).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation

from bm25s.stopwords import STOPWORDS_EN_PLUS
from text_to_num import alpha2digit

from rag.lexicon import (
    DOWN,
    HEDGES,
    MONTHS,
    NEGATING_VERBS,
    NEGATORS,
    NOT_NEGATING_NEXT,
    UP,
    WEEKDAYS,
    stem,
    wordnet,
)
from rag.speech_verbs import REPORTING_STEMS

STOPWORDS = frozenset(STOPWORDS_EN_PLUS)
# "n't" and "can't" spelled out; CLAP-NQ's tokenised text writes "does n't".
_CONTRACTIONS = ((re.compile(r"\b(?:can|ca)\s?n['’]t\b", re.IGNORECASE), "can not"),
                 (re.compile(r"\bwon['’]t\b", re.IGNORECASE), "will not"),
                 (re.compile(r"\s?n['’]t\b", re.IGNORECASE), " not"))
_TOKEN = re.compile(r"\d+(?:[.,]\d+)*|[^\W\d_]+(?:['’][^\W\d_]+)?|[,;:()\"“”—–]|\s[-–]\s")
_POSSESSIVE = re.compile(r"['’]s?$")
_OPENINGS = frozenset({"\"", "“", ":", "(", "—", "–"})
# Words and marks that end a clause: a negation or a hedge reaches no further.
_CLAUSE_ENDS = frozenset({",", ";", ":", "(", ")", "\"", "“", "”", "—", "–", "but", "while",
                          "whereas", "although", "though", "because", "which", "who", "and"})
NEGATION_REACH = 6  # words after a negator it can govern
HEDGE_REACH = 10
# Numbers written as words become digits only when above this ("one" and "first" stay words:
# "no one", "one of the suspects" count nothing).
_NUMBER_WORD_THRESHOLD = 1.5
# A year (4 digits, 1000-2999) or day that a month name stands beside.
_YEAR = re.compile(r"^[12]\d{3}$")


@dataclass(frozen=True)
class Word:
    """One word of a sentence: as written, lower-cased, its stem (base form), and roles."""

    text: str
    lower: str
    stem: str
    content: bool  # not a stopword, not a number
    capital: bool
    number: str | None  # the number it states, written one way ("2400", "4.75")
    month: int | None  # 1-12 when it names a month
    clause: int
    opening: bool = False  # first of the sentence, a quotation or a clause after a colon
    possessive: bool = False  # written with "'s" ("Insider's"), which was taken off


@dataclass(frozen=True)
class DateMention:
    """A date a sentence names: the month, with the day and year when it states them."""

    month: int
    day: int | None
    year: int | None


@dataclass(frozen=True, eq=False)
class Reading:
    words: tuple[Word, ...]
    negated: frozenset[int]  # the words a negation is about ("did not *condemn*")
    negative: frozenset[int]  # every word inside a negation's reach
    hedged: frozenset[int]  # the words a hedge is about ("would consider *contributing*")
    names: tuple[tuple[int, ...], ...]  # runs of name words
    dates: tuple[DateMention, ...]
    weekdays: frozenset[str]

    @functools.cached_property
    def named(self) -> frozenset[int]:
        return frozenset(i for run in self.names for i in run)

    @functools.cached_property
    def stems(self) -> frozenset[str]:
        return frozenset(w.stem for w in self.words if w.content)

    @functools.cached_property
    def lowers(self) -> frozenset[str]:
        return frozenset(w.lower for w in self.words)

    @functools.cached_property
    def numbers(self) -> frozenset[str]:
        return frozenset(w.number for w in self.words if w.number)

    @functools.cached_property
    def shares(self) -> frozenset[str]:
        """The numbers it states as shares, written the other way: "50 percent" as 0.5 ("a
        half"), "25 basis points" as 0.25 ("a quarter of a point"), 0.5 as 50."""
        found = set()
        for i, word in enumerate(self.words):
            if not word.number:
                continue
            value = Decimal(word.number)
            following = self.words[i + 1].lower if i + 1 < len(self.words) else ""
            if following in _PERCENT:  # 25 basis points are 0.25 of a percentage point
                found.add(_written(value / 100))
            elif 0 < value < 1:
                found.add(_written(value * 100))
        return frozenset(found)

    @functools.cached_property
    def times(self) -> frozenset[str]:
        """Times of the calendar it names without a date: seasons ("summer", "the fall" as
        "autumn") and times counted from now ("next month", "last year"; "coming" is
        "next", "past" and "previous" are "last")."""
        found = set()
        for i, word in enumerate(self.words):
            before = self.words[i - 1].lower if i else ""
            if word.lower in _SEASONS and (word.lower != "fall" or before in ("the", "this")):
                found.add(_SEASONS[word.lower])
            if word.stem in _COUNTED_TIMES and before in _COUNTED_FROM_NOW:
                found.add(f"{_COUNTED_FROM_NOW[before]} {word.stem}")
        return frozenset(found)

    @property
    def hedges(self) -> bool:
        """Whether the sentence is hedged anywhere (a plan, an expectation, a condition)."""
        return any(w.lower in HEDGES for w in self.words)

    def context(self, position: int, reach: int = 3) -> frozenset[str]:
        """What a word is said of: the `reach` nearest content stems on each side (numbers,
        names and words of direction left out, so in "decreases capacitance and increases
        resistance" the context of "decreases" holds "capacitance", not "increases")."""
        before = [s for s in reversed(self._plain[:position]) if s][:reach]
        after = [s for s in self._plain[position + 1 :] if s][:reach]
        return frozenset(before + after)

    def reports(self, run: tuple[int, ...]) -> bool:
        """Whether a run of name words is who speaks or is spoken to ("Carrandel said",
        "told the Ledger", "according to Reuters"), not what the sentence is about."""
        before = [w for w in self.words[max(0, run[0] - 2) : run[0]] if w.lower != "the"]
        after = self.words[run[-1] + 1] if run[-1] + 1 < len(self.words) else None
        return bool(before and before[-1].stem in REPORTING_STEMS) or (
            after is not None and after.stem in REPORTING_STEMS)

    def places(self) -> list[tuple[int, tuple[int, ...]]]:
        """Phrases of place and the word they follow: (the word before a preposition of place,
        the content words of the phrase after it, up to `PLACE_REACH` words and through
        "of"): "speaking *at* the bank's headquarters". Phrases of time are left out."""
        found = []
        for i, word in enumerate(self.words[1:], start=1):
            anchor = self.words[i - 1]
            if word.lower not in _PLACE_PREPOSITIONS or not anchor.content \
                    or anchor.clause != word.clause:
                continue
            phrase: list[int] = []
            named = self.named
            for j in range(i + 1, min(len(self.words), i + 1 + PLACE_REACH)):
                following = self.words[j]
                if following.clause != word.clause or following.lower in _PLACE_ENDS:
                    break
                if phrase and phrase[0] in named and j not in named:
                    break  # "traders in Port Averin said": the place is the name
                if following.content:
                    phrase.append(j)
            if phrase and not any(self.words[j].number or self.words[j].month
                                  or self.words[j].lower in _TIMES for j in phrase):
                found.append((i - 1, tuple(phrase)))
        return found

    def text_of(self, first: int, last: int) -> str:
        """Words `first` to `last` as written (without punctuation)."""
        return " ".join(w.text for w in self.words[first : last + 1])

    def slot(self, run: tuple[int, ...]) -> tuple[str | None, str | None]:
        """The place a run of words fills in the sentence's wording: the next word on each side
        that is not a stopword, as its stem or number (None at an end, or where it is a name:
        names do not mark a place)."""
        def mark(position: int | None) -> str | None:
            if position is None or position in self.named:
                return None
            word = self.words[position]
            return word.number or word.stem
        before = next((i for i in range(run[0] - 1, -1, -1)
                       if self.words[i].content or self.words[i].number), None)
        after = next((i for i in range(run[-1] + 1, len(self.words))
                      if self.words[i].content or self.words[i].number), None)
        return mark(before), mark(after)

    @functools.cached_property
    def _plain(self) -> tuple[str | None, ...]:
        """Each word's stem where it can be context, else None."""
        named = self.named
        return tuple(w.stem if w.content and i not in named and w.stem not in UP
                     and w.stem not in DOWN and w.stem not in REPORTING_STEMS else None
                     for i, w in enumerate(self.words))

    def name_text(self, run: tuple[int, ...]) -> str:
        return " ".join(self.words[i].text for i in run)


@functools.lru_cache(maxsize=20_000)
def read(text: str) -> Reading:
    """Read a sentence (cached: passages' sentences are read once for many claims)."""
    normal = _fractions(alpha2digit(_spell_out(text), "en", threshold=_NUMBER_WORD_THRESHOLD))
    words: list[Word] = []
    clause = 0
    opening = True
    lexicon = wordnet()
    for match in _TOKEN.finditer(normal):
        token = match.group().strip()
        lower = token.lower()
        if lower in _CLAUSE_ENDS:
            clause += 1
            if not token.isalpha():
                opening = opening or token in _OPENINGS
                continue
        if token[0].isdigit():
            number = _number(token)
            if number in _SCALES and words and words[-1].number and words[-1].clause == clause:
                # "1.2 million" (text2num writes "1.2 1000000") is 1200000, as "1,200,000" is.
                words[-1] = replace(words[-1], number=_scaled(words[-1].number, number))
                continue
            words.append(Word(token, lower, lower, False, False, number, None, clause))
            opening = False
            continue
        if not token[0].isalpha():
            continue
        bare = _POSSESSIVE.sub("", token) if token[-2:].lower() in ("'s", "’s") else token
        bare_lower = bare.lower()
        base = lexicon.base(stem(bare_lower))
        month = _month(bare_lower)
        words.append(Word(bare, bare_lower, base, bare_lower not in STOPWORDS, bare[0].isupper(),
                          None, month, clause, opening, possessive=bare != token))
        opening = False
    negated, negative = _negations(words)
    return Reading(tuple(words), negated, negative, _hedged(words), _names(words),
                   _dates(words), frozenset(w.lower for w in words if w.lower in WEEKDAYS))


# Fractions as words, after text2num (which writes "a third" as "a 3rd"): "half", "a third",
# "two thirds", "a quarter", read as decimals when nothing a fraction could be the ordinal
# of follows ("a third term", "the first quarter" stay words).
_FRACTION = re.compile(r"\b(?:(a|an|one|\d+)\s+)?(half|halves|3rds?|thirds?|4ths?|quarters?|"
                       r"5ths?|fifths?)\b(?=(\s+[\w']+|\s*[^\w\s]|\s*$))", re.IGNORECASE)
_DENOMINATORS = {"half": 2, "halv": 2, "3rd": 3, "thir": 3, "4th": 4, "quar": 4, "5th": 5,
                 "fift": 5}
# Words a fraction can stand before: "a third of", "by half if", "half a percent".
_AFTER_FRACTION = frozenset({"of", "a", "an", "the", "off", "if", "and", "but", "or", "from",
                             "to", "in", "on", "at", "by", "for", "than", "percent", "point",
                             "percentage", "since", "over", "last", "this", "next", "when"})


def _fractions(text: str) -> str:
    def decimal(match: re.Match) -> str:
        count, word, after = match.group(1), match.group(2).lower(), match.group(3).strip()
        if after[:1].isalnum() and after.lower() not in _AFTER_FRACTION:
            return match.group()
        if not word.startswith("half") and count is None:
            return match.group()  # "third" alone is an ordinal
        times = int(count) if count and count.isdigit() else 1
        if word.startswith("half") and count and count.isdigit():
            return match.group()  # "2 halves": two things, not a share
        value = Decimal(times) / next(n for w, n in _DENOMINATORS.items() if word.startswith(w))
        share = format(round(value, 2).normalize(), "f")
        article = f"{count} " if count and not count.isdigit() else ""
        return f"{article}{share}"
    return _FRACTION.sub(decimal, text)


_SEASONS = {"spring": "spring", "summer": "summer", "autumn": "autumn", "fall": "autumn",
            "winter": "winter"}
_COUNTED_TIMES = frozenset({"week", "month", "year", "weekend", "decad", "centuri"})
_COUNTED_FROM_NOW = {"next": "next", "coming": "next", "last": "last", "past": "last",
                     "previous": "last", "this": "this"}
_PERCENT = frozenset({"percent", "per", "basis", "pct"})


def _written(value: Decimal) -> str:
    """A number as `_number` writes it ("0.50" -> "0.5", "50.0" -> "50")."""
    value = round(value, 2)
    return format(value.normalize(), "f") if value != value.to_integral() else str(int(value))


# Scale words as text2num writes them.
_SCALES = frozenset({"1000", "1000000", "1000000000", "1000000000000"})


def _scaled(number: str, scale: str) -> str:
    """A number times a scale, written as `_number` writes numbers ("1.2" x 10^6: "1200000")."""
    try:
        value = Decimal(number) * int(scale)
    except InvalidOperation:  # "1.2.3": not one number
        return number
    return format(value.normalize(), "f") if value != value.to_integral() else str(int(value))


def _spell_out(text: str) -> str:
    for pattern, replacement in _CONTRACTIONS:
        text = pattern.sub(replacement, text)
    return text


def _number(token: str) -> str:
    """A number written one way: no thousands commas, no leading zeros ("2,400" = "2400")."""
    plain = token.replace(",", "") if re.fullmatch(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?", token) \
        else token.replace(",", ".")
    return re.sub(r"^0+(?=\d)", "", plain)


def _month(lower: str) -> int | None:
    word = lower.rstrip(".")
    if len(word) >= 3 and word[:3] in MONTHS and (word in _MONTH_NAMES):
        return MONTHS.index(word[:3]) + 1
    return None


_MONTH_NAMES = frozenset({
    "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep",
    "sept", "oct", "nov", "dec",
})


def _negations(words: list[Word]) -> tuple[frozenset[int], frozenset[int]]:
    """The words negations are about, and every word within their reach.

    A negator ("not", "no", "never", "without"), a denying verb followed by "to" ("refused to
    sign", "declined to say") or "ruled out" governs the rest of its clause up to
    `NEGATION_REACH` words; it is about the first content word there, and the next one when
    "of" or "to" joins them ("ruled out the possibility of *talks*", "not want to *sign*").
    """
    about: set[int] = set()
    reach: set[int] = set()
    for i in range(len(words)):
        following = words[i + 1] if i + 1 < len(words) else None
        start = _negation_start(words, i)
        if start is None or (following is not None and following.lower in NOT_NEGATING_NEXT):
            continue
        scope = [j for j in range(start, min(len(words), start + NEGATION_REACH))
                 if words[j].clause == words[start - 1].clause]
        reach.update(scope)
        heads = [j for j in scope if words[j].content and words[j].lower != "out"]
        if not heads:
            continue
        first = heads[0]
        if words[first].lower.endswith("ly") and len(heads) > 1:  # "not directly intervene"
            first = heads[1]
        about.add(first)
        if first + 2 < len(words) and words[first + 1].lower in ("of", "to") \
                and words[first + 2].content:
            about.add(first + 2)
    return frozenset(about), frozenset(reach)


def _negation_start(words: list[Word], i: int) -> int | None:
    """Where the reach of a negation starting at word `i` begins, or None if it is none:
    after a negator; after the "to" of a denying verb ("refused on Monday to *hear*"); after
    "ruled out", "rather than", "instead of"."""
    word = words[i]
    following = words[i + 1].lower if i + 1 < len(words) else None
    if word.lower in NEGATORS:
        return i + 1
    if word.stem in NEGATING_VERBS:
        to = next((j for j in range(i + 1, min(len(words), i + 5)) if words[j].lower == "to"),
                  None)
        return to + 1 if to is not None else None
    if (word.lower, following) in _NEGATING_PAIRS:
        return i + 2
    return None


_NEGATING_PAIRS = frozenset({("ruled", "out"), ("rule", "out"), ("rules", "out"),
                             ("ruling", "out"), ("rather", "than"), ("instead", "of")})


def _hedged(words: list[Word]) -> frozenset[int]:
    """What hedges are about: the first two content words after each ("would consider
    *contributing troops*", "plans to *build* a rail *link*"), in its clause."""
    about: set[int] = set()
    for i, word in enumerate(words):
        if _hedges(words, i):
            heads = [j for j in range(i + 1, min(len(words), i + 1 + HEDGE_REACH))
                     if words[j].clause == word.clause and words[j].content]
            about.update(heads[:2])
    return frozenset(about)


def _hedges(words: list[Word], i: int) -> bool:
    """Whether word `i` hedges what follows ("plans to", not the noun "plans")."""
    word = words[i]
    if word.lower in _HEDGING_BEFORE_TO:
        return i + 1 < len(words) and words[i + 1].lower == "to"
    return word.lower in HEDGES


_HEDGING_BEFORE_TO = frozenset({"plan", "plans", "planning", "hope", "hopes", "aim", "aims"})


def _names(words: list[Word]) -> tuple[tuple[int, ...], ...]:
    """Runs of capitalised words that name someone or something.

    A capitalised word opening a sentence or a quotation is a name only when it is not an
    ordinary English word (WordNet's lower-case lemmas); months, weekdays and pronouns
    are not names.
    """
    lexicon = wordnet()
    runs: list[tuple[int, ...]] = []
    run: list[int] = []
    for i, word in enumerate(words):
        is_name = (word.capital and word.month is None and word.lower not in WEEKDAYS
                   and word.lower not in _PRONOUNS and word.number is None
                   and not (word.opening and (word.lower in STOPWORDS
                                              or lexicon.is_common(word.stem))))
        joins = (run and word.lower in ("of", "and", "de", "al", "e") and i + 1 < len(words)
                 and words[i + 1].capital)
        if is_name or joins:
            run.append(i)
        else:
            if run:
                runs.append(tuple(run))
            run = []
    if run:
        runs.append(tuple(run))
    return tuple(runs)


# Prepositions of place, the words a phrase of place reaches, and the words that make one a
# phrase of time ("on Monday", "in the morning").
_PLACE_PREPOSITIONS = frozenset({"at", "in", "on", "near", "outside", "inside", "beside",
                                 "behind", "across", "along", "off", "into", "onto", "within",
                                 "around", "toward", "towards", "beneath", "under", "above"})
PLACE_REACH = 5
# Words a phrase of place ends before: other prepositions, and adverbs of time or sequence
# ("speaking in parliament *later* on Wednesday").
_PLACE_ENDS = _PLACE_PREPOSITIONS | {"that", "later", "earlier", "then", "now", "again", "also",
                                     "still", "soon", "recently", "ago", "after", "before",
                                     "since", "when", "where", "while", "until", "during"}
_TIMES = frozenset({*WEEKDAYS, "morning", "afternoon", "evening", "night", "day", "week",
                    "weekend", "month", "year", "time", "spring", "summer", "autumn", "fall",
                    "winter", "today", "yesterday", "tomorrow", "hour", "hours", "minutes",
                    "past", "future", "moment", "period", "decade", "century", "era",
                    "season", "days", "weeks", "months", "years", "times", "end", "start",
                    "beginning", "middle", "wake", "run", "meantime"})

# Pronouns are never names, capitalised or not ("..., and It is bordered by").
_PRONOUNS = frozenset({"i", "it", "he", "she", "they", "we", "you", "his", "her", "its",
                       "their", "our", "this", "that", "these", "those"})


def _dates(words: list[Word]) -> tuple[DateMention, ...]:
    """Month mentions with the day and year beside them ("Nov. 2023", "15 January 2026",
    "January 8", "Sept. 11, 2001"), parsed by dateparser."""
    found = []
    for i, word in enumerate(words):
        if word.month is None or (word.lower == "may" and not _beside_number(words, i)):
            continue
        near = [w.text for w in words[max(0, i - 1) : i + 3] if w.number or w is word]
        found.append(_parsed(" ".join(near), word.month))
    return tuple(found)


def _beside_number(words: list[Word], i: int) -> bool:
    return any(0 <= j < len(words) and words[j].number for j in (i - 1, i + 1))


@functools.lru_cache(maxsize=4096)
def _parsed(phrase: str, month: int) -> DateMention:
    """The month, day and year a phrase such as "15 January 2026" states."""
    import dateparser

    numbers = re.findall(r"\d+", phrase)
    year = next((int(n) for n in numbers if _YEAR.match(n)), None)
    day = next((int(n) for n in numbers if len(n) <= 2 and 1 <= int(n) <= 31), None)
    parsed = dateparser.parse(phrase, languages=["en"],
                              settings={"PREFER_DAY_OF_MONTH": "first",
                                        "RELATIVE_BASE": dt.datetime(2000, 1, 1)})
    if parsed is not None and parsed.month == month:
        return DateMention(month, parsed.day if day else None, parsed.year if year else None)
    return DateMention(month, day, year)
