"""Second stage: re-rank the best fused candidates by their best sentence, then put the
articles a question names first.

Fusion ranks *articles* well and *passages within an article* poorly: on MultiHop-RAG's dev
queries the first relevant article is usually ranked first (article-level MRR@10 0.88) while
the passage holding the evidence often is not that article's best-fused chunk (chunk-level
MRR@10 0.65). Every chunk of an article shares its title and outlet, so what tells them apart
is whether one of its sentences states what the question asks. Three measures, all lexical and
cheap (no model call, no cross-encoder exists offline here):

- **sentence coverage**: the best sentence's rarity-weighted coverage of the question's terms;
- **clause coverage**: the same against each clause of the question ("Which company, reported
  by The Verge, has been accused of ..., and is ...?"): multi-hop questions join one clause per
  piece of evidence, and a passage that answers one clause fully matters more than one that
  touches all of them a little;
- **named outlets first**: when a question names several outlets ("as reported by Engadget
  and Polygon"), each outlet's best passage moves to the front, so every report it compares
  is near the top; otherwise the best passage of the second-best article moves up to second,
  for the same reason.

The weights and the depth were fitted on the even-numbered dev queries and measured on the
odd-numbered ones (docs/evaluation.md).
"""

from __future__ import annotations

import re

from rag.config import Settings
from rag.coverage import coverage, term_weights
from rag.lexical import LexicalIndex
from rag.schemas import Chunk, Hit

# Where a compound question divides: commas, semicolons and joining words.
_CLAUSE_BREAK = re.compile(
    r",\s*(?:and\s+|or\s+|while\s+|but\s+)?|\s+(?:and|while|whereas|but|or)\s+|;\s*|\?\s*")
# A clause needs this many content terms to stand for a piece of evidence.
MIN_CLAUSE_TERMS = 2
# A clause of fewer terms than this counts proportionally less (two shared names are weaker
# evidence than three).
FULL_CLAUSE_TERMS = 3


def clauses(question: str, lexical: LexicalIndex) -> list[dict[str, float]]:
    """The question's clauses, each as its weighted content terms."""
    parts = (term_weights(part, lexical) for part in _CLAUSE_BREAK.split(question) if part)
    return [weights for weights in parts if len(weights) >= MIN_CLAUSE_TERMS]


def sentence_terms(chunk: Chunk, lexical: LexicalIndex) -> list[set[str]]:
    """The stemmed terms of each sentence of a chunk (the whole chunk when it has no spans).

    The same passages come back across questions; `LexicalIndex` caches each text's analysis,
    so a passage seen before costs lookups, not analysis.
    """
    spans = chunk.sentences or ((chunk.start, chunk.end),)
    return [lexical.terms(chunk.text[s - chunk.start : e - chunk.start]) for s, e in spans]


def rerank(question: str, hits: list[Hit], lexical: LexicalIndex, settings: Settings,
           outlets: list[list[str]] | None = None) -> list[Hit]:
    """Fused hits (best first) re-ordered by sentence and clause coverage and named outlets;
    those beyond the re-ranking depth keep their order after.

    `outlets`: the outlets the question names, each as the source names it stands for.
    """
    depth = settings.rerank_depth
    if depth == 0 or not hits:
        return hits
    head, tail = hits[:depth], hits[depth:]
    whole = term_weights(question, lexical)
    parts = clauses(question, lexical)
    w_sentence, w_clause = settings.sentence_weight, settings.clause_weight
    rescored = []
    for hit in head:
        sentences = sentence_terms(hit.chunk, lexical)
        best = max(coverage(whole, terms) for terms in sentences)
        by_clause = max((coverage(weights, terms) * min(1.0, len(weights) / FULL_CLAUSE_TERMS)
                         for weights in parts for terms in sentences), default=0.0)
        score = ((1 - w_sentence - w_clause) * hit.score + w_sentence * best
                 + w_clause * by_clause)
        rescored.append(hit.model_copy(update={"score": score}))
    rescored.sort(key=lambda h: -h.score)
    return _leaders_first(rescored, outlets or []) + tail



def _leaders_first(hits: list[Hit], outlets: list[list[str]]) -> list[Hit]:
    """The hits with a few leaders moved to the front, in their own order: each named
    outlet's best hit when the question names several (an outlet stands for its source names,
    "The Independent" for its sections), else the best hit of each of the two best articles."""
    leaders: set[int] = set()
    if len(outlets) > 1:
        for names in outlets:
            best = next((i for i, h in enumerate(hits) if h.chunk.source in names), None)
            if best is not None:
                leaders.add(best)
    else:
        articles: set[str] = set()
        for i, hit in enumerate(hits):
            if len(articles) == 2:
                break
            if hit.chunk.article_id not in articles:
                articles.add(hit.chunk.article_id)
                leaders.add(i)
    return ([h for i, h in enumerate(hits) if i in leaders]
            + [h for i, h in enumerate(hits) if i not in leaders])
