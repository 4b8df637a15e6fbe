"""How much of a question a text covers: the shared measure of sentence choice, abstention
and re-ranking.

A question's content terms are weighted by their rarity across the indexed chunks (BM25's
idf), so "Punjab" counts for more than "minister"; a text's coverage is the weighted share of
those terms it contains. Words that frame a question rather than name its subject are left out.
"""

from __future__ import annotations

from rag.lexical import LexicalView

# Stems of words that frame a question ("how many", "explain", "what did X say") rather than
# name what it is about: articles rarely contain them, so as rare terms they would dominate
# coverage and make answerable questions look unanswered.
FRAMING_TERMS = frozenset({
    "mani", "much", "long", "take", "explain", "describ", "mention", "happen", "say", "said",
    "tell", "told", "accord", "report", "kind", "type", "way", "reason", "would", "could",
    "ask", "know",
})


def term_weights(question: str, lexical: LexicalView) -> dict[str, float]:
    """The question's content terms (framing words left out), each weighted by its rarity."""
    terms = set(lexical.analyzer.query_terms(question)) - FRAMING_TERMS
    return {t: lexical.idf(t) for t in terms}


def coverage(weights: dict[str, float], present: set[str]) -> float:
    """The rarity-weighted share of the question's terms that a text contains."""
    total = sum(weights.values())
    if not total:
        return 0.0
    if len(present) < len(weights):  # walk the smaller side (same sum, up to rounding)
        return sum(weights[t] for t in present if t in weights) / total
    return sum(w for t, w in weights.items() if t in present) / total
