"""POST /v1/grounding: grade any answer's sentences against sources with the judge that verifies
LLM answers; sources inline, by reference to indexed articles, or retrieved for a question."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from starlette.concurrency import run_in_threadpool

from api.attribution import attribute, inline_chunk
from api.deps import ServicesDep
from api.errors import ApiError
from api.media import JsonBodyRoute
from api.responses import BODY, error_responses
from rag.grounding import GroundingReport
from rag.schemas import Chunk, Filters
from rag.sentences import sentence_spans
from rag.store import Store

router = APIRouter(prefix="/v1", tags=["grounding"], route_class=JsonBodyRoute)

MAX_ANSWER_CHARS = 20_000
MAX_SOURCE_CHARS = 20_000
MAX_SOURCES = 50
MAX_TITLE_CHARS = 500


class Source(BaseModel):
    """A numbered source: its text inline, or a span of an indexed article."""

    model_config = ConfigDict(extra="forbid", strict=True)

    id: int = Field(ge=0, le=1_000_000, description="The number the answer's `[n]` markers use.")
    text: str | None = Field(None, min_length=1, max_length=MAX_SOURCE_CHARS,
                             description="The passage itself.")
    title: str | None = Field(None, max_length=MAX_TITLE_CHARS)
    article_id: str | None = Field(None, max_length=64,
                                   description="Instead of `text`: an indexed article ...")
    start: int | None = Field(None, ge=0, description="... and the span of it (default: all).")
    end: int | None = Field(None, ge=0)

    @model_validator(mode="after")
    def _one_kind(self) -> Source:
        if (self.text is None) == (self.article_id is None):
            raise ValueError("give a source either `text` or `article_id`")
        if self.text is not None and (self.start is not None or self.end is not None):
            raise ValueError("`start` and `end` go with `article_id`")
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ValueError("`end` must be after `start`")
        return self


class GroundingRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    answer: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                             max_length=MAX_ANSWER_CHARS)]
    sources: list[Source] | None = Field(
        None, min_length=1, max_length=MAX_SOURCES,
        description=f"Up to {MAX_SOURCES}. Leave out to retrieve them for `question`.")
    question: str | None = Field(None, max_length=100_000)
    top_k: int | None = Field(None, ge=1, le=50, description="Passages to retrieve (1-50).")
    filters: Filters | None = None

    @model_validator(mode="after")
    def _sources_or_question(self) -> GroundingRequest:
        if self.sources is None and not (self.question and self.question.strip()):
            raise ValueError("give `sources`, or a `question` to retrieve them for")
        if self.sources is not None:
            ids = [s.id for s in self.sources]
            if len(set(ids)) != len(ids):
                raise ValueError("source ids must be unique")
        return self


@router.post("/grounding", response_model=GroundingReport,
             responses=error_responses(*BODY, 404))
async def grounding(request: GroundingRequest, services: ServicesDep) -> GroundingReport:
    """Say, sentence by sentence, whether the sources state what the answer says, and why not
    (docs/citation-verification.md)."""
    engine = services.engine
    chunks = None
    if request.sources is not None:
        chunks = await run_in_threadpool(_chunks, request.sources, engine.store)
    return await run_in_threadpool(
        engine.grounding, request.answer, sources=chunks,
        ids=[s.id for s in request.sources] if request.sources else None,
        question=request.question, top_k=request.top_k, filters=request.filters)


def _chunks(sources: list[Source], store: Store) -> list[Chunk]:
    """The sources as passages: inline text whole, article spans cut from the stored article.
    Speakers are attributed over the whole article (as ingestion does) or the inline text."""
    return [inline_chunk(source.text, source.title) if source.text is not None
            else _referenced(source, store) for source in sources]


def _referenced(source: Source, store: Store) -> Chunk:
    article = store.get_article(source.article_id or "")  # ArticleNotFound: 404
    start = source.start or 0
    end = len(article.text) if source.end is None else source.end
    if end > len(article.text) or start >= end:
        raise ApiError(422, "invalid_request",
                       f"source {source.id}: the span {start}-{end} is outside the article "
                       f"({len(article.text)} characters)")
    spans = sentence_spans(article.text)
    speakers = dict(zip(spans, attribute(article.text, spans), strict=True))
    inside = [(max(s, start), min(e, end)) for s, e in spans if s < end and e > start]
    whole = [(s, e) for s, e in spans if s < end and e > start]
    return Chunk(id=f"{article.id}:{start}-{end}", article_id=article.id, ordinal=0,
                 text=article.text[start:end], start=start, end=end, title=source.title
                 or article.title, source=article.source, published=article.published,
                 url=article.url, sentences=tuple(inside),
                 speakers=tuple(speakers.get(span) for span in whole))
