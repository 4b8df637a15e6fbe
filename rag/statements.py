"""Who said what across the corpus: every statement record of a snapshot, grouped by speaker
(one `Speaker` for each person or organisation, whatever the spelling), and a question's
subject resolved against them by name, acronym or role (docs/answering.md, "Who said what").
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from rag.corpus import Corpus
from rag.question import names_in
from rag.roles import (
    AGENT_ENDINGS,
    BODY_NOUNS,
    GOVERNMENT,
    LEADER_WORDS,
    TITLE_QUALIFIERS,
    Membership,
    anchored,
    body_beside,
    body_membership,
    head,
    head_stem,
    leads,
    normal_name,
    officer_only,
    possessors,
    role_bodies,
    role_words,
    same_name,
    shares_common_noun,
    stem,
    title_head,
)
from rag.schemas import Statement
from rag.variants import is_place

SETTING_SENTENCES = 1  # the lead: how many of an article's first sentences set its scene

# Only chunk records holding this hold statements: the rest are never parsed.
_HOLDS_STATEMENTS = b'"statements":[{'
_POSSESSIVE = re.compile(r"[’']s$")
_LEADERS = frozenset(head_stem(w) for w in LEADER_WORDS)
# Near a role no speaker fits: at most this many speakers are named instead.
MAX_NEAR = 3
# A body a role names weighs this much more than its other words when none fits it.
_BODY_WEIGHT = 3
# Role heads a subject may have to be read as a speaker even when no indexed speaker has that
# role: such a subject resolving to no one is abstained on, not searched as a topic.
SPEAKER_HEADS = frozenset({
    "minister", "president", "premier", "chancellor", "spokesperson", "spokesman",
    "spokeswoman", "military", "army", "government", "ministry", "police", "official",
    "leader", "governor", "mayor", "secretary", "ambassador", "commander", "chief", "king",
    "queen", "prince", "general", "envoy", "senator", "judge", "court", "party", "union",
    "company", "bank", "council", "agency", "department", "office", "embassy", "president's",
})
_SPEAKER_HEADS = frozenset(head_stem(w) for w in SPEAKER_HEADS)


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
    story: str = ""  # its article's story (`Chunk.story`): copies of one story share it


@dataclass
class Speaker:
    """A person or organisation quoted in the corpus, under every name it is quoted by."""

    name: str
    organisation: bool
    said: list[Said] = field(default_factory=list)
    # Bodies a person speaks for (`rag.roles.Membership`), set by the index that groups them.
    memberships: list[Membership] = field(default_factory=list)

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
            kept.setdefault(" ".join(role_words(role)), role)
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
            title = title_head(role)
            if title is None:
                continue
            heads.add(title)
            heads.update(head_stem(w) for w in possessors(role))
        if self.organisation:
            heads.update(head_stem(w) for name in [self.name, *self.aliases]
                         for w in role_words(name))
        return heads

    @cached_property
    def _words(self) -> set[str]:
        found = {stem(w) for role in self.roles for w in role_words(role)}
        found.update(stem(w) for name in [self.name, *self.aliases] for w in role_words(name))
        return found

    @cached_property
    def _leads(self) -> bool:
        return any(leads(role) for role in self.roles)

    @cached_property
    def anchored(self) -> bool:
        """Whether a role names the speaker's own country or body ("Veltara's defence
        minister"): then no article's setting may stand in for words the roles lack."""
        return any(anchored(role) for role in self.roles)

    def fits_role(self, role_head: str, modifiers: list[str],
                  settings: Iterable[frozenset[str]] = (),
                  qualifiers: frozenset[str] = frozenset()) -> bool:
        """Whether a role-only subject ("the Indian prime minister": head "minister",
        modifiers "indian", "prime") describes this speaker.

        The head must be one of theirs: a title's head ("leader", "chief" for any title that
        leads its body), a body they speak for ("the union" for its secretary, "the government"
        for a minister) or, for an organisation, a word of its name. Every modifier must be
        among their words (a body's too) except, for an organisation, a country its roles do
        not name ("Pakistan's military" is ISPR). Modifiers the speaker's words lack may be
        read from the setting of one of their articles (its headline and lead: "the Brannock
        mayor"), unless one is among the title `qualifiers` ("prime", "deputy": a title's own
        words) or a role anchors the speaker elsewhere."""
        wanted = role_head
        descriptions: list[set[str]] = []
        if wanted in self._role_heads or (wanted in _LEADERS and self._leads):
            descriptions.append(self._words)
        descriptions.extend(self._words | m.words for m in self.memberships
                            if m.head == wanted)
        places = [w for w in self._words if is_place(w)]
        for words in descriptions:
            missing = [m for m in modifiers if stem(m) not in words
                       and not (self.organisation and is_place(m) and not places)]
            if not missing:
                return True
            if (not self.anchored and not any(stem(m) in qualifiers for m in missing)
                    and any(all(_in_setting(m, setting) for m in missing)
                            for setting in settings)):
                return True
        return False

    def near_role(self, role_head: str, modifiers: list[str],
                  settings: Iterable[frozenset[str]] = ()) -> float:
        """How close this speaker's description comes to a role no one fits: its head shared
        (1), each body noun ("union": `_BODY_WEIGHT`) and other word (1) among their words, a
        word only in one of their articles' settings at half that. 0 unless the head or a body
        noun is among their own: what ranks the speakers named instead."""
        words = self._words.union(*(m.words for m in self.memberships))
        heads = self._role_heads | {m.head for m in self.memberships}
        weights = {m: _BODY_WEIGHT if m in BODY_NOUNS else 1 for m in modifiers}
        score = float(role_head in heads or (role_head in _LEADERS and self._leads))
        if not score and not any(stem(m) in words for m in modifiers if m in BODY_NOUNS):
            return 0.0
        settings = [] if self.anchored else list(settings)
        for modifier, weight in weights.items():
            if stem(modifier) in words:
                score += weight
            elif any(_in_setting(modifier, setting) for setting in settings):
                score += weight / 2
        return score

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

    def speaks_for(self, name: str) -> bool:
        """Whether a person speaks for the body a name names: their role names it ("VeltaRail
        chief executive", "Civic Alliance leader") or they belong to it ("Councillor Yusuf
        Brennholt of the Green List"; "union secretary" quoted beside the Harbour Workers'
        Union of Veltara)."""
        if self.organisation:
            return False
        wanted = set(role_words(name)) - {"of", "and", "for"}
        if not wanted:
            return False
        role_sets = [set(role_words(r)) for r in self.roles]
        role_sets += [set(role_words(m.body)) for m in self.memberships if m.body != GOVERNMENT]
        return any(wanted <= words for words in role_sets)


@dataclass(frozen=True)
class Resolution:
    """Who a question's subject is: the speakers it names, or why none."""

    speakers: list[Speaker]
    subject: str
    speaker_like: bool  # a name or a role: abstain when no speaker fits, rather than search
    # When no speaker fits a role: those whose descriptions come closest, best first.
    near: list[Speaker] = field(default_factory=list)


class StatementIndex:
    """Every statement of one snapshot, by speaker. Built once per snapshot (`for_corpus`)."""

    def __init__(self, said: Iterable[Said], corpus: Corpus | None = None) -> None:
        """`corpus` (the snapshot's chunks) gives each article's setting: its headline and lead
        sentence; without it a subject's words must all be among a speaker's own."""
        self._said = list(said)  # in the order read, which the grouping follows
        self.speakers = _group(self._said)
        _join_bodies(self.speakers)
        self.statements = sum(len(s.said) for s in self.speakers)
        self._owners = {(item.article_id, item.statement.start): speaker
                        for speaker in self.speakers for item in speaker.said}
        self._corpus = corpus
        self._qualifiers = title_qualifiers(self.speakers)
        self._settings: dict[str, frozenset[str]] = {}
        self._leads: dict[str, str | None] = {}
        self._titles = {item.article_id: item.title for s in self.speakers for item in s.said}
        # What questions derive from statements and headlines (their content's vectors, their
        # terms), kept for the snapshot.
        self.vectors: dict[tuple[str, ...], np.ndarray] = {}
        self.terms: dict[tuple[str, ...], set[str]] = {}

    def owner(self, said: Said) -> Speaker:
        """The speaker a statement is counted under."""
        return self._owners[(said.article_id, said.statement.start)]

    @classmethod
    def from_corpus(cls, corpus: Corpus, earlier: StatementIndex | None = None
                    ) -> StatementIndex:
        """The statements of every chunk that holds any; a sentence that two overlapping
        chunks share counts once (its longer copy). `earlier`: the index of the corpus this
        one extends (`Corpus.extends`), whose statements are taken as read rather than
        parsed again (ignored for any other corpus)."""
        kept: dict[tuple[str, int], Said] = {}
        first = 0
        if earlier is not None and earlier._corpus is not None and (
                earlier._corpus is corpus.extends()):
            kept = {(item.article_id, item.statement.start): item for item in earlier._said}
            first = len(earlier._corpus)
        for position in corpus.positions_holding(_HOLDS_STATEMENTS, first):
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
                    url=chunk.url, story=chunk.story,
                )
                key = (chunk.article_id, statement.start)
                if key not in kept or _fuller(said, kept[key]):
                    kept[key] = said
        return cls(kept.values(), corpus)

    def speaker(self, name: str) -> Speaker | None:
        """The speaker a name (canonical, alias or family name) stands for, or None."""
        found = [s for s in self.speakers if s.answers_to(name)]
        return max(found, key=lambda s: len(s.said), default=None)

    def positions(self, article_id: str) -> np.ndarray:
        """The corpus rows of an article's chunks (none without a corpus)."""
        if self._corpus is None:
            return np.zeros(0, dtype=np.int64)
        codes = np.flatnonzero(self._corpus.articles == article_id)
        if not codes.size:
            return np.zeros(0, dtype=np.int64)
        return np.flatnonzero(self._corpus.article == codes[0])

    def lead_position(self, article_id: str) -> int | None:
        """The corpus row of an article's first chunk (whose first sentence is its lead)."""
        rows = self.positions(article_id)
        return int(rows[np.argmin(self._corpus.start[rows])]) if rows.size else None

    def title(self, article_id: str) -> str | None:
        """An article's headline (any article of the corpus, quoted or not)."""
        if article_id not in self._titles:
            self.lead(article_id)
        return self._titles.get(article_id)

    def lead(self, article_id: str) -> str | None:
        """An article's lead: the first sentence of its first chunk (None without a corpus)."""
        if article_id not in self._leads:
            position = self.lead_position(article_id)
            text = None
            if position is not None:
                chunk = self._corpus[position]
                spans = chunk.sentences[:SETTING_SENTENCES] or [(chunk.start, chunk.end)]
                text = " ".join(chunk.text[a - chunk.start: b - chunk.start] for a, b in spans)
                self._titles.setdefault(article_id, chunk.title)
            self._leads[article_id] = text
        return self._leads[article_id]

    def setting(self, article_id: str) -> frozenset[str]:
        """The words of an article's headline and lead sentence: where its story is set."""
        found = self._settings.get(article_id)
        if found is None:
            text = f"{self.title(article_id) or ''} {self.lead(article_id) or ''}"
            found = self._settings[article_id] = frozenset(role_words(text))
        return found

    def resolve(self, subject: str, person: str | None,
                names: list[str] | None = None) -> Resolution:
        """The speakers a question's subject stands for: by the name it ends with (`person`),
        with, for a body, the people who speak for it; else by the names (`names`, read from
        `subject` when not given) or the role it holds (`Speaker.fits_role`)."""
        if person:
            return Resolution(self._named(person), person, speaker_like=True)
        words = role_words(subject)
        if not words:
            return Resolution([], subject, speaker_like=False)
        written = [s for s in self.speakers if s.answers_to(subject)]
        if written:  # a name as the question wrote it: "varnholt", "(Varnholt)"
            return Resolution(written, subject, speaker_like=True)
        names = [n for n in (names_in(subject) if names is None else names)
                 if not _POSSESSIVE.search(n)]
        named = [s for n in names for s in self.speakers if s.answers_to(n)]
        if named and subject.lower().removeprefix("the ").strip() in (n.lower() for n in names):
            return Resolution(named, subject, speaker_like=True)  # "the PTI"
        role_head, modifiers = head(words)
        proper = {stem(w) for w in role_words(" ".join(
            w for w in subject.split() if w[:1].isupper()))}
        qualifiers = self._qualifiers - proper  # a name the question capitalises places
        found = [s for s in self.speakers
                 if s.fits_role(role_head, modifiers, self._settings_of(s), qualifiers)]
        known_head = (role_head in _SPEAKER_HEADS or role_head in _LEADERS
                      or words[-1].endswith(AGENT_ENDINGS)) or any(
            role_head in s._role_heads or any(m.head == role_head for m in s.memberships)
            for s in self.speakers)
        near = [] if found else self._near(role_head, modifiers)
        return Resolution(found, subject, speaker_like=known_head or bool(named), near=near)

    def _named(self, name: str) -> list[Speaker]:
        """The speakers a name stands for; for a body (quoted or not), with those who speak
        for it ("VeltaRail": its chief executive)."""
        found = [s for s in self.speakers if s.answers_to(name)]
        if any(not s.organisation for s in found):
            return found
        return found + [s for s in self.speakers if s not in found and s.speaks_for(name)]

    def _settings_of(self, speaker: Speaker) -> Iterator[frozenset[str]]:
        for article in dict.fromkeys(item.article_id for item in speaker.said):
            yield self.setting(article)

    def _near(self, role_head: str, modifiers: list[str]) -> list[Speaker]:
        """Speakers whose descriptions share most of a role no one fits, when few do."""
        scored = [(s.near_role(role_head, modifiers, self._settings_of(s)), s)
                  for s in self.speakers]
        best = max((score for score, _ in scored), default=0.0)
        closest = [s for score, s in scored if score == best]
        if not best or (best < 2 and len(closest) > MAX_NEAR):
            return []
        return closest


_cache_lock = threading.Lock()


def for_corpus(corpus: Corpus, cache: dict[int, StatementIndex]) -> StatementIndex:
    """The statement index of a snapshot's corpus, built on first use and kept in `cache`
    (keyed by the corpus object, so a new snapshot gets a new index; the index holds its
    corpus, and is checked to be that corpus's, so an id reused by a later corpus never
    finds a stale index)."""
    key = id(corpus)
    with _cache_lock:
        index = cache.get(key)
        if index is None or index._corpus is not corpus:
            earlier = next(iter(cache.values()), None)
            cache.clear()
            index = cache[key] = StatementIndex.from_corpus(corpus, earlier)
        return index


# --- grouping ---------------------------------------------------------------------------------


def _group(said: Iterable[Said]) -> list[Speaker]:
    """Join the articles' speakers: organisations by acronym or name, people by family name
    and compatible initials; each is named by its most quoted spelling."""
    clusters: list[tuple[bool, list[list[str]], list[Said]]] = []
    placed: dict[tuple[bool, str, tuple[str, ...]], int] = {}  # one article's name: its cluster
    # The clusters a name could join (`_blocks`), so each is not compared with every one.
    holding: dict[tuple[bool, tuple[str, ...]], list[int]] = {}
    for item in said:
        statement = item.statement
        key = (statement.organisation, statement.speaker, statement.aliases)
        if key in placed:
            clusters[placed[key]][2].append(item)
            continue
        words = [normal_name(n).split() for n in (statement.speaker, *statement.aliases)]
        candidates = sorted({number for block in _blocks(statement.organisation, words, True)
                             for number in holding.get(block, ())})
        for number in candidates:
            organisation, known, members = clusters[number]
            if _joins(words, known, organisation):
                fresh = []
                for name in words:
                    if name not in known:
                        known.append(name)
                        fresh.append(name)
                members.append(item)
                placed[key] = number
                break
        else:
            number, fresh = len(clusters), words
            placed[key] = number
            clusters.append((statement.organisation, words, [item]))
        for block in _blocks(statement.organisation, fresh, False):
            if number not in (numbers := holding.setdefault(block, [])):
                numbers.append(number)
    speakers = []
    for organisation, _, members in clusters:
        counts = Counter(m.statement.speaker for m in members)
        name = max(counts, key=lambda n: (counts[n], len(n)))
        speakers.append(Speaker(name, organisation, sorted(members, key=_reading_order)))
    return sorted(speakers, key=lambda s: (-len(s.said), s.name))


def _blocks(organisation: bool, names: list[list[str]], asking: bool
            ) -> list[tuple[bool, tuple[str, ...]]]:
    """What a cluster holding these names is found by (`asking` False), or what a speaker of
    these names looks clusters up by (`asking` True): an organisation by each whole name, a
    person by family name, the only one `_joins` can match by (a person is matched by their
    first name alone, its last word)."""
    if organisation:
        return [(True, tuple(name)) for name in names]
    if asking:
        return [(False, (names[0][-1],))] if names and names[0] else []
    return [(False, (name[-1],)) for name in names if name]


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


# --- memberships ------------------------------------------------------------------------------


def _join_bodies(speakers: list[Speaker]) -> None:
    """Give each person the bodies they speak for: those their roles name, the one named right
    after their name, a body quoted in the same article that their role's common nouns name
    ("union secretary" beside the Harbour Workers' Union of Veltara), and, for a bare
    officer's title ("chief executive"), the only body their article quotes."""
    bodies: dict[str, list[Speaker]] = {}
    for speaker in speakers:
        if speaker.organisation:
            for article in {item.article_id for item in speaker.said}:
                bodies.setdefault(article, []).append(speaker)
    for person in speakers:
        if person.organisation:
            continue
        found = [m for role in person.roles for m in role_bodies(role)]
        names = [person.name, *person.aliases]
        for item in person.said:
            beside = body_beside(item.text, [item.statement.speaker, *item.statement.aliases])
            if beside and beside not in names:
                found.append(body_membership(beside))
            quoted = bodies.get(item.article_id, [])
            for body in quoted:
                if any(shares_common_noun(role, body.name) for role in item.statement.roles):
                    found.append(body_membership(body.name))
            if len(quoted) == 1 and officer_only(list(item.statement.roles)):
                found.append(body_membership(quoted[0].name))
        person.memberships = list(dict.fromkeys(found))


def _in_setting(word: str, setting: frozenset[str]) -> bool:
    return word in setting or any(same_name(word, other) for other in setting)


def title_qualifiers(speakers: list[Speaker]) -> frozenset[str]:
    """Stems of words that qualify a title rather than place its holder, never read from an
    article's setting: `rag.roles.TITLE_QUALIFIERS` and every word a quoted role puts before
    its head ("finance" of "Finance Minister", "regional" of "regional fire commander")."""
    qualifiers = {stem(w) for w in TITLE_QUALIFIERS}
    for speaker in speakers:
        for role in speaker.roles:
            words = role_words(role)
            if words:
                _, modifiers = head(words)
                qualifiers.update(stem(w) for w in modifiers)
    return frozenset(qualifiers)
