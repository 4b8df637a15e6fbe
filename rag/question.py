"""What a question is about: its names and, when it asks what someone said, who and on what.
Rules, not a model, shared by the follow-up rewrite and the who-said-what answer
(docs/answering.md, "What a question asks").
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from bm25s.stopwords import STOPWORDS_EN_PLUS

from rag.speech_verbs import QUESTION_VERB_STEMS, QUESTION_VERBS, TELLING, alternation

QUESTION_WORDS = frozenset({"what", "who", "whom", "whose", "which", "when", "where", "why",
                            "how"})
# Capitalised words that start or frame a question rather than name anything.
_NOT_NAMES = frozenset(STOPWORDS_EN_PLUS) | QUESTION_WORDS | {
    "according", "also", "tell", "please", "give", "show", "list", "explain", "describe",
    "summarise", "summarize", "anything", "else",
}
_NAME_WORD = r"[A-Z\u00c0-\u00de][\w’'.-]*"
_NAME_RUN = re.compile(
    rf"{_NAME_WORD}(?:\s+(?:(?:of|and|for|bin|ibn|al|el|de|del|van|von|da|di)\s+)*{_NAME_WORD})*"
)
_POSSESSIVE = re.compile(r"[’']s$")
# A speech verb in any tense: a listed form, or a listed stem with any ending (rag/speech_verbs.py).
_SPEECH_VERB = (rf"(?:{alternation(QUESTION_VERBS)}"
                rf"|(?:{alternation(QUESTION_VERB_STEMS)})\w*)")
_SPEECH = re.compile(
    r"\b(?:did|does|do|has|have|had|will|would|was|is|can|could)\s+"
    # The subject never ends on a word that needs a noun after it: "the secretary of state".
    r"(?P<subject>(?:[^\s?,;]+\s+){0,7}?"
    r"(?!(?:of|for|in|on|at|to|from|with|by|and|or|the|a|an)\s)[^\s?,;]+)\s+(?:been\s+)?"
    rf"(?P<verb>{_SPEECH_VERB})\b(?P<rest>[^?]*)",
    re.IGNORECASE,
)
_TELL = re.compile(alternation(("tell", *TELLING)), re.IGNORECASE)
# "Who said that ...?", "Who warned about ...?": a speech question without a subject.
_WHO = re.compile(rf"^\s*who\s+(?:has\s+|had\s+)?{_SPEECH_VERB}\b(?P<rest>[^?]*)",
                  re.IGNORECASE)
_ACCORDING = re.compile(r"\baccording to\s+(?P<subject>[^,?]+?)\s*(?:,|\?|$)(?P<rest>[^?]*)",
                        re.IGNORECASE)
_DANGLING = frozenset({"about", "on", "regarding", "concerning", "over", "that", "it", "so"})
_TOPIC = re.compile(r"\b(?:about|regarding|concerning|on|over)\s+(?P<topic>.+)", re.IGNORECASE)
# Words of a subject that make it a document or an outlet's report, not a speaker.
_DOCUMENT_NOUNS = frozenset({
    "article", "articles", "report", "reports", "reporting", "story", "stories", "piece",
    "coverage", "post", "posts", "blog", "analysis", "news", "publication", "study",
    "studies", "data", "survey", "paper", "papers", "source", "sources", "website", "site",
    "outlet", "outlets", "headline", "headlines", "column", "editorial", "review", "podcast",
    "video", "statement", "statements", "document", "documents", "book", "film", "show",
    "letter", "letters", "newsletter", "chapter", "charter", "poster", "flyer", "banner",
    "order", "answer", "indicator", "poll", "polls", "figure", "figures",
})
_RELATIVES = frozenset({"whose", "which", "that", "who", "whom", "where", "when", "while"})
_SUBJECT_OPENINGS = frozenset({"the", "a", "an", "he", "she", "they", "it"})
_MAX_SUBJECT_WORDS = 8
_LOWER_CASE_NAME_WORDS = 3
# How a question about what someone said opens: "What did", "How has", "Did", "According to".
_OPENS_AS_SPEECH = re.compile(
    r"\s*(?:(?:and|so|then)\s+)?(?:(?:what|how|why|when|where|which)\s+(?:\w+\s+)?)?"
    r"(?:did|does|do|has|have|had|will|would|can|could)\s|\s*according to\s",
    re.IGNORECASE,
)


def names_in(text: str) -> list[str]:
    """The names a text holds, in order, each once ("Pakistan's" counts as "Pakistan")."""
    found: list[str] = []
    for match in _NAME_RUN.finditer(text):
        words = [_POSSESSIVE.sub("", w).rstrip(".") for w in match.group().split()]
        while words and words[0].lower() in _NOT_NAMES:
            words.pop(0)
        name = " ".join(words)
        if name and name.lower() not in _NOT_NAMES and name not in found:
            found.append(name)
    return found


@dataclass(frozen=True)
class Speech:
    """A speech question's reading: who it asks about, and about what."""

    subject: str
    topic: str | None
    names: list[str] = field(default_factory=list)
    audience: str | None = None  # "What did Asif tell <Sky News>?"

    @property
    def person(self) -> str | None:
        """The name of whom the question asks, or None for a description ("the minister")."""
        if self.names and self.subject.endswith(self.names[-1]):
            return self.names[-1]
        return None

    @property
    def is_name(self) -> bool:
        """True when the subject is only a name ("Asif"), not a description of someone."""
        return self.names == [self.subject]


def speech_of(question: str) -> Speech | None:
    """The question's speech reading, or None when it does not ask what someone said."""
    match = _SPEECH.search(question) or _ACCORDING.search(question)
    if match is None:
        return None
    subject = match.group("subject").strip()
    if subject.lower() in QUESTION_WORDS:  # "What did what say" is no reading at all
        return None
    rest = match.group("rest").strip(" ,.?")
    audience = None
    if "verb" in match.groupdict() and _TELL.fullmatch(match.group("verb")):
        told = names_in(rest)
        if told and rest.startswith(told[0]):  # "tell Sky News about ..."
            audience = told[0]
            rest = rest[len(audience):].strip(" ,.?")
    about = _TOPIC.search(rest)
    topic = (about.group("topic") if about else rest).strip(" ,.?") or None
    if topic and topic.lower() in _DANGLING:  # "What did S tell Sky News about?"
        topic = None
    return Speech(subject=subject, topic=topic, names=names_in(subject), audience=audience)


def who_said(question: str) -> str | None:
    """The topic of a "Who said ...?" question ("that terrorism fell", "about the border"),
    or None when the question is not one."""
    match = _WHO.match(question)
    if match is None:
        return None
    rest = match.group("rest").strip(" ,.?")
    about = _TOPIC.match(rest)
    topic = (about.group("topic") if about else rest.removeprefix("that ")).strip(" ,.?")
    if topic.lower() in QUESTION_WORDS or topic.lower() in _DANGLING:  # "Who said what?"
        return None
    return topic or None


def speech_question(question: str, outlets: Iterable[str] = (),
                    read: Callable[[str], Speech | None] | None = None) -> Speech | None:
    """The question's speech reading when its subject may be a speaker: a name or a role,
    not a document or an outlet ("Does the TechCrunch article suggest ...?", "according to
    Sporting News": what an outlet reported is the ordinary answerer's), nor a clause the
    pattern caught ("the individual associated with FTX whose ...").

    `read` gives the question's `speech_of` reading (asked only of a question that opens as
    a speech question), for a caller that holds it already."""
    opening = _OPENS_AS_SPEECH.match(question)
    speech = (read or speech_of)(question) if opening else None
    if speech is None or not question[opening.end():].lstrip().startswith(speech.subject):
        return None  # the pattern matched a later clause, not the question's subject
    subject = speech.subject.strip(" '\"‘’“”")
    words = [w.strip("'\"‘’“”,.").lower() for w in subject.split()]
    if (not words or len(words) > _MAX_SUBJECT_WORDS or words[-1] in ("the", "a", "an")
            or any(w in _DOCUMENT_NOUNS or w in _RELATIVES for w in words)):
        return None
    first = subject.split()[0].strip("()[]")
    if not (words[0] in _SUBJECT_OPENINGS or first[:1].isupper() or _POSSESSIVE.search(first)
            or len(words) <= _LOWER_CASE_NAME_WORDS):  # "what did varnholt say"
        return None
    if any(re.search(rf"(?<!\w){re.escape(outlet)}(?!\w)", subject) for outlet in outlets):
        return None
    return speech


def family_name(name: str) -> str:
    """How news text names a person after the first mention: "Khawaja Muhammad Asif" -> "Asif"."""
    return name.split()[-1]


def same_person(asked: str, speaker: str) -> bool:
    """Whether a speaker is the person asked about: the same family name (last word).

    "Asif" and "Khwaja M Asif" are "Khawaja Muhammad Asif"; shared first names ("Muhammad",
    "Abdul") are too common to count.
    """
    if not (asked.strip() and speaker.strip()):
        return False
    return family_name(asked).lower() == family_name(speaker).lower()


_MONTH = (r"(?P<month>Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|"
          r"Aug(?:ust)?|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?")
_DATES = (
    re.compile(rf"\b{_MONTH}\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<year>\d{{4}})\b"),
    re.compile(rf"\b(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\s+{_MONTH}\s+(?P<year>\d{{4}})\b"),
)
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")


def dates_in(text: str) -> list[dt.date]:
    """Calendar dates a question states ("October 7, 2023", "7 Oct 2023", "2023-10-07").

    Temporal news questions name the publication dates of the reports they compare.
    """
    found: list[dt.date] = []
    for pattern in _DATES:
        for match in pattern.finditer(text):
            month = dt.datetime.strptime(match["month"][:3], "%b").month
            try:
                found.append(dt.date(int(match["year"]), month, int(match["day"])))
            except ValueError:
                continue
    for year, month, day in _ISO_DATE.findall(text):
        try:
            found.append(dt.date(int(year), int(month), int(day)))
        except ValueError:
            continue
    return sorted(set(found))
