"""GET /v1/speakers (who is quoted) and GET /v1/statements (what they said, with citations)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from api.deps import ServicesDep
from api.errors import ApiError
from api.responses import error_responses
from rag.engine import Engine
from rag.schemas import Filters, IsoDate
from rag.statements import Said, Speaker

router = APIRouter(prefix="/v1", tags=["statements"])
MAX_PAGE = 1000
MAX_OFFSET = 1_000_000
MAX_TEXT_CHARS = 500  # a speaker or topic asked for
Text = Annotated[str | None, Query(max_length=MAX_TEXT_CHARS)]


class SpeakerOut(BaseModel):
    """Someone the articles quote, under every name and role they are given."""

    name: str = Field(description="The canonical name: the most quoted spelling.")
    aliases: list[str] = Field(description="Other names: spellings, short names, acronyms.")
    roles: list[str] = Field(description="Titles and descriptions, most often given first.")
    organisation: bool
    statements: int
    articles: int
    outlets: list[str]
    first: dt.date | None = Field(None, description="The earliest dated article quoting them.")
    last: dt.date | None = None


class SpeakerList(BaseModel):
    speakers: list[SpeakerOut]
    total: int
    offset: int
    limit: int


class StatementOut(BaseModel):
    """One attributed sentence, with the citation fields that locate it."""

    speaker: str = Field(description="The canonical name (see /v1/speakers).")
    speaker_as_written: str = Field(description="The name the article gives.")
    roles: list[str]
    kind: Literal["direct", "reported"]
    cue: str
    audience: str | None
    quote: str = Field(description="The sentence, verbatim: article text[quote_start:quote_end].")
    quote_start: int
    quote_end: int
    article_id: str
    chunk_id: str
    title: str | None
    source: str | None
    published: dt.date | None
    url: str | None


class StatementList(BaseModel):
    statements: list[StatementOut]
    total: int
    offset: int
    limit: int


def speaker_out(speaker: Speaker) -> SpeakerOut:
    first, last = speaker.dates
    return SpeakerOut(name=speaker.name, aliases=speaker.aliases, roles=speaker.roles,
                      organisation=speaker.organisation, statements=len(speaker.said),
                      articles=speaker.articles, outlets=speaker.outlets, first=first, last=last)


def statement_out(said: Said, canonical: str) -> StatementOut:
    record = said.statement
    return StatementOut(
        speaker=canonical, speaker_as_written=record.speaker, roles=list(record.roles),
        kind=record.kind, cue=record.cue, audience=record.audience, quote=said.text,
        quote_start=record.start, quote_end=record.end, article_id=said.article_id,
        chunk_id=said.chunk_id, title=said.title, source=said.source,
        published=said.published, url=said.url)


@router.get("/speakers", response_model=SpeakerList, responses=error_responses(422))
def list_speakers(services: ServicesDep, q: Text = None,
                  offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
                  limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100) -> SpeakerList:
    """Who the indexed articles quote, most quoted first; `q` keeps those a name, alias or
    role of whom holds it (case aside)."""
    speakers = services.engine.statements().speakers
    if q and q.strip():
        wanted = q.strip().lower()
        speakers = [s for s in speakers
                    if any(wanted in n.lower() for n in [s.name, *s.aliases, *s.roles])]
    page = speakers[offset: offset + limit]
    return SpeakerList(speakers=[speaker_out(s) for s in page], total=len(speakers),
                       offset=offset, limit=limit)


@router.get("/statements", response_model=StatementList, responses=error_responses(422))
def list_statements(
        services: ServicesDep, speaker: Text = None, q: Text = None,
        source: Annotated[list[str] | None, Query(max_length=50)] = None,
        published_from: Annotated[IsoDate | None, Query(alias="from")] = None,
        published_to: Annotated[IsoDate | None, Query(alias="to")] = None,
        offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100) -> StatementList:
    """Statement records: by `speaker` (a name, alias or role: "Asif", "ISPR", "the
    Pakistani defence minister"), on the topic `q` (best first; without it in date order),
    from the outlets `source`, published between `from` and `to`."""
    if published_from and published_to and published_from > published_to:
        raise ApiError(422, "invalid_request", "'from' is after 'to'")
    filters = Filters(source=source or None, published_from=published_from,
                      published_to=published_to)
    return statement_list(services.engine, speaker, q, filters, offset, limit)


def statement_list(engine: Engine, speaker: str | None, topic: str | None,
                   filters: Filters | None, offset: int, limit: int) -> StatementList:
    """The page `offset`..`offset + limit` of the statements `engine.find_statements` finds
    (by speaker, topic and filters), each under its speaker's canonical name."""
    found = engine.find_statements(speaker, topic, filters)
    index = engine.statements()
    page = found[offset: offset + limit]
    return StatementList(statements=[statement_out(s, index.owner(s).name) for s in page],
                         total=len(found), offset=offset, limit=limit)
