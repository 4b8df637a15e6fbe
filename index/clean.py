"""Turn the raw text of one plain-text news file into clean articles with their metadata (title,
published, source). Every rule keeps a whole line verbatim or drops it, so each paragraph of an
article is a line of the source file (docs/ingestion.md, "Plain text").
"""

from __future__ import annotations

import bisect
import datetime
import itertools
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from rag.speech_verbs import INTERVIEW_OPENINGS, INTERVIEW_PHRASES, alternation


@dataclass(frozen=True)
class CleanArticle:
    """One story cut from a file, cleaned, with the metadata its own text states.

    `text` holds the kept lines verbatim (whitespace normalised), paragraphs separated by a
    blank line, without the headline line. `removed_lines` counts lines dropped as furniture,
    bylines, timestamps, captions or repeats (the headline taken as `title` is not counted).
    `raw_text` is the exact slice of the file the story came from.
    """

    title: str | None
    text: str
    source: str | None
    published: datetime.date | None
    author: str | None
    removed_lines: int
    raw_text: str


class _Kind(Enum):
    """What a line is; the kind decides whether the line is kept, dropped or read for metadata."""

    BLANK = "blank"
    BOILERPLATE = "boilerplate"  # navigation, share buttons, tags, UI labels
    TIMESTAMP = "timestamp"  # "Updated 17 March 2024": dropped, but its date is read
    CAPTION = "caption"  # a photo caption: dropped, and its date is ignored
    BYLINE = "byline"  # "By Jana Kell, The Averin Ledger": dropped, read for author/outlet
    HEADLINE = "headline"  # short, no final period: a title or a sub-heading
    BODY = "body"  # prose and bullet points


_FURNITURE = frozenset({_Kind.BOILERPLATE, _Kind.TIMESTAMP, _Kind.CAPTION})
_DROPPED = _FURNITURE | {_Kind.BYLINE}
_CONTENT = frozenset({_Kind.HEADLINE, _Kind.BODY})

_HEADLINE_MIN_WORDS = 3
_HEADLINE_MAX_WORDS = 25
_HEADLINE_MAX_CHARS = 200
_LABEL_MAX_WORDS = 2  # a line this short with no final punctuation is a UI label
_FOREIGN_LABEL_MAX_WORDS = 5
_CAPTION_MAX_CHARS = 300
_BYLINE_MAX_CHARS = 120
_LATIN_ARTICLE_SHARE = 0.8  # letters that are Latin in a Latin-script article
_STORY_SIGNAL_LOOKAHEAD = 4  # non-blank lines after a headline searched for a new-story signal

_SPACES = re.compile(r"[ \t\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]+")
_INVISIBLE = re.compile(r"[\u200b\ufeff]")
_BLANK_RUN = re.compile(r"\n{3,}")
_BULLET = re.compile(r"^[•·▪‣◦●*–—-]\s")
_OPENERS = "\"'“‘«("
_CLOSERS = "\"'”’»)]"

_UI = re.compile(
    r"(?:skip to (?:main )?content|skip navigation|latest(?: news)?|breaking news|top stories"
    r"|trending(?: now)?|most (?:read|popular|viewed)|related(?: articles| stories| news)?"
    r"|read (?:more|also|next)|also read|see also|more from .{1,40}|advertisement"
    r"|sponsored(?: content)?|subscribe(?: now| to .{1,40})?|sign (?:in|up)|log ?in|newsletter"
    r"|menu|home|search|close|back to top|print|e-?mail|\d* ?comments?"
    r"|share(?: this)?(?: post| article| story| page)?(?: on \w+)?|short ?url|copy link"
    r"|link copied|follow(?: us)?(?: on \w+)?|listen(?: to this article)?|\d+ min(?:ute)?s? read"
    r"|facebook|twitter|x|whatsapp|linkedin|telegram|reddit|pinterest"
    r"|(?:tags?|topics?|filed under|keywords)\s*:.*|©.*|copyright (?:©|\d{4}).*"
    r"|all rights reserved)[.:]?",
    re.IGNORECASE,
)

_PHOTO_CREDITS = (
    r"AP|APP|AFP|Reuters|EPA(?:-EFE)?|Getty(?: Images)?|Xinhua|Anadolu(?: Agency)?|AA|PTI|ANI"
    r"|IANS|Bloomberg|Shutterstock|dpa|UPI|Sputnik|TASS"
)
# A caption ends in a photo credit: "(AP Photo)", "(AP Photo/Name)", "(Photo: AFP)", "(APP)".
_CAPTION = re.compile(
    rf"\((?:[^()]*\b(?:photo|photograph|image|picture|pic|file)s?\b[^()]*"
    rf"|(?:{_PHOTO_CREDITS})(?:\s*/[^()]*)?)\)\s*$"
    r"|^(?:photo|image|picture|file photo)(?: credit)?\s*:",
    re.IGNORECASE,
)

_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\b\.?"
)
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DATE = re.compile(
    rf"\b(?P<d1>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<m1>{_MONTH}),?\s+(?P<y1>\d{{4}})\b"
    rf"|\b(?P<m2>{_MONTH})\s+(?P<d2>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<y2>\d{{4}})\b"
    r"|\b(?P<y3>\d{4})-(?P<m3>\d{2})-(?P<d3>\d{2})(?:T\d{2}:\d{2}(?::\d{2})?(?:Z|[+-]\d{2}:?\d{2})?)?\b",
    re.IGNORECASE,
)
_RELATIVE_TIME = re.compile(
    r"\b(?:\d+|an?|one)\s*(?:s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?|d|days?|w|wks?"
    r"|weeks?|mos?|months?|y|yrs?|years?)\s+ago\b|\bjust now\b",
    re.IGNORECASE,
)
_STAMP_PREFIX = re.compile(
    r"^(?:last\s+|first\s+)?(?:updated|published|posted|modified|created|date)\b"
    r"(?:\s+(?:on|at))?\s*:?",
    re.IGNORECASE,
)
# What may surround the date in a timestamp line: weekday, clock time, time zone, separators.
_STAMP_FILLER = re.compile(
    r"\b(?:mon|tues?|wed(?:nes)?|thu(?:rs?)?|fri|sat(?:ur)?|sun)(?:day)?\b\.?"
    r"|\b\d{1,2}[:.]\d{2}(?:[:.]\d{2})?(?:\s*[ap]\.?m\.?)?"
    r"|\b(?:gmt|utc|pkt|ist|est|edt|cst|cdt|mst|mdt|pst|pdt|bst|cet|cest|eet|eest|msk|jst)\b"
    r"(?:\s*[+-]\s*\d{1,2}(?::?\d{2})?)?"
    r"|\b(?:at|on)\b|[\s,|·•/–—()-]+",
    re.IGNORECASE,
)

# A proper name of up to five words, allowing "of"/"the"/"and" inside ("Voice of America").
_NAME = r"[A-Z][\w&'’.-]*(?:\s+(?:(?:of|the|and|&)\s+)?[A-Z][\w&'’.-]*){0,4}"
_BYLINE = re.compile(
    r"^(?:By|BY|Written by|Reported by)\s+"
    r"(?P<name>[A-Z][\w.'’-]*(?:\s+(?:(?:de|van|von|bin|al|and|&)\s+)?[A-Z][\w.'’-]*){0,5})"
    r"\s*(?:$|[|,•·—–-]\s*(?P<rest>.+)$)"
)
_BYLINE_SEPARATOR = re.compile(r"\s*[|,•·—–]\s*|\s+-\s+")
# "ISLAMABAD: ...", "KESSA VALLEY - ...", "PORT AVERIN, March 3 (Northwind Wire) - ...".
_DATELINE = re.compile(
    r"^[A-Z][A-Z.'’-]+(?:\s+[A-Z][A-Z.'’-]+)*(?:,[^()\n:]{1,40}?)?\s*"
    r"(?:\((?P<agency>[A-Za-z][^()\d]{1,39})\))?\s*[:—–-]\s"
)
_LEAD_IN = re.compile(rf"^(?P<name>{_NAME})\s*:\s")
_OUTLET_WORD = re.compile(
    r"news\b|\b(?:agency|times|post|wire|press|tv|television|radio|daily|herald|tribune"
    r"|journal|gazette|telegraph|guardian|express|chronicle|observer|ledger|courier|monitor"
    r"|reuters|afp|ap|app|xinhua|anadolu|bloomberg|bbc|cnn)\b",
    re.IGNORECASE,
)
_INTERVIEW_CUE = re.compile(rf"\b(?:{alternation(INTERVIEW_PHRASES, INTERVIEW_OPENINGS)})\s+")
# An outlet described rather than named as the publisher would: "a Pakistani media outlet",
# "the British news outlet Sky News".
_DESCRIBED_OUTLET = re.compile(
    r"(?:a|an|the)\s+(?:[\w'’-]+\s+){0,3}?"
    r"(?:outlet|newspaper|paper|channel|broadcaster|network|website|station|magazine)\b"
    rf"(?:\s+(?:the\s+)?{_NAME})?"
)
_NAMED_OUTLET = re.compile(rf"(?:the\s+)?(?P<name>{_NAME})")
_THE_NAME = re.compile(rf"The\s+{_NAME}")
_CLAUSE_SUBJECT = re.compile(r"\s*(?P<name>[A-Z][\w'’-]*(?:\s+[A-Z][\w'’-]*){0,3})")
_SUBJECT_AFTER_COMMA = re.compile(r"\s*,\s*(?P<name>[A-Z][\w'’-]*(?:\s+[A-Z][\w'’-]*){0,3})")
_SENTENCE_END = re.compile(r"[.!?][\"'”’]?\s+")
# Characters around an interview cue in which a speaker's name is looked for (a name of up to
# four words, after a comma or opening the clause).
_NAME_REACH = 200
_NOT_NAME_WORDS = frozenset({"A", "An", "The", "He", "She", "It", "They", "We", "I", "His", "Her"})


def normalize_whitespace(text: str) -> str:
    """Normalise whitespace the way cleaning does, so callers and tests can compare texts.

    Unicode spaces (NBSP and friends) become plain spaces, runs of spaces collapse, lines lose
    leading and trailing spaces (an indented bullet "  • x" becomes "• x"), zero-width
    characters go, and runs of blank lines collapse to one blank line.
    """
    lines = "\n".join(_normalize_line(line) for line in text.splitlines())
    return _BLANK_RUN.sub("\n\n", lines).strip("\n")


def is_boilerplate(line: str, *, latin_article: bool = True) -> bool:
    """Whether a line is page furniture rather than article text, and so is dropped.

    Covers navigation/share/follow/tag lines, UI labels of one or two words, timestamp lines,
    photo captions and, in a Latin-script article (`latin_article`), short labels in another
    script (a scraped "thumbnail" placeholder). Bylines are not boilerplate: they are metadata.
    """
    return _classify(_normalize_line(line), latin_article=latin_article) in _FURNITURE


def split_stories(lines: Sequence[str]) -> list[tuple[int, int]]:
    """Cut a file's lines into stories, as half-open (start, stop) line ranges covering them all.

    A new story starts at a headline-like line that comes after body text, is not a line the
    current story already holds (a file repeating its own story stays one story), has body
    text after it, and carries a signal: two blank lines before it, or within the next few
    lines a timestamp, a byline, its own repetition, or a dateline ("ISLAMABAD: ...").
    """
    normalized = [_normalize_line(line) for line in lines]
    latin = _is_latin("".join(normalized))
    return _split(normalized, [_classify(line, latin_article=latin) for line in normalized])


def find_published(header_lines: Sequence[str]) -> datetime.date | None:
    """The publication date stated in a story's header lines, or None.

    Reads lines up to the first body paragraph, skipping headline-like lines (a date there is
    the event's) and photo captions (the photo's date). "Updated 8 sec ago" states no date.
    """
    for raw_line in header_lines:
        line = _normalize_line(raw_line)
        kind = _classify(line)
        if kind is _Kind.BODY:
            break
        if kind in (_Kind.HEADLINE, _Kind.CAPTION):
            continue
        for match in _DATE.finditer(line):
            found = _to_date(match)
            if found is not None:
                return found
    return None


def find_outlet(text: str) -> str | None:
    """The outlet a cleaned article's text names as its publisher, or None.

    In order of trust: an "<Outlet>: ..." lead-in with an outlet word (News, Agency, Times,
    Wire, ...) or a dateline credit ("KABUL (Reuters) - ...") opening the body; then the outlet
    people "told"/were "speaking to", since an outlet usually names itself in its own
    interviews. Such a mention is discarded when the outlet is described from outside ("the
    British news outlet Sky News") or when the same speaker is shown giving an interview to a
    described outlet ("in an interview with a Pakistani media outlet" ... "told Dawn News"):
    then the article reports someone else's interview. Ties go to the most frequent, then
    the first mentioned.
    """
    paragraphs = [line for line in text.splitlines() if line.strip()]
    lead = next((p for p in paragraphs if not _BULLET.match(p)), None)
    if lead is None:
        return None
    lead_in = _LEAD_IN.match(lead)
    if lead_in and _OUTLET_WORD.search(lead_in["name"]):
        return lead_in["name"]
    dateline = _DATELINE.match(lead)
    if dateline and dateline["agency"]:
        return dateline["agency"].strip()
    return _interviewing_outlet(paragraphs)


def clean_text(raw: str) -> list[CleanArticle]:
    """Clean one file's text; a file holding several stories yields several articles.

    Each article's `raw_text` is the exact slice of `raw` it came from (the slices concatenate
    back to `raw`). A story with no body text left after cleaning yields no article, so empty or
    all-boilerplate input gives an empty list.
    """
    raw_lines = raw.splitlines(keepends=True)
    lines = [_normalize_line(line) for line in raw_lines]
    latin = _is_latin(raw)
    kinds = [_classify(line, latin_article=latin) for line in lines]
    articles = []
    for start, stop in _split(lines, kinds):
        article = _build_article(
            lines[start:stop], kinds[start:stop], "".join(raw_lines[start:stop])
        )
        if article is not None:
            articles.append(article)
    return articles


def _normalize_line(line: str) -> str:
    """One line with plain, single spaces and no indentation, so equal lines compare equal."""
    return _SPACES.sub(" ", _INVISIBLE.sub("", line)).strip()


def _key(line: str) -> str:
    """Lines that differ only in case or spacing are the same paragraph for deduplication."""
    return " ".join(line.casefold().split())


def _is_latin(text: str) -> bool:
    """Whether most letters are Latin: only then is a short line in another script a UI label."""
    letters = [char for char in text if char.isalpha()]
    return bool(letters) and _latin_share(letters) >= _LATIN_ARTICLE_SHARE


def _latin_share(letters: Sequence[str]) -> float:
    """Share of letters in the Latin script, which tells an article's script from a label's."""
    latin = sum(unicodedata.name(char, "").startswith("LATIN") for char in letters)
    return latin / len(letters)


def _classify(line: str, *, latin_article: bool = True) -> _Kind:
    """Classify one normalised line; captions are tested before timestamps, as both hold dates."""
    if not line:
        return _Kind.BLANK
    if len(line) <= _CAPTION_MAX_CHARS and _CAPTION.search(line):
        return _Kind.CAPTION
    if _is_timestamp(line):
        return _Kind.TIMESTAMP
    if _is_ui_label(line) or (latin_article and _is_foreign_label(line)):
        return _Kind.BOILERPLATE
    if len(line) <= _BYLINE_MAX_CHARS and _BYLINE.match(line):
        return _Kind.BYLINE
    if _looks_like_headline(line):
        return _Kind.HEADLINE
    return _Kind.BODY


def _ends_sentence(line: str) -> bool:
    """Whether a line ends like a sentence, closing quotes aside: UI labels never do."""
    return line.rstrip(_CLOSERS)[-1:] in (".", "!", "?", "…")


def _is_ui_label(line: str) -> bool:
    """Known furniture, or a line of one or two words that is not a sentence ("Short Url")."""
    if _UI.fullmatch(line):
        return True
    return (
        len(line.split()) <= _LABEL_MAX_WORDS
        and not _BULLET.match(line)
        and not _ends_sentence(line)
    )


def _is_foreign_label(line: str) -> bool:
    """A few words mostly in a non-Latin script: a scraped UI label in a Latin-script article."""
    letters = [char for char in line if char.isalpha()]
    return (
        len(line.split()) <= _FOREIGN_LABEL_MAX_WORDS
        and bool(letters)
        and _latin_share(letters) < 0.5
    )


def _is_timestamp(line: str) -> bool:
    """A line that is only a date or an age, maybe after "Updated"/"Published" and with a time."""
    rest = _STAMP_PREFIX.sub("", line, count=1)
    if not (_DATE.search(rest) or _RELATIVE_TIME.search(rest)):
        return False
    return not _STAMP_FILLER.sub("", _RELATIVE_TIME.sub("", _DATE.sub("", rest)))


def _looks_like_headline(line: str) -> bool:
    """Short, capitalised, no final period/comma/colon: how headlines and sub-headings look."""
    words = line.split()
    if not _HEADLINE_MIN_WORDS <= len(words) <= _HEADLINE_MAX_WORDS:
        return False
    if len(line) > _HEADLINE_MAX_CHARS or _BULLET.match(line) or _DATELINE.match(line):
        return False
    if line[0].islower() or not (line[0].isalnum() or line[0] in _OPENERS):
        return False
    return line.rstrip(_CLOSERS)[-1:] not in (".", ",", ";", ":")


def _to_date(match: re.Match[str]) -> datetime.date | None:
    """The date a `_DATE` match spells, or None when it is not a real calendar date."""
    if match["y3"]:
        year, month, day = int(match["y3"]), int(match["m3"]), int(match["d3"])
    else:
        month_name = match["m1"] or match["m2"]
        year, day = int(match["y1"] or match["y2"]), int(match["d1"] or match["d2"])
        month = _MONTHS.index(month_name[:3].lower()) + 1
    try:
        return datetime.date(year, month, day)
    except ValueError:
        return None


def _split(lines: Sequence[str], kinds: Sequence[_Kind]) -> list[tuple[int, int]]:
    """`split_stories` on lines already normalised and classified."""
    last_body = max((i for i, kind in enumerate(kinds) if kind is _Kind.BODY), default=-1)
    starts = [0]
    seen: set[str] = set()
    has_body = False
    for i, (line, kind) in enumerate(zip(lines, kinds, strict=True)):
        if (
            kind is _Kind.HEADLINE
            and has_body
            and i < last_body
            and _key(line) not in seen
            and _has_story_signal(i, lines, kinds)
        ):
            starts.append(i)
            seen = set()
            has_body = False
        if kind is _Kind.BODY:
            has_body = True
        if kind in _CONTENT:
            seen.add(_key(line))
    return list(zip(starts, [*starts[1:], len(lines)], strict=True))


def _has_story_signal(i: int, lines: Sequence[str], kinds: Sequence[_Kind]) -> bool:
    """Whether the headline-like line `i` opens a story rather than being a sub-heading."""
    blanks_before = 0
    while i - blanks_before - 1 >= 0 and kinds[i - blanks_before - 1] is _Kind.BLANK:
        blanks_before += 1
    if blanks_before >= 2:
        return True
    non_blank_after = (j for j in range(i + 1, len(lines)) if kinds[j] is not _Kind.BLANK)
    return any(
        kinds[j] in (_Kind.TIMESTAMP, _Kind.BYLINE)
        or _key(lines[j]) == _key(lines[i])
        or _DATELINE.match(lines[j])
        for j in itertools.islice(non_blank_after, _STORY_SIGNAL_LOOKAHEAD)
    )


def _build_article(
    lines: Sequence[str], kinds: Sequence[_Kind], raw_text: str
) -> CleanArticle | None:
    """Clean one story's lines: take the title and header metadata, drop furniture and repeats."""
    content = [i for i, kind in enumerate(kinds) if kind is not _Kind.BLANK]
    first = next((i for i in content if kinds[i] in _CONTENT), None)
    if first is None:
        return None
    title_at = first if kinds[first] is _Kind.HEADLINE else None
    body_at = next((i for i in content if kinds[i] is _Kind.BODY), len(lines))

    seen = {_key(lines[title_at])} if title_at is not None else set()
    paragraphs = []
    for i in content:
        if i == title_at or kinds[i] in _DROPPED or _key(lines[i]) in seen:
            continue
        seen.add(_key(lines[i]))
        paragraphs.append(lines[i])
    if not paragraphs:
        return None

    text = "\n\n".join(paragraphs)
    byline = next((lines[i] for i in content if kinds[i] is _Kind.BYLINE), None)
    author, byline_outlet = _read_byline(byline) if byline else (None, None)
    return CleanArticle(
        title=lines[title_at] if title_at is not None else None,
        text=text,
        source=byline_outlet or find_outlet(text),
        published=find_published([lines[i] for i in content if i < body_at]),
        author=author,
        removed_lines=len(content) - len(paragraphs) - (title_at is not None),
        raw_text=raw_text,
    )


def _read_byline(line: str) -> tuple[str | None, str | None]:
    """(author, outlet) from "By Jana Kell, The Averin Ledger"; "By Reuters" names an outlet."""
    match = _BYLINE.match(line)
    if match is None:
        return None, None
    name = match["name"]
    if _OUTLET_WORD.search(name):
        return None, name
    parts = _BYLINE_SEPARATOR.split(match["rest"] or "")
    outlet = next((part for part in parts if _is_outlet_part(part)), None)
    return name, outlet


def _is_outlet_part(part: str) -> bool:
    """A byline part naming an outlet: "Northwind Wire", "The Averin Ledger", not a date or role."""
    if not part or any(char.isdigit() for char in part) or not part[0].isupper():
        return False
    return bool(_OUTLET_WORD.search(part)) or _THE_NAME.fullmatch(part) is not None


def _interviewing_outlet(paragraphs: Sequence[str]) -> str | None:
    """The outlet named as interviewer ("told TOLOnews"), unless the speaker spoke elsewhere.

    See `find_outlet` for the rule; speakers are compared by their name words, so "Asif" and
    "Khawaja Muhammad Asif" are the same person.
    """
    spoke_elsewhere: set[str] = set()
    mentions: list[tuple[str, frozenset[str]]] = []
    for paragraph in paragraphs:
        cues = list(_INTERVIEW_CUE.finditer(paragraph))
        sentence_starts = [m.end() for m in _SENTENCE_END.finditer(paragraph)] if cues else []
        for cue in cues:
            # The cue's sentence: from the last sentence end before it (bisect, so that a long
            # paragraph with many cues stays linear); names are looked for near the cue.
            before_cue = bisect.bisect_right(sentence_starts, cue.start())
            start = sentence_starts[before_cue - 1] if before_cue else 0
            before = paragraph[start : min(cue.start(), start + _NAME_REACH)]
            described = _DESCRIBED_OUTLET.match(paragraph, cue.end())
            if described:
                spoke_elsewhere |= _speaker(before, _near(paragraph, described.end()))
                continue
            named = _NAMED_OUTLET.match(paragraph, cue.end())
            if named and _OUTLET_WORD.search(named["name"]):
                mentions.append((named["name"], _speaker(before, _near(paragraph, named.end()))))
    counts = Counter(name for name, who in mentions if not who & spoke_elsewhere)
    return counts.most_common(1)[0][0] if counts else None


def _near(paragraph: str, offset: int) -> str:
    return paragraph[offset : offset + _NAME_REACH]


def _speaker(before: str, after: str) -> frozenset[str]:
    """Name words of who spoke, so two mentions of one person can be matched.

    The speaker is the clause's opening name ("Sadiq Shinwari, an expert, told"), or the name
    after the comma when the cue opens the sentence ("Speaking to X, Asif said").
    """
    match = _CLAUSE_SUBJECT.match(before) if before.strip() else _SUBJECT_AFTER_COMMA.match(after)
    if match is None:
        return frozenset()
    return frozenset(match["name"].split()) - _NOT_NAME_WORDS
