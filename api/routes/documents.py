"""/v1/documents: upload (multipart files or JSON), list, show and delete indexed articles."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import PurePath
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from api.deps import MetricsDep, ServicesDep, require_write_key
from api.errors import ApiError, unreadable_body
from api.media import JSON, MULTIPART, media_type, unsupported_media_type
from api.pages import PageIn, download_page, is_page_request
from api.responses import BODY, WRITE, error_responses
from api.services import Services
from index.load import Document, UnreadableFile, parse_bytes
from index.pipeline import IngestReport
from rag.config import Settings
from rag.schemas import Article, IsoDate
from rag.store import Store

router = APIRouter(prefix="/v1/documents", tags=["documents"])
MAX_FILES = 100
# Chroma takes a page offset as a 32-bit number (a larger one was a 500): past it, a 422.
MAX_OFFSET = 2**31 - 1

NonBlank = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


ArticleId = Annotated[str, StringConstraints(min_length=1, max_length=100)]


class DocumentIn(BaseModel):
    """An article sent as JSON (strict: `"published": 20240501` or `"title": 7` is a 422)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    title: Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)] | None = None
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                           max_length=5_000_000)]
    source: Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)] | None = None
    published: IsoDate | None = None
    url: Annotated[str, StringConstraints(max_length=2000)] | None = None
    author: Annotated[str, StringConstraints(max_length=300)] | None = None
    replaces: list[ArticleId] = Field(
        default_factory=list, max_length=MAX_FILES,
        description="Ids of stored articles this one is a new version of: removed once it is "
        "stored. (A stored article with the same canonical `url` is replaced too.)")
    format: Literal["article", "file"] = Field(
        "article", description="article: `text` is the story as it is; file: `text` is a "
        "text file's content, cleaned as `rag index` cleans one (boilerplate lines, several "
        "stories, title/outlet/date from header lines).")
    path: Annotated[str, StringConstraints(min_length=1, max_length=4096)] | None = Field(
        None, description="The file the text was read from, recorded with the article: what "
        "`rag index` sends when it writes through a running server, so that a later run "
        "replaces the article when that file changes.")


class DocumentSummary(BaseModel):
    id: str
    title: str | None = None
    source: str | None = None
    published: dt.date | None = None
    url: str | None = None
    author: str | None = None
    path: str | None = None
    filename: str | None = None
    chunks: int | None = None
    chars: int | None = None
    ingested_at: str | None = None
    story_id: str | None = Field(
        None, description="The story it carries: lightly edited copies of one story share "
        "it (docs/ingestion.md, \"Syndicated copies\"); None for one stored before stories "
        "were kept.")


class DocumentDetail(DocumentSummary):
    text: str
    raw_text: str | None = Field(None, description="The text before cleaning, if it differs.")
    copies: list[DocumentSummary] = Field(
        default_factory=list, description="The story's other carriers (its copies by other "
        "outlets or under other headlines), earliest published first.")


class SourceFacet(BaseModel):
    name: str
    count: int


class PublishedRange(BaseModel):
    min: dt.date | None = None
    max: dt.date | None = None


class Facets(BaseModel):
    """What the page's filters offer: every outlet with its article count, and the date span."""

    sources: list[SourceFacet]
    published: PublishedRange


class DocumentList(BaseModel):
    documents: list[DocumentSummary]
    total: int
    offset: int
    limit: int
    facets: Facets | None = Field(None, description="Over all stored articles, not this page.")


class Skipped(BaseModel):
    name: str
    reason: str


class Updated(DocumentSummary):
    changed: list[str] = Field(description="The metadata fields this upload corrected.")


class IngestResult(BaseModel):
    added: list[DocumentSummary]
    unchanged: list[DocumentSummary] = Field(
        description="Articles stored already (same text); `updated` lists those whose "
        "metadata this upload corrected.")
    updated: list[Updated]
    replaced: list[str] = Field(description="Ids of earlier versions this upload replaced: "
                                "those it `replaces`, and those with the same canonical url.")
    skipped: list[Skipped]
    chunks_added: int


class Deleted(BaseModel):
    id: str
    chunks_deleted: int


def _summary(article: Article) -> DocumentSummary:
    return DocumentSummary(id=article.id, title=article.title, source=article.source,
                           published=article.published, url=article.url, author=article.author,
                           path=article.path, filename=article.filename,
                           chars=len(article.text), story_id=article.story_id)


def _result(report: IngestReport) -> IngestResult:
    return IngestResult(
        added=[_summary(a) for a in report.added],
        unchanged=[_summary(a) for a in report.unchanged],
        updated=[Updated(**_summary(a).model_dump(), changed=fields)
                 for a, fields in report.updated],
        replaced=report.removed,
        skipped=[Skipped(name=name, reason=reason) for name, reason in report.skipped],
        chunks_added=report.chunks_added,
    )


@router.post("", response_model=IngestResult, status_code=201,
             dependencies=[Depends(require_write_key)],
             responses=error_responses(*BODY, *WRITE, 404, 502, 504),
             openapi_extra={"requestBody": {"content": {
                 "application/json": {"schema": {"anyOf": [
                     DocumentIn.model_json_schema(), PageIn.model_json_schema()]}},
                 "multipart/form-data": {"schema": {
                     "type": "object",
                     "properties": {"files": {"type": "array",
                                              "items": {"type": "string", "format": "binary"}}},
                 }},
             }}})
async def create_documents(request: Request, services: ServicesDep,
                           metrics: MetricsDep) -> IngestResult:
    """Index articles: JSON `{title, text, ...}` (or a list of them), JSON `{url}` (a page
    the server downloads), or multipart `files`."""
    declared = media_type(request.headers)
    report = IngestReport()
    if declared == MULTIPART:
        documents = await _read_uploads(request, services.settings.max_upload_bytes, report)
    elif declared == JSON:
        documents = await _read_json(request, services.settings)
    else:  # none declared too: a body of unknown type is never guessed to be JSON
        raise unsupported_media_type(declared, JSON, MULTIPART)

    def ingest() -> IngestReport:
        with services.write_lock:
            _check_replaced(services, documents)
            return services.ingestor.ingest_documents(documents, report)

    report = await run_in_threadpool(ingest)
    metrics.record_ingest(report)
    if not report.added and not report.unchanged:
        reasons = "; ".join(f"{n}: {r}" for n, r in report.skipped) or "no article text"
        raise ApiError(422, "no_articles", f"nothing could be indexed ({reasons})")
    return _result(report)


async def _read_json(request: Request, settings: Settings) -> list[Document]:
    try:
        payload = await request.json()
    except (ValueError, RecursionError) as error:
        raise unreadable_body(error) from error
    items = payload if isinstance(payload, list) else [payload]
    if not items or len(items) > MAX_FILES:
        raise ApiError(422, "invalid_request", f"send 1 to {MAX_FILES} documents")
    documents = []
    for position, item in enumerate(items):
        if is_page_request(item):  # {"url": ...}: a page the server downloads
            prefix = f"[{position}]." if isinstance(payload, list) else ""
            documents.append(await download_page(item, settings, prefix))
            continue
        try:
            document = DocumentIn.model_validate(item)
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            prefix = f"[{position}]." if isinstance(payload, list) else ""
            raise ApiError(422, "invalid_request",
                           f"{prefix}{where or 'body'}: {first['msg']}") from error
        documents.append(Document(text=document.text,
                                  kind="text" if document.format == "file" else "record",
                                  path=document.path, title=document.title,
                                  source=document.source, published=document.published,
                                  url=document.url, author=document.author,
                                  replaces=tuple(document.replaces)))
    return documents


def _check_replaced(services: Services, documents: list[Document]) -> None:
    """Every id a document `replaces` must be stored (a typo must not pass unnoticed)."""
    named = sorted({i for d in documents for i in d.replaces})
    unknown = sorted(set(named) - services.engine.store.existing_ids(named))
    if unknown:
        raise ApiError(404, "document_not_found",
                       f"no document with id {', '.join(unknown)} to replace")


async def _read_uploads(request: Request, max_bytes: int,
                        report: IngestReport) -> list[Document]:
    form = await request.form(max_files=MAX_FILES, max_fields=MAX_FILES)
    uploads = [v for v in form.getlist("files") + form.getlist("file")
               if isinstance(v, UploadFile)]
    if not uploads:
        raise ApiError(422, "invalid_request", "multipart body has no 'files' part")
    replaces = tuple(value.strip() for value in form.getlist("replaces")
                     if isinstance(value, str) and value.strip())
    if replaces and len(uploads) > 1:
        raise ApiError(422, "invalid_request",
                       "'replaces' names what one file replaces: send that file alone")
    documents: list[Document] = []
    for upload in uploads:
        # The name is a label for reports, never an identity nor a file system path: two
        # uploads of the same name are two articles unless one `replaces` the other.
        name = (PurePath((upload.filename or "").replace("\\", "/")).name or "upload.txt")
        data = await upload.read(max_bytes + 1)
        if len(data) > max_bytes:
            report.skipped.append((name, f"larger than {max_bytes} bytes"))
            continue
        problems: list[tuple[str | None, str]] = []  # a feed's bad lines, skipped one by one
        try:
            parsed = parse_bytes(data, PurePath(name).suffix.lower(), None, problems)
        except UnreadableFile as error:
            report.skipped.append((name, str(error)))
            continue
        report.skipped.extend((name, reason) for _, reason in problems)
        documents.extend(replace(d, filename=name, replaces=replaces) for d in parsed)
    return documents


@router.get("", response_model=DocumentList, responses=error_responses(422))
def list_documents(services: ServicesDep, offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
                   limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                   facets: bool = True) -> DocumentList:
    """Indexed articles (metadata only), a page at a time, with facets over all of them
    (`facets=false` skips them: they read every article's metadata)."""
    rows, total = services.engine.store.list_articles(offset, limit)
    return DocumentList(documents=[DocumentSummary(**row) for row in rows], total=total,
                        offset=offset, limit=limit,
                        facets=_facets(services) if facets else None)


def _facets(services: Services) -> Facets:
    found = services.engine.store.facets()
    names = sorted(found.outlets, key=lambda name: (name.casefold(), name))
    return Facets(sources=[SourceFacet(name=name, count=found.outlets[name]) for name in names],
                  published=PublishedRange(min=found.first_published,
                                           max=found.last_published))


@router.get("/{document_id}", response_model=DocumentDetail, responses=error_responses(404, 422))
def get_document(document_id: str, services: ServicesDep) -> DocumentDetail:
    """One article with its cleaned text."""
    return document_detail(services.engine.store, document_id)


def document_detail(store: Store, document_id: str) -> DocumentDetail:
    """The stored article `document_id` with its text, store metadata and the story's other
    copies; raises `ArticleNotFound` when there is none."""
    article = store.get_article(document_id)
    meta = store.article_metadata(document_id)
    copies = [DocumentSummary(**row) for row in store.story_carriers(article.story_id or
                                                                      article.id)
              if row["id"] != article.id]
    return DocumentDetail(**_summary(article).model_dump(), text=article.text,
                          raw_text=article.raw_text, copies=copies) \
        .model_copy(update={"chunks": meta.get("chunks"), "ingested_at": meta.get("ingested_at")})


@router.delete("/{document_id}", response_model=Deleted,
               dependencies=[Depends(require_write_key)],
               responses=error_responses(404, 422, *WRITE))
def delete_document(document_id: str, services: ServicesDep, metrics: MetricsDep) -> Deleted:
    """Remove an article and every chunk of it; the lexical index follows."""
    with services.write_lock:
        removed = services.engine.store.delete_article(document_id)
    metrics.record_delete(removed)
    return Deleted(id=document_id, chunks_deleted=removed)
