"""How well statements answer a topic or a claim, and whether they are on it: by their own words
(other spellings counted), by meaning, or by the story around them. The rules, their thresholds
and how they were fitted: docs/evaluation.md, "Who said what".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from rag.analysis import Analyzer
from rag.coverage import term_weights
from rag.lexical import LexicalIndex
from rag.question import names_in
from rag.speech_verbs import TELLING
from rag.statements import Said, StatementIndex
from rag.variants import variants

# A statement is on the topic when it holds this weighted share of the topic's terms ...
MIN_TOPIC_COVERAGE = 0.5
# ... or its sentence's or content's vector has at least this cosine to the topic's.
MIN_TOPIC_COSINE = 0.55
MEANING_WEIGHT = 0.5
# A statement's article headline and lead count for the topic's words at this share.
CONTEXT_CREDIT = 0.5
# An article is about a topic when its headline or lead has at least this cosine to it, and
# no article the search finds for the topic comes closer by more than the margin.
MIN_STORY_COSINE = 0.18
STORY_MARGIN = 0.05
STORY_CANDIDATES = 10  # articles the search is asked for, to compare with
# A claim ("Who said the strike would continue?") is matched by a statement at this cosine,
# or at the lower one when the statement's article is the claim's story.
MIN_CLAIM_COSINE = 0.5
MIN_CLAIM_COSINE_IN_STORY = 0.3
# Statements whose content is embedded for a question: the best by words and sentence vector.
SHORTLIST = 30
# How a bare topic is embedded: a noun phrase alone ("the strike") is a poor sentence.
_STORY_PROMPT = "news about {}"
_QUOTED = re.compile(r"[\"“«]([^\"“”«»]+)[\"”»]")
_PRONOUNS = frozenset({"he", "she", "it", "they", "we"})
_WORD = re.compile(r"[\w’'-]+")
_QUOTED_SHARE = 0.5  # of a sentence's characters quoted, that make the quotation its content
_CONTENT_WORDS = 4  # fewer words after a cue: the content is before it ("..., Mirov said")


@dataclass(frozen=True)
class Meaning:
    """What the statements' meaning is read with: the question encoder, a chunk's sentence
    cosines to a vector (`SentenceReader.cosines`), and the article ids the search ranks
    first for a text; `read` reads many chunks' sentence vectors at once before their cosines
    are asked one by one (`StoredSentences.read`: one request, not one a chunk)."""

    embed: Callable[[str], np.ndarray]
    cosines: Callable[[int, np.ndarray], np.ndarray]
    related: Callable[[str], list[str]]
    read: Callable[[Iterable[int]], object] = lambda positions: None


@dataclass
class Unit:
    """Statements that run on as one quotation, and how well they answer the topic."""

    said: list[Said]
    score: float = 0.0
    on_topic: bool = True
    cosine: float = field(default=0.0, compare=False)


def content_of(said: Said) -> str:
    """What a statement says without its attribution: the quotation of a direct one, the
    clause after (or before) the cue of a reported one."""
    text = said.text.strip()
    statement = said.statement
    quoted = _QUOTED.findall(text)
    if quoted and sum(map(len, quoted)) > _QUOTED_SHARE * len(text):
        return " ".join(q.strip(" ,") for q in quoted)
    if statement.kind == "direct" and not quoted:  # a sentence of a longer quotation
        tail = re.search(r"[\"”»],?\s+[^\"“”«»]*$", text)
        return (text[: tail.start()] if tail else text).strip(" \"“”«»,")
    cue = re.search(rf"\b{re.escape(statement.cue)}\b", text)
    if cue is None:
        return text
    left, right = text[: cue.start()], text[cue.end():]
    if statement.cue.lower() in TELLING:  # "told reporters that ...": the audience is no content
        that = re.search(r"\bthat\b", right)
        right = right[that.end():] if that else ""
    adding = re.match(r"\s*,\s*(?:adding|saying|noting)\s+(?:that\s+)?", right)
    right = right[adding.end():] if adding else re.sub(
        r"^\s*(?:on \w+\s+|later\s+)?(?:that\s+)?", "", right)
    if not adding and len(right.split()) >= _CONTENT_WORDS:
        return right.strip(" ,")
    speaker = {w.lower() for name in (statement.speaker, *statement.aliases, *statement.roles)
               for w in _WORD.findall(name)} | _PRONOUNS
    before, comma, clause = left.rpartition(",")
    if comma and {w.lower() for w in _WORD.findall(clause)} & speaker:
        left = before  # "..., Mirov said": what comes before the speaker is the content
    parts = [part for part in (left.strip(" ,"), right.strip(" ,.")) if part]
    content = "; ".join(parts)
    return content if len(content.split()) >= _CONTENT_WORDS - 1 else text


class TopicScorer:
    """Scores statements on one topic (`score`) or one claim (`score_claim`)."""

    def __init__(self, topic: str, index: StatementIndex, lexical: LexicalIndex,
                 meaning: Meaning | None) -> None:
        self.topic = topic
        self.index = index
        self.lexical = lexical
        self.meaning = meaning
        self.weights = term_weights(topic, lexical)
        self.names = names_in(topic)  # read once, for every article `_names_all` looks at
        self.spelled = _other_spellings(topic, self.weights, lexical.analyzer, self.names)
        self.vector = meaning.embed(topic) if meaning is not None else None
        self._story: dict[str, bool] = {}
        self._story_vector: np.ndarray | None = None
        self._rivals: float | None = None

    def covered(self, terms: set[str]) -> float:
        """The weighted share of the topic's terms among these (other spellings counted)."""
        total = sum(self.weights.values())
        if not total:
            return 0.0
        terms = terms | {self.spelled[t] for t in terms if t in self.spelled}
        return sum(w for t, w in self.weights.items() if t in terms) / total

    def score(self, units: list[Unit]) -> list[Unit]:
        """Each unit's score on the topic (its best statement's) and whether it is on it;
        only when none is by its own words or meaning does its story count."""
        said = [s for unit in units for s in unit.said]
        own = self._own(said)
        for unit in units:
            unit.score = max(own[id(s)][0] + MEANING_WEIGHT * own[id(s)][1] for s in unit.said)
            unit.cosine = max(own[id(s)][1] for s in unit.said)
            unit.on_topic = any(share >= MIN_TOPIC_COVERAGE or cosine >= MIN_TOPIC_COSINE
                                for share, cosine in (own[id(s)] for s in unit.said))
        if any(unit.on_topic for unit in units):
            return units
        for unit in units:
            unit.on_topic = any(self._in_story(s) for s in unit.said)
        return units

    def score_claim(self, units: list[Unit]) -> list[Unit]:
        """Each unit's score as the statement of a claim ("the strike would continue"): its
        meaning first, its words after; on the claim when close enough in meaning, or a
        little less close within the claim's story."""
        said = [s for unit in units for s in unit.said]
        own = self._own(said)
        for unit in units:
            best = max(unit.said, key=lambda s: own[id(s)][1] + MEANING_WEIGHT * own[id(s)][0])
            share, cosine = own[id(best)]
            unit.score, unit.cosine = cosine + MEANING_WEIGHT * share, cosine
            unit.on_topic = cosine >= MIN_CLAIM_COSINE or (
                cosine >= MIN_CLAIM_COSINE_IN_STORY and self._about(best.article_id))
        return units

    # --- a statement's own words and meaning ---------------------------------------------------

    def _own(self, said: list[Said]) -> dict[int, tuple[float, float]]:
        """Each statement's (share of the topic's terms, best cosine of its sentence and its
        content); content is embedded for the `SHORTLIST` best by the rest."""
        found: dict[int, tuple[float, float]] = {}
        if self.vector is not None:
            self.meaning.read(s.position for s in said if s.sentence >= 0)
        for item in said:
            found[id(item)] = (self.covered(self._terms(item)), self._sentence_cosine(item))
        if self.vector is None:
            return found
        shortlist = sorted(said, key=lambda s: -(found[id(s)][0] + found[id(s)][1]))
        for item in shortlist[:SHORTLIST]:
            share, cosine = found[id(item)]
            found[id(item)] = (share, max(cosine, float(self._content_vector(item) @ self.vector)))
        return found

    def _terms(self, said: Said) -> set[str]:
        key = ("terms", said.article_id, str(said.statement.start))
        terms = self.index.terms.get(key)
        if terms is None:
            terms = self.index.terms[key] = self.lexical.analyzer.terms(said.text)
        return terms

    def _sentence_cosine(self, said: Said) -> float:
        if self.vector is None or said.sentence < 0:
            return 0.0
        found = self.meaning.cosines(said.position, self.vector)
        return float(found[said.sentence]) if said.sentence < len(found) else 0.0

    def _content_vector(self, said: Said) -> np.ndarray:
        key = ("content", said.article_id, str(said.statement.start))
        vector = self.index.vectors.get(key)
        if vector is None:
            vector = self.index.vectors[key] = self.meaning.embed(content_of(said))
        return vector

    # --- the story around a statement -----------------------------------------------------------

    def _in_story(self, said: Said) -> bool:
        """Whether the statement's article reports the topic: its headline and lead hold the
        topic's words (with the statement's own), or its story is the topic's (`_about`)."""
        setting = self.lexical.analyzer.terms(" ".join(self._setting_texts(said.article_id)))
        if CONTEXT_CREDIT * self.covered(self.lexical.analyzer.terms(said.text) | setting) >= \
                MIN_TOPIC_COVERAGE:
            return True
        return self._about(said.article_id)

    def _about(self, article_id: str) -> bool:
        """Whether, of this article and those the search finds for the topic, this article's
        headline or lead is (nearly) the closest to the topic in meaning."""
        if self.meaning is None:
            return False
        if article_id not in self._story:
            closeness = self._closeness(article_id)
            self._story[article_id] = (closeness >= MIN_STORY_COSINE
                                       and self._names_all(article_id)
                                       and closeness >= self._rival_closeness() - STORY_MARGIN)
        return self._story[article_id]

    def _names_all(self, article_id: str) -> bool:
        """Whether the article holds every name the topic does, in one of its spellings."""
        names = self.names
        if not names:
            return True
        held = frozenset().union(*(self.lexical.terms_at(int(p))
                                   for p in self.index.positions(article_id)))
        return all(any(self.lexical.analyzer.terms(spelling) <= held for spelling in variants(name))
                   for name in names)

    def _rival_closeness(self) -> float:
        if self._rivals is None:
            related = self.meaning.related(self.topic)[:STORY_CANDIDATES]
            self._rivals = max((self._closeness(a) for a in related), default=0.0)
        return self._rivals

    def _closeness(self, article_id: str) -> float:
        """The best cosine of the article's headline and lead sentence to the topic."""
        if self._story_vector is None:
            self._story_vector = self.meaning.embed(_STORY_PROMPT.format(self.topic))
        best = -1.0
        title = self.index.title(article_id)
        if title:
            key = ("title", article_id)
            vector = self.index.vectors.get(key)
            if vector is None:
                vector = self.index.vectors[key] = self.meaning.embed(title)
            best = float(vector @ self._story_vector)
        position = self.index.lead_position(article_id)
        if position is not None:
            lead = self.meaning.cosines(position, self._story_vector)
            if len(lead):
                best = max(best, float(lead[0]))
        return best

    def _setting_texts(self, article_id: str) -> Iterable[str]:
        title = self.index.title(article_id)
        if title:
            yield title
        lead = self.index.lead(article_id)
        if lead:
            yield lead


def _other_spellings(topic: str, weights: dict[str, float], analyzer: Analyzer,
                     names: list[str]) -> dict[str, str]:
    """Terms of other spellings of the topic's names (`names`, `names_in(topic)`) and words
    -> the topic's own term ("türkiy" -> "turkey", "defenc" -> "defens")."""
    found: dict[str, str] = {}
    for name in {*names, *re.findall(r"\w+", topic)}:
        own = analyzer.terms(name) & set(weights)
        if len(own) != 1:
            continue
        (term,) = own
        for other in variants(name):
            for variant_term in analyzer.terms(other) - own:
                found.setdefault(variant_term, term)
    return found
