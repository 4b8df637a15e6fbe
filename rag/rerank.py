"""Second stage: re-rank the best fused candidates by their best sentence, then put the
articles a question names first.

`rerank(question, hits, ...)` returns the hits re-scored (sentence and clause coverage, sentence
vectors, named outlets first); each hit's `score` falls with rank and `fused` keeps the first
stage's score. The measures and how they were fitted: docs/answering.md, "Re-ranking".
"""

from __future__ import annotations

import numpy as np

from rag.config import Settings
from rag.lexical import LexicalView
from rag.query import Clause, Query
from rag.schemas import Hit

# A clause of fewer terms than this counts proportionally less (two shared names are weaker
# evidence than three).
FULL_CLAUSE_TERMS = 3
# Added to the leaders' re-ranked score. Fitted: 0.1 and 0.2 scored lower (MAP@10 -0.002 to
# -0.005 on the fit split), 0.3 and above the same as moving leaders to the front outright.
LEADER_BONUS = 0.3


def rerank(question: str | Query, hits: list[Hit], lexical: LexicalView, settings: Settings,
           outlets: list[list[str]] | None = None, parts: list[Clause] | None = None,
           cosines: np.ndarray | None = None) -> list[Hit]:
    """Fused hits (best first) re-scored by sentence and clause coverage and named outlets,
    best first; those beyond the re-ranking depth follow unchanged.

    `question`: its text, or its reading (`rag.query.Query`). `outlets`: the outlets the
    question names, each as the source names it stands for. `parts`: the question's clauses
    (its reading's when not given). `cosines`: for each of the first `rerank_depth` hits, its
    best sentence's cosine to the question, then to each clause (`rag.sentence_vectors`);
    without them, coverage is lexical only.
    """
    depth = settings.rerank_depth
    if depth == 0 or not hits:
        return hits
    head, tail = hits[:depth], hits[depth:]
    query = Query.read(question, lexical)
    whole = query.weights
    parts = query.clauses if parts is None else parts
    best, by_clause = _coverages(
        head, whole, [(p.weights, min(1.0, len(p.weights) / FULL_CLAUSE_TERMS)) for p in parts],
        lexical)
    if cosines is not None and len(cosines):
        best = best + settings.sentence_vector_weight * cosines[: len(head), 0]
        if parts:
            by_clause = (by_clause + settings.clause_vector_weight
                         * cosines[: len(head), 1:].max(axis=1))
    w_sentence, w_clause = settings.sentence_weight, settings.clause_weight
    w_fused = 1 - w_sentence - w_clause
    scores = [w_fused * hit.fused + w_sentence * b + w_clause * c
              for hit, b, c in zip(head, best.tolist(), by_clause.tolist(), strict=True)]
    order = sorted(range(len(head)), key=lambda i: -scores[i])
    for i in _leaders([head[i] for i in order], outlets or []):
        scores[order[i]] += LEADER_BONUS
    rescored = [hit.model_copy(update={"score": score})
                for hit, score in zip(head, scores, strict=True)]
    return sorted(rescored, key=lambda h: -h.score) + tail


def _coverages(hits: list[Hit], whole: dict[str, float],
               parts: list[tuple[dict[str, float], float]],
               lexical: LexicalView) -> tuple[np.ndarray, np.ndarray]:
    """Each hit's best sentence coverage of the whole question, and of any one clause (times
    the clause's strength).

    A sentence is reduced to the question's terms it holds; each distinct such set is a row
    of a 0/1 matrix over the question's terms, and one product with the terms' normalised
    weights (a column for the whole question, one a clause) gives every coverage at once.
    The product is the same sums as rag/coverage.py's `coverage`, without a Python loop.
    """
    asked = sorted(set(whole).union(*(weights for weights, _ in parts)))
    column = {term: i for i, term in enumerate(asked)}
    weights = np.zeros((len(asked), 1 + len(parts)))
    for j, (terms, strength) in enumerate([(whole, 1.0), *parts]):
        total = sum(terms.values())
        for term, weight in terms.items() if total else ():
            weights[column[term], j] = weight / total * strength
    wanted = frozenset(asked)
    rows: list[int] = []
    cols: list[int] = []
    starts: list[int] = []
    row = 0
    for hit in hits:
        starts.append(row)
        # Sentences holding the same question terms are scored once; a hit has a row even
        # when it holds none (its coverage is then 0).
        found = {terms & wanted for terms in lexical.sentence_terms(hit.chunk)} or {frozenset()}
        for terms in found:
            for term in terms:
                rows.append(row)
                cols.append(column[term])
            row += 1
    present = np.zeros((row, len(asked)))
    present[rows, cols] = 1.0
    best = np.maximum.reduceat(present @ weights, starts, axis=0)
    by_clause = best[:, 1:].max(axis=1) if parts else np.zeros(len(hits))
    return best[:, 0], by_clause


def _leaders(hits: list[Hit], outlets: list[list[str]]) -> set[int]:
    """Positions of the hits that should lead: each named outlet's best hit when the question
    names several (an outlet stands for its source names, "The Independent" for its
    sections), else the best hit of each of the two best articles."""
    leaders: set[int] = set()
    if len(outlets) > 1:
        for names in outlets:
            best = next((i for i, h in enumerate(hits) if h.chunk.source in names), None)
            if best is not None:
                leaders.add(best)
        return leaders
    articles: set[str] = set()
    for i, hit in enumerate(hits):
        if len(articles) == 2:
            break
        if hit.chunk.article_id not in articles:
            articles.add(hit.chunk.article_id)
            leaders.add(i)
    return leaders
