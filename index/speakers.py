"""Say who spoke each sentence of a news article that reports speech, and which cue shows it.
Standard library and regexes only, linear in the article's length; a speaker is always a name
the article gives, never a description (docs/ingestion.md, "Who said each sentence").
"""

from __future__ import annotations

import bisect
import functools
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from rag.schemas import Statement
from rag.speech_verbs import (
    AUDIENCE_OPENINGS,
    AUDIENCE_PHRASES,
    CUE_PARTICIPLES,
    CUE_VERBS,
    WEAK_CUE_VERBS,
    alternation,
    first_letters,
)

# Case-sensitive on purpose: a capitalised "Announced" or "SAYS" is a headline, not a cue, and
# the lookahead on the first letter makes the search about eight times faster. Weak verbs
# (common other senses, rag/speech_verbs.py) are cues only with a quotation in the sentence, or
# before "that" or a colon.
_CUE = re.compile(
    rf"\b(?=[{first_letters((*CUE_PARTICIPLES, *WEAK_CUE_VERBS, *CUE_VERBS))}A])"
    rf"(?:(?P<according>[Aa]ccording to)|(?P<participle>{alternation(CUE_PARTICIPLES)})"
    rf"|(?P<weak>{alternation(WEAK_CUE_VERBS)})|(?P<verb>{alternation(CUE_VERBS)}))\b"
)
_THAT_OR_COLON = re.compile(r"\s*(?:that\b|:)")
_PASSIVE_OR_INFINITIVE = frozenset({"was", "were", "is", "are", "be", "been", "being", "to"})
# Before a participle these make it a finite verb: "is telling reporters", "are saying".
_PROGRESSIVE = frozenset({"is", "are", "was", "were"})

# Quotation marks: straight quotes toggle, curly and guillemets say their direction. Single quotes
# are left alone: they double as apostrophes ("Pakistan’s").
_QUOTE_MARK = re.compile(r"[\"“”«»]|''")
_OPENING_MARKS = "“«"
_CLOSING_MARKS = "”»"
# A clause boundary before a cue: a dateline ("ISLAMABAD: ..."), a semicolon, a spaced dash.
_CLAUSE_BREAK = re.compile(r"[:;]\s|\s[-–—]\s")
_COMMA = re.compile(r",(?:\s+|$)")
_NP_STOP = re.compile(r"[,;:“”\"(]|\.(?=\s|$)")
# An appositive title after a name: "<name>, a deputy governor,".
_APPOSITIVE_AFTER = re.compile(
    r",\s+(?P<role>(?:the|a|an|another|[A-Z][\w-]*[’']s)\s[^,.;:“”\"]{1,80}?)\s*(?:,|\.(?!\w))"
)
_UPPER = "A-Z\u00c0-\u00d6\u00d8-\u00de"
_NAME_WORD = rf"[{_UPPER}][\w’'&.-]*"
# A run of capitalised words, with lower-case particles inside ("Bank of Veltara"). No
# lookbehind for a word start: it would make the search twice as slow; see `_scan_mentions`.
_NAME_RUN = re.compile(
    rf"{_NAME_WORD}"
    rf"(?:\s+(?:(?:of|and|&|for|bin|ibn|al|el|de|del|der|van|von|da|di|du|le|la)\s+)*{_NAME_WORD})*"
)
_LETTERS = re.compile(r"[^\W\d_]+")
_LOOK_BACK_CHARS = 40  # how far back the words before a name or a cue are read
_TITLE_WORDS_BEFORE = 3  # "regional fire commander Elena Mirov"
_TITLE_WORDS_AFTER_COMMA = 5  # "Pakistan's Defense Minister, Khawaja Muhammad Asif"
_ACRONYM = re.compile(r"\s*\((?P<alias>[A-Z][A-Za-z&.-]{1,11})\)")
_EDGE_PUNCTUATION = "\"“”‘’'«»()[]!?,;:"
# A word ending in one of these ends the phrase it is in ("Asif, ..."; "... Pakistanis,” he).
_PHRASE_END_MARKS = (",", ";", ":", "!", "?", ")", "\"", "”", "’", "'", "»")
_POSSESSIVE = re.compile(r"[’']s$")
_ABBREVIATIONS = frozenset(
    {"mr", "mrs", "ms", "dr", "st", "jr", "sr", "gen", "col", "lt", "sen", "rep", "gov", "prof",
     "capt", "maj", "sgt", "no"}
)

_PRONOUNS = frozenset({"he", "she", "it", "they", "we", "i", "him", "her", "them", "us", "me"})
_MALE_PRONOUNS = frozenset({"he", "him"})
_FEMALE_PRONOUNS = frozenset({"she", "her"})
_DETERMINERS = frozenset(
    {"the", "a", "an", "this", "that", "these", "those", "another", "its", "his", "her", "their",
     "our", "my", "your"}
)
_DEFINITE = frozenset({"the", "this", "that"})
_COORDINATORS = frozenset({"and", "or", "&", "including", "plus"})
# Words that end a noun phrase: prepositions, conjunctions, relative pronouns.
_BREAK_WORDS = frozenset(
    {"in", "on", "at", "by", "with", "from", "for", "to", "of", "into", "during", "after",
     "before", "while", "as", "than", "about", "against", "including", "and", "or", "but", "who",
     "which", "that", "whose", "where", "when", "behind", "under", "over", "near", "across",
     "outside", "inside", "through", "since", "without", "despite", "amid", "among", "via"}
)
# Lower-case words allowed between the capitalised words of one name.
_PARTICLES = frozenset(
    {"of", "and", "&", "for", "bin", "bint", "ibn", "al", "el", "de", "del", "der", "den", "van",
     "von", "da", "di", "du", "le", "la"}
)
# Capitalised at a sentence's start or as a pronoun, but never part of a name.
_NOT_NAME = _DETERMINERS | _PRONOUNS | _BREAK_WORDS | frozenset(
    {"some", "most", "many", "several", "other", "others", "all", "both", "each", "every",
     "however", "meanwhile", "previously", "later", "earlier", "also", "then", "still", "if",
     "yet", "so", "not", "no", "now", "today", "yesterday", "there", "here", "speaking",
     "responding", "addressing", "asked", "according", "nothing", "everything", "something",
     "anything", "nobody", "everyone", "everybody", "someone", "somebody", "anyone", "none",
     "what", "why", "how", "whatever", "whoever"}
)
# Words a speaker phrase may end with before its verb that are not part of it.
_FILLERS = frozenset(
    {"also", "then", "later", "again", "previously", "earlier", "further", "still", "has", "have",
     "had", "was", "is", "would", "will", "did", "does", "do", "not", "never", "once", "now", "too",
     "today", "yesterday", "tonight"}
)
# Words opening a subordinate clause whose subject is a cue's speaker ("a day after X said").
_SUBORDINATORS = frozenset(
    {"after", "when", "while", "because", "since", "before", "until", "although", "though",
     "whereas", "where"}
)
# Opening words of a fronted phrase ("On Gaza, Asif ...") rather than a clause subject.
_FRONTED = _BREAK_WORDS | frozenset(
    {"however", "meanwhile", "previously", "later", "earlier", "also", "then", "still", "yet",
     "so", "but", "and", "if", "although", "though", "because", "asked", "separately"}
)
# Person titles: the last one before a run of capitalised words ends the title.
_TITLE_HEADS = frozenset(
    {"minister", "governor", "president", "vice-president", "premier", "chancellor", "secretary",
     "secretary-general", "spokesman", "spokeswoman", "spokesperson", "commander", "chief",
     "executive", "director", "leader", "chairman", "chairwoman", "chairperson", "chair", "mayor",
     "senator", "ambassador", "envoy", "general", "judge", "justice", "commissioner", "adviser",
     "advisor", "official", "officer", "analyst", "expert", "economist", "professor", "lawmaker",
     "legislator", "mp", "deputy", "king", "queen", "prince", "princess", "sheikh", "colonel",
     "captain", "lieutenant", "admiral", "marshal", "inspector", "superintendent", "prosecutor",
     "attorney", "lawyer", "manager", "founder", "ceo", "head", "councillor", "councilor",
     "representative", "diplomat", "negotiator", "researcher", "scientist", "activist",
     "candidate", "coach", "editor", "correspondent", "cleric", "imam", "bishop", "cardinal",
     "pope", "governors", "ministers", "mr", "mrs", "ms", "miss", "dr", "sir", "dame", "lord",
     "lady", "madam", "gen", "col", "lt", "sen", "rep", "gov", "prof", "capt", "vp", "svp", "evp",
     "cfo", "coo", "cto"}
)
_MALE_TITLES = frozenset(
    {"mr", "sir", "lord", "king", "prince", "spokesman", "chairman", "congressman", "businessman"}
)
# Titles that say no role: left out of a speaker's roles.
_HONORIFICS = frozenset(
    {"mr", "mrs", "ms", "miss", "dr", "sir", "dame", "madam", "her", "his", "excellency",
     "honourable", "honorable"}
)
_FEMALE_TITLES = frozenset(
    {"mrs", "ms", "miss", "madam", "dame", "lady", "queen", "princess", "spokeswoman",
     "chairwoman", "congresswoman", "businesswoman"}
)
_ORG_WORDS = frozenset(
    {"ministry", "department", "agency", "bank", "court", "union", "association", "authority",
     "service", "services", "council", "commission", "committee", "party", "alliance", "front",
     "group", "systems", "company", "corporation", "corp", "inc", "ltd", "llc", "plc",
     "institute", "university", "office", "police", "army", "navy", "federation", "organization",
     "organisation", "board", "fund", "foundation", "center", "centre", "relations", "government",
     "parliament", "assembly", "senate", "congress", "league", "coalition", "movement", "network",
     "news", "times", "wire", "post", "tribune", "press", "television", "tv", "radio", "ledger",
     "airlines", "exchange", "embassy", "cabinet", "directorate", "bureau", "command", "corps",
     "emirate", "secretariat", "forces", "club", "trust", "wing", "reuters", "xinhua", "bloomberg",
     "anadolu", "yonhap", "kyodo", "bernama", "interfax"}
)
# Capitalised common nouns that open sentences as anonymous sources: never names.
_GROUP_NOUNS = frozenset(
    {"officials", "witnesses", "analysts", "police", "investigators", "residents", "authorities",
     "experts", "critics", "economists", "sources", "observers", "lawmakers", "protesters",
     "doctors", "researchers", "scientists", "officers", "diplomats", "organizers", "organisers",
     "prosecutors", "activists", "rescuers", "villagers", "locals", "workers", "farmers",
     "traders", "people", "reports", "documents", "data", "figures", "studies", "polls",
     "surveys", "statement", "statements", "report", "spokesmen", "representatives"}
)
_TITLE_OR_ORG_WORDS = _TITLE_HEADS | _ORG_WORDS
_ROLE_SYNONYMS = {
    "spokesman": "spokesperson",
    "spokeswoman": "spokesperson",
    "defence": "defense",
    "chairman": "chair",
    "chairwoman": "chair",
    "chairperson": "chair",
}
_STEM = 5  # role words compare by this many leading letters: "Pakistani" meets "Pakistan's"
_MAX_PHRASE_WORDS = 12  # a longer "subject" is a clause, not a speaker
_MAX_TITLE_WORDS = 7
_LEADING_NP_WORDS = 8  # words read for a clause's opening subject
_DATELINE_CHARS = 60  # "PORT AVERIN, March 3 (Northwind Wire) - ..."
_FRONTED_PARTS = 3  # fronted phrases skipped before a clause's subject ("On Gaza, ...")
_FULL_NAME_WORDS = (2, 4)  # words in an untitled full name ("Jada Pinkett Smith")
_PHRASE_CACHE = 4096
_DIRECT_SHARE = 0.5  # of a sentence's words quoted, that make it a direct quotation
_AUDIENCE_WORDS = 7  # words read after "told" for the name of whom it was told to
_AUDIENCE_CUE = re.compile(rf"\b(?:{alternation(AUDIENCE_PHRASES, AUDIENCE_OPENINGS)})\s+")


@dataclass(frozen=True)
class Attribution:
    """A sentence that reports speech, and who spoke it.

    `start`/`end` are the sentence's offsets in the article text. `speaker` is the full name the
    article gives the person or organisation, without title ("Khawaja Muhammad Asif"). `cue` is
    the reporting verb or phrase, lower-cased ("said", "told", "according to"); a sentence that
    only continues a quotation carries the cue of the sentence that attributed the quotation.

    The rest describes the statement: `kind` is "direct" when most of the sentence's words
    are quoted (`_DIRECT_SHARE`), else "reported"; `roles` are the titles and descriptions the
    article gives the speaker, as written ("Defense Minister", "spokesperson for the Ministry
    of Interior"); `aliases` the other names it uses for them ("Asif", "ISPR"); `audience` the
    outlet or person the text says the speaker was talking to ("told Sky News", "speaking to
    Daily Sabah"), for every statement of that speaker in the article when it names one only.
    """

    start: int
    end: int
    speaker: str
    cue: str
    kind: Literal["direct", "reported"] = "reported"
    roles: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    audience: str | None = None
    organisation: bool = False


def attribute_speakers(text: str, sentences: list[tuple[int, int]]) -> list[Attribution]:
    """Who spoke each sentence that reports speech; sentences without a speaker are left out.

    `sentences` are (start, end) offsets into `text` in reading order (as
    `index.chunk.sentence_spans` gives them); paragraphs are the lines of `text`. The result
    keeps that order, one `Attribution` per attributed sentence. Never raises on odd text: a
    sentence the heuristics cannot read is simply left out.
    """
    quotes = _Quotations(text)
    registry = _Registry()
    found: list[tuple[_Entity, str] | None] = []
    own_cue: list[bool] = []
    for start, end in sentences:
        attribution, has_cue = _attribute(text, start, end, quotes, registry)
        found.append(attribution)
        own_cue.append(has_cue)
    _carry_quotations(text, sentences, quotes, found, own_cue)
    own = [_audience(text, start, end, quotes) if result else None
           for (start, end), result in zip(sentences, found, strict=True)]
    for result, audience in zip(found, own, strict=True):
        if result is not None and audience:
            result[0].audiences.add(audience)
    attributions = []
    for (start, end), result, audience in zip(sentences, found, own, strict=True):
        if result is None:
            continue
        entity, cue = result
        if audience is None and len(entity.audiences) == 1:
            (audience,) = entity.audiences
        attributions.append(Attribution(
            start, end, entity.name, cue, kind=_kind(text, start, end, quotes),
            roles=tuple(entity.titles), organisation=entity.is_org, audience=audience,
            aliases=tuple(sorted(entity.forms - {entity.name})),
        ))
    return attributions


def _kind(text: str, start: int, end: int, quotes: _Quotations) -> Literal["direct", "reported"]:
    """Direct when most of the sentence's words are quoted ('"I am in disbelief," he said.');
    a paraphrase holding a quoted phrase or two ('described it as "fragile"') is reported."""
    quoted = sum(
        len(text[max(start, q.start) : min(end, q.end)].split()) for q in quotes.within(start, end)
    )
    return "direct" if quoted >= _DIRECT_SHARE * len(text[start:end].split()) else "reported"


def _audience(text: str, start: int, end: int, quotes: _Quotations) -> str | None:
    """The name a sentence says its speaker talked to: "told Dawn News", "Speaking to the
    British news outlet Sky News", "in an interview with Arab News". A name only: "told
    reporters in Sialkot" names no audience."""
    for cue in _AUDIENCE_CUE.finditer(text, start, end):
        if quotes.at(cue.start()) is not None:
            continue
        words: list[str] = []
        for token in text[cue.end() : end].split()[:_AUDIENCE_WORDS]:
            core = _strip(token)
            if not core or core.lower() in _BREAK_WORDS or _CUE.fullmatch(core):
                break
            words.append(core)
            if token.endswith(_PHRASE_END_MARKS) or token.endswith("."):
                break
        run = list(itertools.takewhile(_is_name_word, reversed(words)))
        if run:
            return " ".join(reversed(run))
    return None


# --- quotations ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Quote:
    start: int
    end: int  # after the closing mark, or the paragraph's end when it was left open
    chain: int  # one quotation running over several paragraphs shares one chain number


class _Quotations:
    """The article's quotations, found once, so "is this offset quoted?" is a binary search.

    News style leaves a quotation open at the end of a paragraph when the next paragraph goes
    on with it, opening with a quotation mark: those quotations share a chain.
    """

    def __init__(self, text: str) -> None:
        self.spans: list[_Quote] = []
        chain, left_open = -1, False
        line_start = 0
        for line in text.split("\n"):
            opened: int | None = None
            if line.strip() and not (left_open and line.lstrip().startswith(('"', "“", "«"))):
                left_open = False
            for mark in _QUOTE_MARK.finditer(line):
                char, at = mark.group(), line_start + mark.start()
                if opened is None:
                    if char not in _CLOSING_MARKS:
                        opened = at
                        chain += not left_open
                        left_open = False
                elif char in _OPENING_MARKS:  # the last quotation lost its closing mark
                    self.spans.append(_Quote(opened, at, chain))
                    opened, chain = at, chain + 1
                else:
                    self.spans.append(_Quote(opened, at + 1, chain))
                    opened = None
            if opened is not None:
                self.spans.append(_Quote(opened, line_start + len(line), chain))
                left_open = True
            line_start += len(line) + 1
        self._starts = [quote.start for quote in self.spans]

    def at(self, offset: int) -> _Quote | None:
        """The quotation holding `offset`, marks included, or None."""
        index = bisect.bisect_right(self._starts, offset) - 1
        if index >= 0 and offset < self.spans[index].end:
            return self.spans[index]
        return None

    def within(self, start: int, end: int) -> list[_Quote]:
        """Quotations that overlap [start, end)."""
        index = max(bisect.bisect_right(self._starts, start) - 1, 0)
        overlapping = []
        while index < len(self.spans) and self.spans[index].start < end:
            if self.spans[index].end > start:
                overlapping.append(self.spans[index])
            index += 1
        return overlapping


# --- noun phrases ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Phrase:
    """A speaker phrase as read from the text, before it is resolved to an entity."""

    kind: Literal["pronoun", "name", "role"]
    words: tuple[str, ...]  # the name as written, the pronoun, or the role's words
    head: str = ""  # the role's or title's head noun, normalised ("minister")
    roles: frozenset[str] = frozenset()  # normalised title or role words
    alias: str | None = None  # "ISPR" from "Inter-Services Public Relations (ISPR)"
    gender: str | None = None
    titled: bool = False  # a person title came with the name
    title: tuple[str, ...] = ()  # a name's title words as written ("Defence Minister")


def _strip(token: str) -> str:
    """A token without surrounding punctuation; keeps "U.S.", "Dr." and "Workers'" whole."""
    if token.isalnum():
        return token
    trimmed = token.rstrip("\"“”»)]!?,;:.")
    if trimmed.endswith(("s'", "s’")):  # a plural possessive, part of the name
        core = trimmed.lstrip(_EDGE_PUNCTUATION)
    else:
        core = token.strip(_EDGE_PUNCTUATION)
    if core.endswith(".") and "." not in core[:-1] and core[:-1].lower() not in _ABBREVIATIONS:
        core = core[:-1]
    return core


def _is_name_word(word: str) -> bool:
    """Capitalised and not a word every sentence may open with ("The", "However", "He")."""
    return bool(word) and word[0].isupper() and word.lower().rstrip(".") not in _NOT_NAME


def _is_possessive(word: str) -> bool:
    """A possessive ends a title ("Pakistan's Defense Minister"), so it is never in a name."""
    return _POSSESSIVE.search(word) is not None


@functools.lru_cache(maxsize=_PHRASE_CACHE)
def _role_word(word: str) -> str:
    """A title or role word in the form roles are compared in: lower-case, no possessive."""
    low = _POSSESSIVE.sub("", word.lower()).rstrip(".")
    return _ROLE_SYNONYMS.get(low, low)


def _role_words(words: Sequence[str]) -> frozenset[str]:
    """The words of a title that can tell two people apart: no articles or prepositions."""
    return frozenset(
        _role_word(word) for word in words
        if word.lower() not in _DETERMINERS and word.lower() not in _BREAK_WORDS
    )


def _is_org(name: Sequence[str], alias: str | None) -> bool:
    """Organisations carry an acronym, an organisation word, or are an acronym themselves."""
    if alias or (len(name) == 1 and len(name[0]) > 1 and name[0].isupper()):
        return True
    return any(part.lower() in _ORG_WORDS for word in name for part in word.split("-"))


def _cut(words: list[str]) -> tuple[list[str], list[str]]:
    """Split a phrase at its first preposition or conjunction that is not inside a name."""
    for i in range(1, len(words)):
        low = words[i].lower()
        if low not in _BREAK_WORDS:
            continue
        inside_name = (
            low in _PARTICLES and _is_name_word(words[i - 1])
            and i + 1 < len(words) and _is_name_word(words[i + 1])
        )
        if not inside_name:
            return words[:i], words[i:]
    return words, []


@functools.lru_cache(maxsize=_PHRASE_CACHE)
def _analyse(phrase: str) -> _Phrase | None:
    """Read a speaker phrase: a pronoun, a (titled) name, or a definite role reference.

    The phrase must be a whole noun phrase ("Pakistan's Defense Minister Khawaja Muhammad Asif",
    "the spokesperson for the Ministry of Interior", "he"); trailing adverbs ("previously") and
    a trailing prepositional phrase ("in a statement") are dropped. None when it is none of these
    ("Shipping agents", "Most economists polled by ...", "The report"). Cached: the same few
    phrases ("he", "Asif", "the minister") come back in every article.
    """
    acronym = _ACRONYM.search(phrase)
    alias = acronym["alias"] if acronym else None
    if acronym:
        phrase = phrase[: acronym.start()] + phrase[acronym.end() :]
    words = [core for core in map(_strip, phrase.split()) if core]
    words, rest = _cut(words)
    if rest and rest[0].lower() in _COORDINATORS:
        return None  # "Asif and Tarar", "Banks including ...": several speakers
    while words and (words[-1].lower() in _FILLERS or _is_adverb(words[-1])):
        words.pop()
    if not words or len(words) > _MAX_PHRASE_WORDS:
        return None
    if len(words) == 1 and words[0].lower() in _PRONOUNS:
        return _Phrase("pronoun", (words[0].lower(),))
    # The title ends at the last possessive, determiner, lower-case word or title head.
    last_title = -1
    for i, word in enumerate(words):
        title_word = not _is_name_word(word) and word.lower() not in _PARTICLES
        if title_word or _is_possessive(word) or _role_word(word) in _TITLE_HEADS:
            last_title = i
    name, title = words[last_title + 1 :], words[: last_title + 1]
    if name and name[0].lower() in _PARTICLES:  # "Minister of Defense" is all title
        name, title = [], words
    if len(title) > _MAX_TITLE_WORDS:
        return None
    title_roles = _role_words(title)
    titled = bool(title_roles & _TITLE_HEADS)
    gender = (
        "male" if title_roles & _MALE_TITLES else "female" if title_roles & _FEMALE_TITLES else None
    )
    if name:
        if len(name) == 1 and name[0].lower() in _GROUP_NOUNS:
            return None
        if not _is_org(name, alias):
            if any(word in ("and", "&") for word in name):
                return None  # "Kelce and Swift": several speakers
            if "of" in name:  # "Rep. Pete Aguilar of California"
                name = name[: name.index("of")]
        return _Phrase(
            "name", tuple(name), head=_head(title) if titled else "", roles=title_roles,
            alias=alias, gender=gender, titled=titled, title=tuple(title),
        )
    first = words[0].lower()
    if first not in _DEFINITE and not _is_possessive(words[0]):
        return None
    head = _head(words)
    if head in _DETERMINERS:
        return None
    return _Phrase(
        "role", tuple(words), head=head, roles=title_roles | _role_words(rest), gender=gender,
        title=tuple(words + rest),
    )


def _head(words: Sequence[str]) -> str:
    """A role's head noun: its last title word ("Minister of Defense"), else its last word."""
    heads = [role for role in map(_role_word, words) if role in _TITLE_HEADS]
    return heads[-1] if heads else _role_word(words[-1])


def _is_adverb(word: str) -> bool:
    """Adverbs ("quickly") sit between a subject and its verb and are never part of the subject."""
    return word.islower() and len(word) > 4 and word.endswith("ly")


# --- entities ----------------------------------------------------------------------------


@dataclass(eq=False)
class _Entity:
    """A person or organisation the article names; its name grows when a fuller one appears."""

    name: str
    words: tuple[str, ...]  # lower-cased name words
    is_org: bool
    alias: str | None
    roles: set[str]  # title and role words, compared to a role's modifiers
    heads: set[str]  # title head nouns ("minister"), which a role reference must name
    gender: str | None
    seen: int = -1  # offset of the latest mention outside quotations
    spoke: int = -1  # offset of the latest attribution to it
    subject: int = -1  # offset of the latest time it opened a sentence or spoke
    titles: list[str] = field(default_factory=list)  # titles and descriptions, as written
    forms: set[str] = field(default_factory=set)  # every name it was given, as written
    audiences: set[str] = field(default_factory=set)  # whom it spoke to, when the text says

    def describe(self, phrase: _Phrase | None) -> None:
        """Keep a phrase's title or description ("the spokesperson for ..."), once; a bare
        title word already inside a longer one ("minister") is left out."""
        if phrase is None:
            return
        if phrase.kind == "role" and phrase.head not in _TITLE_OR_ORG_WORDS:
            return  # "Asif's", "this decision": a reference, not a description
        if phrase.kind == "name" and not phrase.titled:
            return  # "I am summarizing briefly because <name>": words before a name, no title
        words = list(phrase.title)
        if words and _is_possessive(words[-1]):
            return  # "Imran Khan's (party)": an owner, not a title
        while words and (words[0].lower() in _DETERMINERS or _role_word(words[0]) in _HONORIFICS
                         or words[0].lower() in _BREAK_WORDS or _CUE.fullmatch(words[0])):
            words.pop(0)  # "said coach", "of head coach": the title starts after them
        while words and _role_word(words[-1]) in _HONORIFICS:
            words.pop()
        title = " ".join(words)
        if not _role_words(words) & _TITLE_OR_ORG_WORDS:
            return  # "—", "said": no title word left
        if title and not any(title.lower() in known.lower() for known in self.titles):
            self.titles = [known for known in self.titles if known.lower() not in title.lower()]
            self.titles.append(title)


def _is_surely_person(entity: _Entity) -> bool:
    """A title, a known gender, or a full name that spoke: not a place or a company."""
    if entity.heads or entity.gender is not None:
        return True
    return entity.spoke >= 0 and len(entity.words) > 1


class _Registry:
    """The entities met so far in reading order, and the rules that resolve a phrase to one."""

    def __init__(self) -> None:
        self.entities: list[_Entity] = []
        self.known: set[str] = set()  # lower-cased name words of people, and acronyms
        # Untitled full names seen in passing ("Jada Pinkett Smith has revealed"), by their
        # first and last words: they only lengthen a one-word speaker ("Jada said").
        self.full_names: dict[str, tuple[str, ...]] = {}

    def note_full_name(self, run: str) -> None:
        """Remember a run of two to four capitalised words that may be a person's full name."""
        split = run.split()
        if not _FULL_NAME_WORDS[0] <= len(split) <= _FULL_NAME_WORDS[1]:
            return
        words = tuple(_POSSESSIVE.sub("", _strip(word)) for word in split)
        if not all(
            word[:1].isupper() and word.replace("-", "").isalpha() for word in words
        ):
            return
        if _is_org(words, None) or words[0].lower() in _NOT_NAME:
            return
        for key in (words[0].lower(), words[-1].lower()):
            self.full_names[key] = words
            for entity in self.entities:
                if entity.words == (key,) and not entity.is_org:
                    self._upgrade(entity, words)

    def resolve(
        self,
        phrase: _Phrase,
        at: int,
        apposition: _Phrase | None = None,
        *,
        create: bool = True,
        subject: bool = False,
    ) -> _Entity | None:
        """The entity a phrase refers to at offset `at`, registered as mentioned there.

        `apposition` is a role phrase beside the name ("Abdul Matin Qani, the spokesperson
        ..."). `create` registers a name not met before; `subject` records that the entity is what
        the sentence is about (its speaker or opening subject), which pronouns look for first.
        """
        if phrase.kind == "pronoun":
            entity = self._by_pronoun(phrase.words[0])
        elif phrase.kind == "role":
            entity = self._by_role(phrase)
        else:
            entity = self._by_name(phrase)
            if entity is None and create:
                words = phrase.words
                if len(words) == 1 and not _is_org(words, phrase.alias):
                    words = self.full_names.get(words[0].lower(), words)
                entity = _Entity(
                    name=" ".join(words),
                    words=tuple(word.lower() for word in words),
                    is_org=_is_org(phrase.words, phrase.alias),
                    alias=phrase.alias,
                    roles=set(),
                    heads=set(),
                    gender=phrase.gender,
                )
                self.entities.append(entity)
        if entity is None:
            return None
        if phrase.kind == "name":
            entity.forms.add(" ".join(phrase.words))
        if entity.alias:
            entity.forms.add(entity.alias)
        entity.describe(phrase if phrase.kind != "pronoun" else None)
        entity.describe(apposition)
        if not entity.is_org:
            self.known.update(entity.words)
        if entity.alias:
            self.known.add(entity.alias.lower())
        for role in (phrase if phrase.kind == "name" else None, apposition):
            if role is not None:
                entity.roles |= role.roles
                entity.heads |= {role.head} - {""}
        entity.gender = entity.gender or phrase.gender
        entity.seen = at
        if subject:
            entity.subject = at
        return entity

    def _by_pronoun(self, pronoun: str) -> _Entity | None:
        """See the module docstring: the latest subject of a compatible gender, people first."""
        if pronoun == "it":
            spoken = [entity for entity in self.entities if entity.is_org and entity.spoke >= 0]
            return max(spoken, key=lambda entity: entity.spoke, default=None)
        if pronoun in _MALE_PRONOUNS:
            gender, other = "male", "female"
        elif pronoun in _FEMALE_PRONOUNS:
            gender, other = "female", "male"
        else:
            return None  # "they", "we", "I": a group or a speaker inside a quotation
        people = [
            entity for entity in self.entities if not entity.is_org and entity.gender != other
        ]
        # Names never seen with a title may be places, shows or companies ("Kabul said", "The
        # Girls Trip star ..."): people with a title, or a full name that spoke, come first.
        people = [entity for entity in people if _is_surely_person(entity)] or people
        # The person the last sentences were about, else the last one named ("Asif met Tarar.
        # He said" is Asif).
        subjects = [entity for entity in people if entity.subject >= 0]
        if subjects:
            entity = max(subjects, key=lambda entity: entity.subject)
        else:
            entity = max(people, key=lambda entity: entity.seen, default=None)
        if entity is not None:
            entity.gender = gender
        return entity

    def _by_role(self, phrase: _Phrase) -> _Entity | None:
        """The entity titled or named by the role's head, with the most shared modifiers; a
        name inside the role comes first ("Khan's PTI party" is the PTI)."""
        for word in phrase.words[1:]:
            if _is_name_word(word) and not _is_possessive(word):
                named = self._by_name(_Phrase("name", (word,)))
                if named is not None:
                    return named
        candidates = [
            entity for entity in self.entities
            if phrase.head in entity.heads or phrase.head in entity.words
        ]
        modifiers = {word[:_STEM] for word in phrase.roles - {phrase.head}}

        def fit(entity: _Entity) -> tuple[int, int]:
            known = {word[:_STEM] for word in entity.roles | set(entity.words)}
            return len(modifiers & known), entity.seen

        return max(candidates, key=fit, default=None)

    def _by_name(self, phrase: _Phrase) -> _Entity | None:
        """The entity a name, short name or acronym refers to; None for a new name."""
        words = tuple(word.lower() for word in phrase.words)
        acronyms = {words[0]} if len(words) == 1 else set()
        if phrase.alias:
            acronyms.add(phrase.alias.lower())
        for entity in self.entities:
            if (entity.alias and entity.alias.lower() in acronyms) or entity.words == words:
                self._upgrade(entity, phrase.words, phrase.alias)
                return entity
        # "Asif" is "Khawaja Muhammad Asif"; "the Constitutional Court" is "Constitutional Court
        # of Veltara", but "Pakistan" is not "Pakistan Army": an organisation's short name must
        # keep its organisation word.
        wanted = set(words)
        within = [
            entity for entity in self.entities
            if wanted <= set(entity.words) and (not entity.is_org or wanted & _ORG_WORDS)
        ]
        if within:
            return max(within, key=lambda entity: entity.seen)
        # A surname-only first mention ("Asif said ...") takes the full name given later.
        shorter = [
            entity for entity in self.entities
            if len(entity.words) == 1 and not entity.is_org and entity.words[0] == words[-1]
        ]
        if shorter:
            entity = max(shorter, key=lambda entity: entity.seen)
            self._upgrade(entity, phrase.words, phrase.alias)
            return entity
        return None

    @staticmethod
    def _upgrade(entity: _Entity, words: Sequence[str], alias: str | None = None) -> None:
        """Give an entity known by a short name (or an acronym) the longer name now found."""
        if len(words) > len(entity.words):
            entity.name, entity.words = " ".join(words), tuple(word.lower() for word in words)
        entity.alias = entity.alias or alias


# --- one sentence ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Slot:
    """Where a cue's speaker phrase was read: the phrase, the span it covers, its apposition."""

    phrase: _Phrase
    start: int
    end: int
    apposition: _Phrase | None = None


def _attribute(
    text: str, start: int, end: int, quotes: _Quotations, registry: _Registry
) -> tuple[tuple[_Entity, str] | None, bool]:
    """(speaker entity, cue) of one sentence, and whether the sentence has a cue of its own.

    Cues are tried in order, finite verbs and "according to" before participles; the first
    whose speaker resolves wins. Names outside the speaker phrase are registered as mentions
    before and after it, so a pronoun sees only what came before it.
    """
    opening = _clause_subject(text, start, end, quotes)
    if opening is not None:
        subject = registry.resolve(
            opening.phrase, start, create=_is_notable(opening.phrase), subject=True
        )
        audience = _audience(text, start, end, quotes) if subject is not None else None
        if audience:  # "Speaking to Sky News, Asif was asked ...": Asif spoke to Sky News
            subject.audiences.add(audience)
    quoted = bool(quotes.within(start, end))
    has_cue = False
    finite: list[tuple[re.Match[str], _Slot]] = []
    participles: list[tuple[re.Match[str], _Slot]] = []
    for cue in _CUE.finditer(text, start, end):
        if quotes.at(cue.start()) is not None:
            continue
        form = _cue_form(text, start, cue, quoted)
        if form is None:
            continue
        has_cue = True
        if form == "participle":
            slot = _clause_subject(text, start, cue.start(), quotes)
            if slot is not None:
                participles.append((cue, slot))
        else:
            slot = _cue_speaker(text, start, end, cue, quotes)
            if slot is not None:
                finite.append((cue, slot))
    scanned = start
    for cue, slot in finite + participles:
        _scan_mentions(text, scanned, slot.start, quotes, registry)
        scanned = max(scanned, slot.start)
        # A participle's subject is read loosely, so it names no one new ("Shipping agents").
        create = (cue, slot) in finite or _is_notable(slot.phrase)
        entity = registry.resolve(
            slot.phrase, slot.start, slot.apposition, create=create, subject=True
        )
        if entity is not None:
            entity.spoke = slot.start
            _scan_mentions(text, max(slot.end, scanned), end, quotes, registry)
            return (entity, cue.group().lower()), True
    _scan_mentions(text, scanned, end, quotes, registry)
    return None, has_cue


def _cue_form(
    text: str, start: int, cue: re.Match[str], quoted: bool
) -> Literal["finite", "participle"] | None:
    """How a cue reads: a finite verb (or "according to"), a participle after a comma, or no cue.

    Rules out passives ("was told"), infinitives ("to say") and weak verbs out of context; a
    participle after "is"/"was" is a finite verb ("is telling reporters").
    """
    previous = _words_before(text, start, cue.start(), 1)
    before = previous[0].lower() if previous else ""
    if cue["participle"] and before in _PROGRESSIVE:
        return "finite"
    if before in _PASSIVE_OR_INFINITIVE and not cue["according"]:
        return None
    if cue["weak"]:
        return "finite" if quoted or _THAT_OR_COLON.match(text, cue.end()) else None
    if cue["participle"]:
        after_comma = text[max(start, cue.start() - 3) : cue.start()].rstrip().endswith(",")
        return "participle" if after_comma else None
    return "finite"


def _words_before(text: str, start: int, at: int, count: int) -> list[str]:
    """Up to `count` words right before `at` (not before `start`), without edge punctuation."""
    return [
        _strip(word) for word in text[max(start, at - _LOOK_BACK_CHARS) : at].split()[-count:]
    ]


def _cue_speaker(
    text: str, start: int, end: int, cue: re.Match[str], quotes: _Quotations
) -> _Slot | None:
    """The speaker phrase of a finite verb or "according to": before the verb, else after it."""
    if cue["according"]:
        return _phrase_after(text, cue.end(), end, cue.start())
    boundary = start
    for quote in quotes.within(start, cue.start()):
        boundary = max(boundary, quote.end)
    for clause_break in _CLAUSE_BREAK.finditer(text, boundary, cue.start()):
        boundary = clause_break.end()
    left = text[boundary : cue.start()]
    if not left.strip(" ,\"“”'’"):  # '"...," said Tomas Vell' / ', said the ministry.'
        return _phrase_after(text, cue.end(), end, boundary)
    return _subject_before(left.lstrip(" ,"), boundary, cue.end())


def _subject_before(left: str, start: int, end: int) -> _Slot | None:
    """The subject in the text between a clause's start and its verb.

    "Without naming the PTI, Asif" -> "Asif". When a comma closes the text (after dropping a
    trailing ", in an interview with ..."), the last two comma-separated parts are a name and its
    appositive in either order: "Abdul Matin Qani, the spokesperson for the Ministry of
    Interior," or "the military's media wing, Inter-Services Public Relations (ISPR),".
    """
    parts = [part.strip() for part in _COMMA.split(left.rstrip())]
    appositive = False
    while parts and (not parts[-1] or parts[-1].split()[0].lower() in _BREAK_WORDS):
        parts.pop()
        appositive = True
    if not parts:
        return None
    words = parts[-1].split()
    # "... a day after Foreign Minister Ishaq Dar expressed": the verb's subject is in the
    # clause the subordinator opens.
    opening = max((i for i, word in enumerate(words[:-1]) if word.lower() in _SUBORDINATORS),
                  default=-1)
    if opening >= 0 and not appositive:
        parts[-1] = " ".join(words[opening + 1 :])
    last = _analyse(parts[-1])
    if appositive and len(parts) >= 2:
        last = last or _indefinite_role(parts[-1])
        before = _analyse(parts[-2]) or _indefinite_role(parts[-2])
        if last is not None and last.kind == "name":
            role = before if before is not None and before.kind == "role" else None
            return _Slot(last, start, end, role)
        if before is not None and before.kind == "name":
            role = last if last is not None and last.kind == "role" else None
            return _Slot(before, start, end, role)
    return _Slot(last, start, end) if last is not None else None


def _indefinite_role(part: str) -> _Phrase | None:
    """An appositive description with an indefinite article ("a military affairs expert",
    "another official"), read as a role."""
    first, _, rest = part.partition(" ")
    if first.lower() not in ("a", "an", "another") or not rest:
        return None
    phrase = _analyse(f"the {rest}")
    return phrase if phrase is not None and phrase.kind == "role" else None


def _phrase_after(text: str, at: int, end: int, slot_start: int) -> _Slot | None:
    """The noun phrase right after a cue ("said Tomas Vell, the mayor of Brannock")."""
    stop = _noun_phrase_end(text, at, end)
    acronym = _ACRONYM.match(text, stop, end)
    if acronym:
        stop = acronym.end()
    phrase = _analyse(text[at:stop])
    if phrase is None:
        return None
    role = None
    if text.startswith(",", stop):
        apposition_end = _noun_phrase_end(text, stop + 1, end)
        apposition = _analyse(text[stop + 1 : apposition_end])
        if apposition is not None and apposition.kind == "role":
            role, stop = apposition, apposition_end
    return _Slot(phrase, slot_start, stop, role)


def _noun_phrase_end(text: str, at: int, end: int) -> int:
    """Where a phrase starting at `at` stops: punctuation, or a period not ending "Dr." or "M."."""
    for stop in _NP_STOP.finditer(text, at, end):
        if stop.group() == ".":
            word = "".join(text[at : stop.start()].split()[-1:])
            if len(word) == 1 or word.lower() in _ABBREVIATIONS:
                continue
        return stop.start()
    return end


def _clause_subject(text: str, start: int, stop: int, quotes: _Quotations) -> _Slot | None:
    """The subject opening a sentence, or the clause a participle hangs on (", saying ...").

    Skips fronted phrases ("On Gaza, ...", "Speaking to reporters, ..."), then takes the longest
    opening run of words that ends in a name or a title, before a second determiner or a
    preposition: "The minister described the situation ..." -> "The minister".
    """
    boundary = start
    for quote in quotes.within(start, stop):
        if quote.start <= boundary:
            boundary = max(boundary, quote.end)
    dateline = _CLAUSE_BREAK.search(text, boundary, min(stop, boundary + _DATELINE_CHARS))
    if dateline and quotes.at(dateline.start()) is None:  # "ISLAMABAD: ...", "KABUL - ..."
        boundary = dateline.end()
    for part in _COMMA.split(text[boundary:stop], maxsplit=_FRONTED_PARTS):
        words = part.split()
        if not words:
            continue
        first = _strip(words[0]).lower()
        if first in _FRONTED or first.endswith("ing") or _is_adverb(first):
            continue
        last = None
        named = False
        for i, word in enumerate(words[:_LEADING_NP_WORDS]):
            core = _strip(word)
            low = core.lower()
            if i and (low in _DETERMINERS or (low in _BREAK_WORDS and low not in _PARTICLES)):
                break
            if named and core.islower() and low not in _PARTICLES:
                break  # the verb after the name
            if _is_name_word(core) or _role_word(core) in _TITLE_HEADS or (
                i == 0 and low in _PRONOUNS
            ):
                last = i
                named = named or _is_name_word(core)
            if word.endswith(_PHRASE_END_MARKS):
                break
        if last is None:
            return None
        phrase = _analyse(" ".join(words[: last + 1]))
        return _Slot(phrase, boundary, stop) if phrase is not None else None
    return None


def _scan_mentions(
    text: str, start: int, end: int, quotes: _Quotations, registry: _Registry
) -> None:
    """Register the names in [start, end) outside quotations, so later pronouns and roles see them.

    A name with a title ("Information Minister Ataullah Tarar", "union secretary Ilse
    Brandvold", "Pakistan's Defense Minister, Khawaja Muhammad Asif,", "Ana Ferreyra, a deputy
    governor,"), an organisation word or an acronym is registered; any other run of capitalised
    words only refreshes an entity already known ("Asif's allegations ...").
    """
    for run in _NAME_RUN.finditer(text, start, end):
        run_start, run_end = run.span()
        previous = text[run_start - 1 : run_start]
        if previous.isalnum() or previous in ("’", "'") or quotes.at(run_start) is not None:
            continue  # "d’Affaires" is no name's start; quoted words are not the article's
        if not _worth_reading(text, run, registry):
            registry.note_full_name(run.group())
            continue
        words = [core for core in map(_strip, run.group().split()) if core]
        while words and not _is_name_word(words[0]):  # "The Bank of Veltara"
            words.pop(0)
        if not words:
            continue
        words[-1] = _POSSESSIVE.sub("", words[-1])
        words = [*_lower_case_title(text, start, run_start), *words]
        acronym = _ACRONYM.match(text, run_end, end)
        apposition = _apposition(text, run_start, acronym.end() if acronym else run_end, end)
        for index, word in enumerate(words[:-1]):  # "Imran Khan's party": Imran Khan is a mention
            if _is_possessive(word):
                possessor = [*words[:index], _POSSESSIVE.sub("", word)]
                _register(possessor, None, None, registry, run_start)
        _register(words, acronym["alias"] if acronym else None, apposition, registry, run_start)


def _worth_reading(text: str, run: re.Match[str], registry: _Registry) -> bool:
    """A cheap test that a run may name someone: most runs are places, days, first words."""
    words = set(_LETTERS.findall(run.group().lower()))
    if words & registry.known or words & _TITLE_OR_ORG_WORDS:
        return True
    start, end = run.span()
    if _ACRONYM.match(text, end) or _APPOSITIVE_AFTER.match(text, end):
        return True
    before = text[max(0, start - _LOOK_BACK_CHARS) : start].rsplit(None, 1)[-1:]
    return bool(before) and before[0].rstrip(",").lower() in _TITLE_HEADS


def _lower_case_title(text: str, start: int, at: int) -> list[str]:
    """Lower-case title words right before a name: "union secretary", "chief executive"."""
    if not text[at - 1 : at].isspace():
        return []
    words = text[max(start, at - _LOOK_BACK_CHARS) : at].split()[-_TITLE_WORDS_BEFORE:]
    while words and not (words[0].isalpha() and words[0].islower()):
        words.pop(0)
    if words and all(word.isalpha() and word.islower() for word in words):
        return words if _role_word(words[-1]) in _TITLE_HEADS else []
    return []


def _apposition(text: str, start: int, stop: int, end: int) -> _Phrase | None:
    """A title set off by commas beside a name: "<title>, <name>," or "<name>, <title>,"."""
    phrases = []
    if text.startswith(", ", start - 2):
        words = text[max(0, start - _LOOK_BACK_CHARS) : start - 2].split()
        title = list(itertools.takewhile(_is_capitalised, reversed(words)))
        phrases.append(" ".join(reversed(title[:_TITLE_WORDS_AFTER_COMMA])))
    if text.startswith(",", stop):
        match = _APPOSITIVE_AFTER.match(text, stop, end)
        phrases.append(match["role"] if match else "")
    for candidate in phrases:
        phrase = _analyse(candidate)
        if phrase is not None and phrase.kind == "role" and phrase.head in _TITLE_HEADS:
            return phrase
    return None


def _is_capitalised(word: str) -> bool:
    """A capitalised word that no punctuation ends ("ISLAMABAD:" ends a dateline)."""
    return word[:1].isupper() and word[-1].isalnum()


def _register(
    words: list[str], alias: str | None, role: _Phrase | None, registry: _Registry, at: int
) -> None:
    """Register a name met outside a speaker slot, if it is notable or known already."""
    phrase = _analyse(" ".join(words) + (f" ({alias})" if alias else ""))
    if phrase is None or phrase.kind != "name":
        return
    registry.resolve(phrase, at, role, create=_is_notable(phrase) or role is not None)


def _is_notable(phrase: _Phrase) -> bool:
    """Whether a name not met before is worth registering outside a speaker slot.

    Only titled people and organisations are: any capitalised run could be a place or a day.
    """
    if phrase.kind != "name":
        return True
    return phrase.titled or phrase.alias is not None or (
        len(phrase.words) > 1 and _is_org(phrase.words, None)
    )


# --- continuations ----------------------------------------------------------------------------


def _carry_quotations(
    text: str,
    sentences: Sequence[tuple[int, int]],
    quotes: _Quotations,
    found: list[tuple[_Entity, str] | None],
    own_cue: Sequence[bool],
) -> None:
    """Give sentences without a cue of their own the speaker of the quotation they continue.

    That is the speaker of any sentence sharing a quotation (or its chain over paragraphs) with
    it, else, for a sentence opening with a quotation mark, the previous sentence's speaker when
    both are in one paragraph.
    """
    by_chain: dict[int, tuple[_Entity, str]] = {}
    for (start, end), result in zip(sentences, found, strict=True):
        if result is not None:
            for quote in quotes.within(start, end):
                by_chain.setdefault(quote.chain, result)
    for index, (start, end) in enumerate(sentences):
        if found[index] is not None or own_cue[index]:
            continue
        overlapping = quotes.within(start, end)
        carried = next(
            (by_chain[quote.chain] for quote in overlapping if quote.chain in by_chain), None
        )
        opening = quotes.at(start)
        if carried is None and index > 0 and opening is not None and opening.start == start:
            previous_end = sentences[index - 1][1]
            if "\n" not in text[previous_end:start]:
                carried = found[index - 1]
        if carried is not None:
            found[index] = carried
            for quote in overlapping:  # a quotation may run on into the next sentence
                by_chain.setdefault(quote.chain, carried)


# --- statement records ------------------------------------------------------------------------


def statements_in(
    attributions: dict[tuple[int, int], Attribution],
    sentences: Sequence[tuple[int, int]],
    clipped: Sequence[tuple[int, int]],
) -> tuple[Statement, ...]:
    """The statement records of a chunk: its attributed `sentences` (article spans), each with
    its span `clipped` to the chunk, so a record's text is always inside the chunk."""
    found = []
    for span, (start, end) in zip(sentences, clipped, strict=True):
        attribution = attributions.get(span)
        if attribution is not None:
            found.append(Statement(
                start=start, end=end, speaker=attribution.speaker, kind=attribution.kind,
                cue=attribution.cue, roles=attribution.roles, aliases=attribution.aliases,
                audience=attribution.audience, organisation=attribution.organisation,
            ))
    return tuple(found)
