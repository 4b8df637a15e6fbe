"""A question's time words read as a range of publication dates ("in 2024", "last week", "since
January") or as an order by recency ("latest", "now"), counted from an anchor date; the dates
themselves are parsed by dateparser (docs/answering.md, "Time in questions").
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
import re
from dataclasses import dataclass

from bm25s.stopwords import STOPWORDS_EN_PLUS
from dateparser.date import DateDataParser

# --- the words a time phrase is made of ------------------------------------------------------

_MONTHS = (r"(?:Jan(?:uary|\.)?|Feb(?:ruary|\.)?|Mar(?:ch|\.)?|Apr(?:il|\.)?|May|June?|"
           r"July?|Aug(?:ust|\.)?|Sep(?:t(?:ember|\.)?|\.)?|Oct(?:ober|\.)?|Nov(?:ember|\.)?|"
           r"Dec(?:ember|\.)?)")
_YEAR = r"(?:1[89]\d\d|2[01]\d\d)"
_DAY = r"(?:[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?"
# A month, with its day and year when given: "March", "March 2024", "March 3, 2024", "3 March".
_MONTH_DATE = (rf"(?:{_DAY}\s+{_MONTHS}(?:,?\s+{_YEAR})?"
               rf"|{_MONTHS}(?:\s+{_DAY}(?!\d))?(?:,?\s+{_YEAR})?)(?![\w-])")
_ISO = r"(?:\d{4}-\d{2}-\d{2})"
_QUARTER = rf"(?:Q[1-4]\s+{_YEAR})"
# A year is a time only where no noun follows it: "in 2024" and "in 2024, ...", never "in
# 2024 elections" or "the 2024 Summer Olympics" (see `_year_is_time`).
_BARE_YEAR = rf"(?:(?:the\s+year\s+)?{_YEAR})(?![\w-])"
_NUMBER = r"(?:\d{1,3}|a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)"
_UNIT = r"(?:day|week|month|year)s?"
# Relative to the anchor, and a whole calendar unit: "last week", "this year", "yesterday",
# "two weeks ago", "last Friday".
_CALENDAR = (rf"(?:(?:last|this|previous|current)\s+(?:week|month|year)|yesterday|today"
             rf"|{_NUMBER}\s+{_UNIT}\s+ago"
             r"|last\s+(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday))")
# A window ending at the anchor: "the past week", "the last 30 days", "over the past two months".
_WINDOW = (rf"(?:(?:in|over|during|within)\s+)?(?:(?:the\s+)?past\s+(?:(?P<count>{_NUMBER})\s+)?"
           rf"|(?:the\s+)?(?:last|previous)\s+(?P<counted>{_NUMBER})\s+"
           rf"|the\s+(?:last|previous)\s+)(?P<unit>{_UNIT})")
_WHEN = (rf"(?:{_ISO}|{_QUARTER}|{_MONTH_DATE}|{_BARE_YEAR}|{_CALENDAR})")
_IN = r"(?:in|during|throughout)"
_AFTER = r"(?:since|after|from)"
_BEFORE = r"(?:before|prior\s+to)"
_UNTIL = r"(?:until|till|through|up\s+to|by\s+the\s+end\s+of)"

_PHRASES = re.compile(
    rf"\b(?:between\s+(?P<between>{_WHEN})\s+and\s+(?P<and>{_WHEN})"
    rf"|from\s+(?P<from>{_WHEN})\s+(?:to|until|till|through)\s+(?P<to>{_WHEN})"
    rf"|(?P<after_word>{_AFTER})\s+(?P<after>{_WHEN})"
    rf"|{_BEFORE}\s+(?P<before>{_WHEN})"
    rf"|{_UNTIL}\s+(?P<until>{_WHEN})"
    rf"|(?P<window>{_WINDOW})"
    rf"|(?:{_IN}\s+(?:(?:early|mid|late)[\s-]+)?)?(?P<within>{_WHEN}))",
    re.IGNORECASE,
)
# Words that ask for the newest reports first rather than for a range.
_RECENT = re.compile(r"\b(?:latest|most\s+recent(?:ly)?|newest|recent(?:ly)?|currently|"
                     r"right\s+now|these\s+days|at\s+present|as\s+of\s+now|now)\b(?!-)",
                     re.IGNORECASE)
_ADVERB = re.compile(r"most\s+recently|recently|currently|right\s+now|these\s+days|"
                     r"at\s+present|as\s+of\s+now|now", re.IGNORECASE)
# A phrase that must begin with a time preposition: a bare month or year is too often
# something else ("May" the modal, "March" a name, "2024" a count).
_NEEDS_PREPOSITION = re.compile(rf"^(?:{_ISO}|{_QUARTER}|{_MONTH_DATE}|{_BARE_YEAR})$",
                                re.IGNORECASE)
_MONTH_WORD = re.compile(_MONTHS, re.IGNORECASE)
_RELATIVE = re.compile(_CALENDAR, re.IGNORECASE)
_HAS_YEAR = re.compile(rf"\b{_YEAR}\b")
_HAS_DAY = re.compile(rf"(?:^|\s){_DAY}(?:,|\s|$)")
_NOT_NOUNS = frozenset(STOPWORDS_EN_PLUS) | {"and", "or", "but", "so", "then", "compared"}
_WORD_AFTER = re.compile(r"\s*([A-Za-z][\w'-]*)")
# Words after which a report is named, making a date the report's and not the question's.
_REPORT = re.compile(r"\b(?:report|reports|reported|article|articles|coverage|covered|story|"
                     r"stories|piece|post|review|published)\b", re.IGNORECASE)
# A relative clause or a participle opening before the phrase: the time is then an event's
# within the question ("Which company, founded in late 2015, ..."), not the question's.
_CLAUSE = re.compile(r"(?:^|\s)(?:that|who|whom|whose|which|where)[\s,]|,\s*(?:\w+ed|known|"
                     r"once|previously|recently|currently|now|after|having|being)\b",
                     re.IGNORECASE)
_FIGURE = re.compile(r"\d|\$|€|£|%|\b(?:hundred|thousand|million|billion|trillion)s?\b",
                     re.IGNORECASE)
_FIGURE_REACH = 4  # words before a phrase a figure is looked for in
_NUMBER_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
                 "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11,
                 "twelve": 12}


@dataclass(frozen=True)
class TimeSpan:
    """What a question's time words ask for: articles published from `start` to `end`
    (inclusive; None is open), or the newest first; `phrase` is the words read, at
    `begin`:`finish` in the question."""

    phrase: str
    start: dt.date | None = None
    end: dt.date | None = None
    newest_first: bool = False
    begin: int = 0
    finish: int = 0

    @property
    def is_range(self) -> bool:
        return self.start is not None or self.end is not None

    def without_phrase(self, question: str) -> str:
        """The question with the time words taken out ("What did Asif say about Afghanistan
        in 2024?" -> "What did Asif say about Afghanistan?"), for searching by topic; an
        adverb of recency goes too ("What did Varnholt say most recently?"), an adjective
        stays ("the latest news")."""
        if not (self.is_range or _ADVERB.fullmatch(self.phrase)):
            return question
        rest = f"{question[: self.begin].rstrip(' ,')} {question[self.finish:].lstrip(' ,')}"
        rest = re.sub(r"\s+([?.!,;])", r"\1", rest).strip()
        if not re.search(r"\w", rest):
            return question
        return rest[:1].upper() + rest[1:] if self.begin == 0 else rest


def read_time(question: str, anchor: dt.date) -> TimeSpan | None:
    """The question's time words as a range of publication dates, or as the newest first,
    counted from `anchor` ("last week" is the calendar week before the anchor's); None when
    it holds no time words, or more than one time phrase (each then dates a different report
    the question compares: "the report of October 7 and the one of October 30"), or a
    phrase dating one of several reports it names.

    Days ("on October 7, 2023") are not read as ranges: a question naming one dates the
    report it means, which the search favours by its date boost (`rag/retrieve.py`)."""
    found = [match for match in _PHRASES.finditer(question)
             if _is_time(match, question) and not _named(match, question)]
    if len(found) > 1:
        return None
    if found:
        match = found[0]
        if (_day_only(match) or len(_REPORT.findall(question)) > 1
                or _CLAUSE.search(question, 1, match.start()) or _after_figure(match, question)):
            return None
        start, end = _bounds(match, anchor)
        if (start is None and end is None) or (start is not None and start > anchor):
            return None  # a time after the anchor is what the question asks about, not when
        recent = any(not _named(m, question) for m in _RECENT.finditer(question))
        return TimeSpan(phrase=match.group().strip(), start=start, end=end, newest_first=recent,
                        begin=match.start(), finish=match.end())
    recent = next((m for m in _RECENT.finditer(question) if not _named(m, question)), None)
    if (recent is not None and len(_REPORT.findall(question)) <= 1
            and not _CLAUSE.search(question, 1, recent.end())):
        return TimeSpan(phrase=recent.group(), newest_first=True, begin=recent.start(),
                        finish=recent.end())
    return None


def _after_figure(match: re.Match[str], question: str) -> bool:
    """Whether a figure comes just before the phrase ("spent $26.3 billion in 2021", "12
    encounters from 1905 to 1913"): the time then dates that fact, not the question."""
    before = " ".join(question[: match.start()].split()[-_FIGURE_REACH:])
    return _FIGURE.search(before) is not None


def _named(match: re.Match[str], question: str) -> bool:
    """Whether a relative time word is capitalised inside the question, so part of a name
    ("Business Today", "Monster Hunter Now"), not a time."""
    words = match.group().strip()
    within = match.groupdict().get("within")
    relative = _RECENT.fullmatch(words) or (within and _RELATIVE.match(within))
    opens = question[: match.start()].strip() == ""
    return bool(relative) and words[:1].isupper() and not opens


def _is_time(match: re.Match[str], question: str) -> bool:
    """Whether a match is a time phrase, not a month's name or a number in other use."""
    within = match.group("within")
    if within is None:
        return True
    prepositioned = match.group() != within
    if _NEEDS_PREPOSITION.match(within) and not prepositioned:
        return False
    if re.fullmatch(r"may", within.strip()) and within.strip() != "May":
        return False  # "in may" is the modal after a clause, not the month
    if re.search(_BARE_YEAR + "$", within, re.IGNORECASE) and not _MONTH_WORD.match(within):
        return _year_is_time(question, match.end())
    return True


def _year_is_time(question: str, end: int) -> bool:
    """A year is a time unless a word other than a function word follows it ("2024 Summer
    Olympics", "2024 elections")."""
    after = _WORD_AFTER.match(question, end)
    return after is None or question[end:after.start(1)].strip() != "" or (
        after.group(1).lower() in _NOT_NOUNS)


def _day_only(match: re.Match[str]) -> bool:
    """Whether the phrase is a single day ("on October 7, 2023", "in 2023-10-07")."""
    within = (match.group("within") or "").strip()
    if re.fullmatch(_ISO, within):
        return True
    month = _MONTH_WORD.search(within)
    return month is not None and _HAS_DAY.search(_MONTH_WORD.sub(" ", within, count=1)) is not None


def _bounds(match: re.Match[str], anchor: dt.date) -> tuple[dt.date | None, dt.date | None]:
    """The first and last publication dates a matched phrase allows."""
    groups = match.groupdict()
    if groups["between"] or groups["from"]:
        first, last = (groups["between"], groups["and"]) if groups["between"] else (
            groups["from"], groups["to"])
        if not _HAS_YEAR.search(first) and _HAS_YEAR.search(last):  # "March to May 2024"
            year = _HAS_YEAR.search(last).group()
            first = f"{first} {year}"
        one, two = _period(first, anchor), _period(last, anchor)
        if one is None or two is None or one[0] > two[1]:
            return None, None
        return one[0], two[1]
    if groups["after"]:
        period = _period(groups["after"], anchor)
        if period is None:
            return None, None
        since = groups["after_word"].lower() != "after"
        return (period[0] if since else period[1] + dt.timedelta(days=1)), None
    if groups["before"]:
        period = _period(groups["before"], anchor)
        return (None, period[0] - dt.timedelta(days=1)) if period else (None, None)
    if groups["until"]:
        period = _period(groups["until"], anchor)
        return (None, period[1]) if period else (None, None)
    if groups["window"]:
        count = groups["count"] or groups["counted"]
        number = _NUMBER_WORDS.get(count.lower()) if count else 1
        number = int(count) if count and count.isdigit() else number
        unit = groups["unit"].lower().rstrip("s")
        began = _parser(anchor, exact=True).get_date_data(f"{number} {unit}s ago").date_obj
        return (began.date(), anchor) if began else (None, None)
    period = _period(groups["within"], anchor)
    if period is None:
        return None, None
    part = re.match(r"(?i)(?:in|during|throughout)\s+(early|mid|late)", match.group())
    return _part(period, part.group(1).lower()) if part else period


def _part(period: tuple[dt.date, dt.date], which: str) -> tuple[dt.date, dt.date]:
    """The early, middle or late third of a period: of a year, its first, middle or last four
    months ("early 2024": January to April); else by days."""
    start, end = period
    if (start.month, start.day, end.month, end.day) == (1, 1, 12, 31):
        first = {"early": 1, "mid": 5, "late": 9}[which]
        return dt.date(start.year, first, 1), _month_end(start.year, first + 3)
    days = (end - start).days + 1
    third = days // 3
    if which == "early":
        return start, start + dt.timedelta(days=third - 1)
    if which == "mid":
        return start + dt.timedelta(days=third), end - dt.timedelta(days=third)
    return end - dt.timedelta(days=third - 1), end


def _period(text: str, anchor: dt.date) -> tuple[dt.date, dt.date] | None:
    """The calendar period a date expression names, as its first and last day."""
    text = re.sub(r"(?i)^the\s+year\s+", "", text.strip())
    return _parsed(text, anchor)


@functools.lru_cache(maxsize=4096)
def _parsed(text: str, anchor: dt.date) -> tuple[dt.date, dt.date] | None:
    """dateparser's reading of a date expression, the past preferred, as the first and last
    day of the period it names (a day, an ISO week, a month, a quarter, a year)."""
    data = _parser(anchor).get_date_data(text)
    if data.date_obj is None:
        return None
    day = data.date_obj.date()
    period = data.period
    if period == "year":
        return dt.date(day.year, 1, 1), dt.date(day.year, 12, 31)
    if period == "quarter":
        first = 3 * ((day.month - 1) // 3) + 1
        return dt.date(day.year, first, 1), _month_end(day.year, first + 2)
    if period == "month":
        return dt.date(day.year, day.month, 1), _month_end(day.year, day.month)
    if period == "week":
        monday = day - dt.timedelta(days=day.weekday())
        return monday, monday + dt.timedelta(days=6)
    return day, day


def _month_end(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])


@functools.lru_cache(maxsize=64)
def _parser(anchor: dt.date, exact: bool = False) -> DateDataParser:
    """English dateparser counting from the anchor, preferring the past ("March" is the last
    March up to the anchor), and saying what period each reading names; a month without its
    day is read as its first day unless `exact` ("a month ago" is the anchor's day then)."""
    settings = {"RELATIVE_BASE": dt.datetime(anchor.year, anchor.month, anchor.day),
                "PREFER_DATES_FROM": "past", "RETURN_TIME_AS_PERIOD": True}
    if not exact:
        settings["PREFER_DAY_OF_MONTH"] = "first"
    return DateDataParser(languages=["en"], settings=settings)
