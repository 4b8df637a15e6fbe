"""The extractive answerer: the answer is made of source sentences, each cited, or it abstains.

`answer_extractive(question, hits, ...)` returns verbatim sentences chosen for how much of the
question they cover, each with its citation, or an abstention when the evidence is weak. How
sentences are chosen and when it abstains: docs/answering.md, "Extractive answers".
"""

from __future__ import annotations

from dataclasses import dataclass

from rag.analysis import Analyzer
from rag.attribution import attribution_prefix
from rag.conflicts import conflict_note, disagree_on_figures, find_conflicts, states_a_number
from rag.coverage import coverage
from rag.lexical import LexicalView
from rag.query import Query
from rag.question import same_person
from rag.schemas import Answer, Chunk, Citation, Context, Grounding, Hit

ABSTENTION = "The indexed articles do not cover this question, so there is no answer to cite."
# How much a sentence's own coverage of the question counts against its passage's rank.
COVERAGE_WEIGHT = 0.7
# Added to a sentence's score times its cosine to the question (its sentence vector, when the
# store holds them): sentences sharing the same question words differ in what they say.
MEANING_WEIGHT = 0.2
# A sentence joins the answer only if it scores at least this share of the best sentence.
RELATIVE_FLOOR = 0.6
# Each further sentence from an article already quoted is discounted, so answers draw on
# several articles when several address the question.
SAME_ARTICLE_DISCOUNT = 0.85
# Evidence score = these weights times (best passage's coverage of the question, best passage
# cosine). Fitted with `Settings.abstain_threshold` and `Settings.min_question_coverage` on
# MultiHop-RAG's dev queries (null against answerable) and our own development questions, for
# the widest gap between abstaining on unanswerable and on answerable ones (docs/evaluation.md).
EVIDENCE_WEIGHTS = (0.3, 0.7)
# A sentence of another article that gives a different figure for what a chosen sentence
# counts joins the answer (at most this many) if it covers this share of what that one does.
MAX_DISPUTING = 2
DISPUTING_COVERAGE = 0.5


@dataclass(frozen=True)
class Candidate:
    """One sentence of a retrieved passage, scored against the question."""

    hit: Hit
    start: int  # article offsets
    end: int
    coverage: float
    score: float

    @property
    def text(self) -> str:
        chunk = self.hit.chunk
        return chunk.text[self.start - chunk.start : self.end - chunk.start]


def score_sentences(question: str | Query, hits: list[Hit],
                    lexical: LexicalView) -> list[Candidate]:
    """Every sentence of the hits, scored; best first.

    A passage counts by its fused score, not its re-ranked one: that already holds its best
    sentence's coverage, which each sentence's own coverage here would count twice. A
    sentence's cosine to the question (`Hit.meaning`, from its sentence vector) tells apart
    sentences holding the same question words.
    A sentence spoken by the person the question asks about also holds that person's name.
    """
    query = Query.read(question, lexical)
    weights = query.weights
    speech = query.speech
    person = speech.person if speech else None
    person_terms = lexical.analyzer.terms(person) if person else set()
    best_hit = max((h.fused for h in hits), default=1.0) or 1.0
    candidates: list[Candidate] = []
    for hit in hits:
        chunk = hit.chunk
        meaning = hit.meaning or (0.0,) * len(chunk.sentences)
        for (start, end), present, cosine in zip(chunk.sentences, lexical.sentence_terms(chunk),
                                                 meaning, strict=False):  # no spans: none
            speaker = chunk.speaker_of(start, end) if person else None
            if person and speaker and same_person(person, speaker):
                present |= person_terms
            covered = coverage(weights, present)
            score = (COVERAGE_WEIGHT * covered + (1 - COVERAGE_WEIGHT) * hit.fused / best_hit
                     + MEANING_WEIGHT * cosine)
            candidates.append(Candidate(hit, start, end, covered, score))
    return sorted(candidates, key=lambda c: -c.score)


@dataclass(frozen=True)
class Evidence:
    """How well the retrieved passages answer the question: what abstention decides on.

    `score` blends the best passage's (with its title) coverage of the question's terms with
    the best passage's cosine similarity, so neither a lone shared name nor a merely topical
    passage passes alone. `coverage` is the share of the question's terms found anywhere in
    the passages: a question whose key term no passage holds is about something else.
    """

    score: float
    coverage: float

    def suffices(self, threshold: float, min_coverage: float) -> bool:
        return self.score >= threshold and self.coverage >= min_coverage


def evidence(question: str | Query, hits: list[Hit], lexical: LexicalView) -> Evidence:
    """The evidence the hits hold for the question (its text or its reading)."""
    if not hits:
        return Evidence(0.0, 0.0)
    weights = Query.read(question, lexical).weights
    passages = [lexical.passage_terms(h.chunk) for h in hits]
    best_passage = max(coverage(weights, terms) for terms in passages)
    best_dense = max(max(h.dense for h in hits), 0.0)
    w_passage, w_dense = EVIDENCE_WEIGHTS
    return Evidence(score=w_passage * best_passage + w_dense * best_dense,
                    coverage=coverage(weights, set().union(*passages)))


def select_sentences(candidates: list[Candidate], limit: int) -> list[Candidate]:
    """Pick the answer's sentences: the best, then others close to it, spread over articles."""
    if not candidates:
        return []
    floor = RELATIVE_FLOOR * candidates[0].score
    chosen: list[Candidate] = []
    used_per_article: dict[str, int] = {}
    seen_text: set[str] = set()
    pool = [c for c in candidates if c.score >= floor and c.coverage > 0]
    while pool and len(chosen) < limit:
        best = max(pool, key=lambda c: c.score * SAME_ARTICLE_DISCOUNT
                   ** used_per_article.get(c.hit.chunk.article_id, 0))
        pool.remove(best)
        key = " ".join(best.text.lower().split())
        if key in seen_text or any(_same_span(best, c) for c in chosen):
            continue
        seen_text.add(key)
        chosen.append(best)
        article = best.hit.chunk.article_id
        used_per_article[article] = used_per_article.get(article, 0) + 1
    return chosen


def add_disputing(chosen: list[Candidate], candidates: list[Candidate],
                  analyzer: Analyzer) -> list[Candidate]:
    """The chosen sentences, plus any close candidate of another article that disputes a
    figure they state, so that the answer shows both sides rather than one."""
    added: list[Candidate] = []
    counting = [c for c in candidates if states_a_number(c.text)]  # the only possible disputes
    for sentence in (c for c in chosen if states_a_number(c.text)):
        for other in counting:
            if len(added) == MAX_DISPUTING:
                return chosen + added
            if (other.hit.chunk.article_id == sentence.hit.chunk.article_id
                    or other.coverage < DISPUTING_COVERAGE * sentence.coverage
                    or any(_same_span(other, kept) for kept in chosen + added)):
                continue
            if disagree_on_figures(sentence.text, other.text, analyzer):
                added.append(other)
                break
    return chosen + added


def _same_span(a: Candidate, b: Candidate) -> bool:
    return (a.hit.chunk.article_id == b.hit.chunk.article_id
            and a.start < b.end and b.start < a.end)


def compose(chosen: list[Candidate], attribute: bool = False) -> tuple[str, list[Citation]]:
    """Order the sentences by article (best article first) and position, and cite each.

    With `attribute`, each run of sentences from one article and one speaker opens with its
    attribution (speaker, outlet, date).
    """
    article_rank: dict[str, int] = {}
    for candidate in chosen:  # chosen is best-first
        article_rank.setdefault(candidate.hit.chunk.article_id, len(article_rank))
    ordered = sorted(chosen, key=lambda c: (article_rank[c.hit.chunk.article_id], c.start))
    citations: list[Citation] = []
    sentences: list[str] = []
    group: tuple[str, str | None] | None = None
    for candidate in ordered:
        chunk = candidate.hit.chunk
        citation = Citation(
            id=len(citations) + 1, chunk_id=chunk.id, article_id=chunk.article_id,
            title=chunk.title, source=chunk.source, published=chunk.published, url=chunk.url,
            text=chunk.text, quote=candidate.text, start=chunk.start, end=chunk.end,
            quote_start=candidate.start, quote_end=candidate.end,
            speaker=chunk.speaker_of(candidate.start, candidate.end),
            score=round(candidate.score, 4),
        )
        citations.append(citation)
        opening = ""
        if attribute and group != (chunk.article_id, citation.speaker):
            group = (chunk.article_id, citation.speaker)
            opening = attribution_prefix(citation.speaker, chunk.source, chunk.published,
                                         chunk.title)
        sentences.append(f"{opening}{candidate.text} [{citation.id}]")
    return " ".join(sentences), citations


def contexts_of(hits: list[Hit]) -> list[Context]:
    return [Context(chunk_id=h.chunk.id, article_id=h.chunk.article_id, title=h.chunk.title,
                    source=h.chunk.source, published=h.chunk.published, text=h.chunk.text,
                    start=h.chunk.start, end=h.chunk.end, score=round(h.score, 4), rank=h.rank,
                    url=h.chunk.url, speakers=speakers_of(h.chunk))
            for h in hits]


def speakers_of(chunk: Chunk) -> list[str]:
    """Who speaks in the chunk's sentences, in order of first appearance."""
    return list(dict.fromkeys(s for s in chunk.speakers if s))


def answer_extractive(question: str | Query, hits: list[Hit], lexical: LexicalView,
                      threshold: float, max_sentences: int, min_coverage: float = 0.0) -> Answer:
    """Answer the question (its text or its reading, `rag.query.Query`) from the hits' own
    sentences, or abstain when the evidence is too weak."""
    query = Query.read(question, lexical)
    found = evidence(query, hits, lexical)
    contexts = contexts_of(hits)
    scores = {"evidence_score": round(found.score, 4),
              "question_coverage": round(found.coverage, 4)}
    if not found.suffices(threshold, min_coverage):
        return Answer(answer=ABSTENTION, abstained=True, citations=[], contexts=contexts,
                      grounding=Grounding(score=1.0, supported=0, sentences=0),
                      mode="extractive", **scores)
    candidates = score_sentences(query, hits, lexical)
    chosen = add_disputing(select_sentences(candidates, max_sentences), candidates,
                           lexical.analyzer)
    text, citations = compose(chosen, attribute=query.speech is not None)
    conflicts = find_conflicts(citations, lexical.analyzer)
    if conflicts:
        text = f"{text} {conflict_note(conflicts)}"
    return Answer(answer=text, abstained=False, citations=citations, contexts=contexts,
                  grounding=Grounding(score=1.0, supported=len(citations),
                                      sentences=len(citations)),
                  mode="extractive", conflicts=conflicts, **scores)
