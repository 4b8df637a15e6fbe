"""A cited story's other copies: every citation of an answer gets `also_carried_by`, the other
articles of its story held by the search snapshot (docs/answering.md, "One passage per story").
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from rag.corpus import Corpus
from rag.schemas import Answer, Carrier, Chunk


def other_carriers(corpus: Corpus, article_id: str, story_id: str) -> list[Carrier]:
    """The articles carrying `story_id` other than `article_id`, earliest published first
    (the undated last), as citations show them."""
    copies = [c for c in corpus.carriers(story_id) if c.article_id != article_id]
    return [_carrier(c) for c in sorted(copies, key=_order)]


def with_carriers(answer: Answer, corpus: Corpus) -> Answer:
    """The answer with each citation's `also_carried_by` filled in (an answer citing no
    story of several copies comes back as it is)."""
    if not answer.citations:
        return answer
    stories = _stories_of(corpus, {c.article_id for c in answer.citations})
    if not stories:
        return answer
    citations = [c.model_copy(update={"also_carried_by": other_carriers(
                     corpus, c.article_id, stories[c.article_id])})
                 if c.article_id in stories else c for c in answer.citations]
    return answer.model_copy(update={"citations": citations})


def _stories_of(corpus: Corpus, article_ids: set[str]) -> dict[str, str]:
    """The story of each of these articles that has other copies held."""
    codes = np.flatnonzero(np.isin(corpus.articles, sorted(article_ids)))
    stories = corpus.article_story[codes]
    several = corpus.carrier_counts[stories] > 1
    return {str(corpus.articles[a]): str(corpus.stories[s])
            for a, s in zip(codes[several].tolist(), stories[several].tolist(), strict=True)}


def _order(chunk: Chunk) -> tuple[dt.date, bool, str]:
    return (chunk.published or dt.date.max, chunk.article_id != chunk.story, chunk.article_id)


def _carrier(chunk: Chunk) -> Carrier:
    return Carrier(article_id=chunk.article_id, outlet=chunk.source, title=chunk.title,
                   published=chunk.published, url=chunk.url)
