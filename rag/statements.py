"""Who said what across the corpus: every statement record of a snapshot, grouped by speaker.

Ingestion stores, with each chunk, the statement records of its sentences (`Statement`: the
speaker as the article names them, roles, direct or reported, cue, audience). Here they are
gathered once per search snapshot and joined across articles: the same person under several
spellings ("Khwaja M Asif", "Khawaja Muhammad Asif": one family name, compatible initials) or
the same organisation under its acronym is one `Speaker`, named by its most quoted spelling.

A question's subject is resolved against them (`StatementIndex.resolve`): by name, alias or
acronym ("Asif", "the PTI"), or by role ("the Pakistani defence minister", "Pakistan's
military", "the information minister"). Only statements are ever returned: what others said
*about* a speaker is not theirs.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property

from rag.corpus import Corpus
from rag.question import names_in
from rag.schemas import Statement
from rag.variants import american_spelling, is_place

# Only chunk records holding this hold statements: the rest are never parsed.
_HOLDS_STATEMENTS = b'"statements":[{'
_DETERMINERS = frozenset({"the", "a", "an", "this", "that", "its", "his", "her", "their", "our"})
_PREPOSITIONS = frozenset({"for", "of", "at", "in", "on", "to", "from", "with"})
_POSSESSIVE = re.compile(r"[’']s$")
_SYNONYMS = {"spokesman": "spokesperson", "spokeswoman": "spokesperson",
             "chairman": "chair", "chairwoman": "chair", "chairperson": "chair"}
_STEM = 5  # role words compare by this many leading letters: "Pakistani" meets "Pakistan's"
# Role heads a subject may have to be read as a speaker even when no indexed speaker has that
# role: such a subject resolving to no one is abstained on, not searched as a topic.
SPEAKER_HEADS = frozenset({
    "minister", "president", "premier", "chancellor", "spokesperson", "spokesman",
    "spokeswoman", "military", "army", "government", "ministry", "police", "official",
    "leader", "governor", "mayor", "secretary", "ambassador", "commander", "chief", "king",
    "queen", "prince", "general", "envoy", "senator", "judge", "court", "party", "union",
    "company", "bank", "council", "agency", "department", "office", "embassy", "president's",
})


@dataclass(frozen=True)
class Said:
    """One statement as indexed: the record, where it is, and the article it is in."""

    statement: Statement
    position: int  # the corpus row of its chunk
    sentence: int  # its index among the chunk's sentences
    previous: int  # the article offset of the sentence before it in its chunk, or -1
    chunk_id: str
    article_id: str
    text: str
    title: str | None
    source: str | None
    published: dt.date | None
    url: str | None


@dataclass
class Speaker:
    """A person or organisation quoted in the corpus, under every name it is quoted by."""

    name: str
    organisation: bool
    said: list[Said] = field(default_factory=list)

    @cached_property
    def aliases(self) -> list[str]:
        names = Counter()
        for item in self.said:
            names.update([item.statement.speaker, *item.statement.aliases])
        return [name for name, _ in names.most_common() if name != self.name]

    @cached_property
    def roles(self) -> list[str]:
        """Titles and descriptions, most often given first, each once (case aside)."""
        counts: Counter[str] = Counter()
        for item in self.said:
            counts.update(item.statement.roles)
        kept: dict[str, str] = {}
        for role, _ in counts.most_common():
            kept.setdefault(" ".join(_role_words(role)), role)
        return list(kept.values())

    @cached_property
    def outlets(self) -> list[str]:
        return sorted({item.source for item in self.said if item.source})

    @cached_property
    def articles(self) -> int:
        return len({item.article_id for item in self.said})

    @cached_property
    def dates(self) -> tuple[dt.date | None, dt.date | None]:
        days = sorted(item.published for item in self.said if item.published)
        return (days[0], days[-1]) if days else (None, None)

    @cached_property
    def _role_heads(self) -> set[str]:
        """What a role-only subject may name this speaker by: each role's head noun and
        possessor ("the military's media wing": wing, military), an organisation's words."""
        heads: set[str] = set()
        for role in self.roles:
            words = _role_words(role)
            if not words:
                continue
            head, _ = _head(words)
            heads.add(head)
            heads.update(_stem(w) for w in _possessors(role))
        if self.organisation:
            heads.update(_stem(w) for name in [self.name, *self.aliases]
                         for w in _role_words(name))
        return heads

    @cached_property
    def _words(self) -> set[str]:
        found = {_stem(w) for role in self.roles for w in _role_words(role)}
        found.update(_stem(w) for name in [self.name, *self.aliases] for w in _role_words(name))
        return found

    def fits_role(self, head: str, modifiers: list[str]) -> bool:
        """Whether a role-only subject ("the Indian prime minister": head "minister",
        modifiers "indian", "prime") describes this speaker: the head is one of theirs and
        every modifier is among their words, except, for an organisation, a country its roles
        do not name ("Pakistan's military" is ISPR, "the military's media wing")."""
        if _stem(head) not in self._role_heads:
            return False
        places = [w for w in self._words if is_place(w)]
        for modifier in modifiers:
            if _stem(modifier) in self._words:
                continue
            if self.organisation and is_place(modifier) and not places:
                continue
            return False
        return True

    def answers_to(self, name: str) -> bool:
        """Whether a name in a question is this speaker's: the same name, alias or acronym, a
        person's family name with compatible initials ("Khawaja Asif"), or an organisation's
        words ("Inter-Services Public Relations")."""
        wanted = normal_name(name)
        known = [normal_name(n) for n in [self.name, *self.aliases]]
        if wanted in known:
            return True
        words = wanted.split()
        if self.organisation:
            return any(set(words) <= set(n.split()) for n in known) and len(words) > 1
        full = [n.split() for n in known if len(n.split()) > 1]
        if len(words) > 1 and full:  # "Elon Musk" is not "Bloomberg Businessweek Musk"
            return any(_same_person(words, n) for n in full)
        return any(_same_person(words, n.split()) for n in known)


@dataclass(frozen=True)
class Resolution:
    """Who a question's subject is: the speakers it names, or why none."""

    speakers: list[Speaker]
    subject: str
    speaker_like: bool  # a name or a role: abstain when no speaker fits, rather than search


class StatementIndex:
    """Every statement of one snapshot, by speaker. Built once per snapshot (`for_corpus`)."""

    def __init__(self, said: Iterable[Said]) -> None:
        self.speakers = _group(said)
        self.statements = sum(len(s.said) for s in self.speakers)
        self._owners = {(item.article_id, item.statement.start): speaker
                        for speaker in self.speakers for item in speaker.said}

    def owner(self, said: Said) -> Speaker:
        """The speaker a statement is counted under."""
        return self._owners[(said.article_id, said.statement.start)]

    @classmethod
    def from_corpus(cls, corpus: Corpus) -> StatementIndex:
        """The statements of every chunk that holds any; a sentence that two overlapping
        chunks share counts once (its longer copy)."""
        kept: dict[tuple[str, int], Said] = {}
        for position in corpus.positions_holding(_HOLDS_STATEMENTS):
            chunk = corpus[position]
            index_of = {span: i for i, span in enumerate(chunk.sentences)}
            for statement in chunk.statements:
                sentence = index_of.get((statement.start, statement.end), -1)
                said = Said(
                    statement=statement, position=position, sentence=sentence,
                    previous=chunk.sentences[sentence - 1][0] if sentence > 0 else -1,
                    chunk_id=chunk.id, article_id=chunk.article_id,
                    text=chunk.text[statement.start - chunk.start : statement.end - chunk.start],
                    title=chunk.title, source=chunk.source, published=chunk.published,
                    url=chunk.url,
                )
                key = (chunk.article_id, statement.start)
                if key not in kept or _fuller(said, kept[key]):
                    kept[key] = said
        return cls(kept.values())

    def speaker(self, name: str) -> Speaker | None:
        """The speaker a name (canonical, alias or family name) stands for, or None."""
        found = [s for s in self.speakers if s.answers_to(name)]
        return max(found, key=lambda s: len(s.said), default=None)

    def resolve(self, subject: str, person: str | None) -> Resolution:
        """The speakers a question's subject stands for: by the name it ends with (`person`),
        else by the names or the role it holds."""
        if person:
            found = [s for s in self.speakers if s.answers_to(person)]
            return Resolution(found, person, speaker_like=True)
        words = _role_words(subject)
        if not words:
            return Resolution([], subject, speaker_like=False)
        written = [s for s in self.speakers if s.answers_to(subject)]
        if written:  # a name as the question wrote it: "varnholt", "(Varnholt)"
            return Resolution(written, subject, speaker_like=True)
        names = [n for n in names_in(subject) if not _POSSESSIVE.search(n)]
        named = [s for n in names for s in self.speakers if s.answers_to(n)]
        if named and subject.lower().removeprefix("the ").strip() in (n.lower() for n in names):
            return Resolution(named, subject, speaker_like=True)  # "the PTI"
        head, modifiers = _head(words)
        found = [s for s in self.speakers if s.fits_role(head, modifiers)]
        known_head = head in SPEAKER_HEADS or any(
            _stem(head) in s._role_heads for s in self.speakers)
        return Resolution(found, subject, speaker_like=known_head or bool(named))


_cache_lock = threading.Lock()


def for_corpus(corpus: Corpus, cache: dict[int, StatementIndex]) -> StatementIndex:
    """The statement index of a snapshot's corpus, built on first use and kept in `cache`
    (keyed by the corpus object, so a new snapshot gets a new index)."""
    key = id(corpus)
    with _cache_lock:
        index = cache.get(key)
        if index is None:
            cache.clear()
            index = cache[key] = StatementIndex.from_corpus(corpus)
        return index


# --- grouping ---------------------------------------------------------------------------------


def _group(said: Iterable[Said]) -> list[Speaker]:
    """Join the articles' speakers: organisations by acronym or name, people by family name
    and compatible initials; each is named by its most quoted spelling."""
    clusters: list[tuple[bool, list[list[str]], list[Said]]] = []
    placed: dict[tuple[bool, str, tuple[str, ...]], int] = {}  # one article's name: its cluster
    for item in said:
        statement = item.statement
        key = (statement.organisation, statement.speaker, statement.aliases)
        if key in placed:
            clusters[placed[key]][2].append(item)
            continue
        words = [normal_name(n).split() for n in (statement.speaker, *statement.aliases)]
        for number, (organisation, known, members) in enumerate(clusters):
            if organisation == statement.organisation and _joins(words, known, organisation):
                known.extend(w for w in words if w not in known)
                members.append(item)
                placed[key] = number
                break
        else:
            placed[key] = len(clusters)
            clusters.append((statement.organisation, words, [item]))
    speakers = []
    for organisation, _, members in clusters:
        counts = Counter(m.statement.speaker for m in members)
        name = max(counts, key=lambda n: (counts[n], len(n)))
        speakers.append(Speaker(name, organisation, sorted(members, key=_reading_order)))
    return sorted(speakers, key=lambda s: (-len(s.said), s.name))


def _joins(words: list[list[str]], known: list[list[str]], organisation: bool) -> bool:
    """Whether an article's speaker (its name, then its other names) is a cluster's: an
    organisation by any name or acronym in common; a person by a full name in common or
    compatible with one, or, named by one word only, by that family name. A one-word short
    form ("Kelce") never joins two full names ("Jason Kelce", "Travis Kelce")."""
    if organisation:
        return any(w in known for w in words)
    full = words[0]
    if len(full) == 1:
        return any(name[-1] == full[0] for name in known)
    return any(len(name) > 1 and _same_person(full, name) for name in known)


def _same_person(asked: list[str], known: list[str]) -> bool:
    """One family name (last word) and, where both give more, first names that could be one
    ("Khwaja M" and "Khawaja Muhammad"; "Imran Khan" is not "Sadiq Khan")."""
    if not asked or not known or asked[-1] != known[-1]:
        return False
    if len(asked) == 1 or len(known) == 1:
        return True
    return asked[0][:1] == known[0][:1]


def _fuller(said: Said, other: Said) -> bool:
    """Of two chunks' copies of one sentence, the one not cut by its chunk's edge, then the
    one that knows the sentence before it."""
    return (len(said.text), said.previous >= 0) > (len(other.text), other.previous >= 0)


def _reading_order(item: Said) -> tuple[int, str, int]:
    day = item.published.toordinal() if item.published else dt.date.max.toordinal()
    return (day, item.article_id, item.statement.start)


# --- words ------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=8192)
def normal_name(text: str) -> str:
    """Lower-cased, possessives and punctuation dropped, spaces single."""
    words = [_POSSESSIVE.sub("", w) for w in re.findall(r"[\w’'.-]+", text.lower())]
    return " ".join(w.strip(".’'-") for w in words if w.strip(".’'-"))


def _role_words(text: str) -> list[str]:
    """A role's words without determiners, in one spelling ("defence" -> "defense")."""
    words = []
    for word in normal_name(text).split():
        if word in _DETERMINERS:
            continue
        word = _SYNONYMS.get(word, word)
        words.append(american_spelling(word))
    return words


def _head(words: list[str]) -> tuple[str, list[str]]:
    """A role's head noun (its last word before a preposition) and its other words."""
    cut = next((i for i, w in enumerate(words) if w in _PREPOSITIONS and i), len(words))
    head = words[cut - 1] if cut else words[-1]
    modifiers = [w for i, w in enumerate(words) if i != cut - 1 and w not in _PREPOSITIONS]
    return _stem(head), modifiers


def _possessors(role: str) -> list[str]:
    """Words a role makes possessive ("the military's media wing" -> "military")."""
    return [_POSSESSIVE.sub("", w).lower() for w in role.split()
            if _POSSESSIVE.search(w) and w[:1].islower()]


def _stem(word: str) -> str:
    return word[:_STEM]
