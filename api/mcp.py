"""The MCP server over the engine: the tools ask, search, statements and get_article and the
articles as resources, served at /mcp over streamable HTTP by the app (`Endpoint`, mounted by
api/mcp_route.py) and over stdio by `rag mcp` (`run_stdio`).

The tools take the HTTP routes' models and limits; a bad argument or a request the engine
refuses is an MCP tool error (an unknown resource a protocol error), never a crash.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Annotated, Any, TypeVar

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError, ToolError
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp
from mcp.server.transport_security import TransportSecuritySettings
from mcp.shared.exceptions import MCPError
from mcp_types import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    CallToolResult,
    ListResourcesResult,
    PaginatedRequestParams,
    Resource,
    TextContent,
    ToolAnnotations,
)
from pydantic import BaseModel, Field, StringConstraints
from starlette.datastructures import Headers
from starlette.types import Receive, Scope, Send

from api.deps import check_key
from api.envelope import send_json_error
from api.errors import ApiError
from api.mcp_route import PATH
from api.readers import Reader
from api.routes.ask import Question, TopK
from api.routes.documents import DocumentDetail, DocumentSummary
from api.routes.statements import MAX_PAGE, MAX_TEXT_CHARS, StatementList
from api.settings import ServerSettings
from rag.errors import NewsragError
from rag.schemas import (
    MAX_ARTICLE_ID_CHARS,
    Answer,
    ArticleId,
    Context,
    Filters,
    IsoDate,
    Sources,
)
from rag.version import __version__

T = TypeVar("T")
INSTRUCTIONS = (
    "newsrag answers questions from a collection of news articles. Use `ask` for a cited "
    "answer (every sentence carries [n] markers pointing at verbatim quotes), `search` for the "
    "ranked passages alone, `statements` for what a person or organisation said, and "
    "`get_article` to read a whole article by the id the other tools give.")
# An article as a resource, and how many `resources/list` gives a page.
ARTICLE_URI = "newsrag://articles/{article_id}"
ARTICLES_PAGE = 100
# Statement records a call returns unless it asks for more (an agent's context is small).
STATEMENTS_DEFAULT = 20
READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True,
                            open_world_hint=False)

SearchText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                              max_length=MAX_TEXT_CHARS)]
# The filters every tool takes, as the HTTP routes' `filters`.
SourceFilter = Annotated[Sources | None, Field(description="Only these outlets.")]
FromFilter = Annotated[IsoDate | None, Field(description="Only articles published on or after "
                                                         "this date (YYYY-MM-DD).")]
ToFilter = Annotated[IsoDate | None, Field(description="Only articles published on or before "
                                                       "this date (YYYY-MM-DD).")]


class Passages(BaseModel):
    """What `search` returns: the ranked passages, best first."""

    passages: list[Context]


def build_server(reader: Reader, articles_page: int = ARTICLES_PAGE) -> MCPServer:
    """The MCP server with its four tools, and the articles as resources (`resources/list`,
    `articles_page` a page, and the template `newsrag://articles/{article_id}`), reading
    through `reader`."""
    with _logging_left_alone():
        server = NewsServer(reader, articles_page, name="newsrag", instructions=INSTRUCTIONS,
                            version=__version__)

    @_tool(server, "Ask the news articles")
    def ask(
        question: Annotated[Question, Field(description="The question, in plain words.")],
        top_k: Annotated[TopK | None, Field(description="Passages to draw on (1-50).")] = None,
        source: SourceFilter = None,
        published_from: FromFilter = None,
        published_to: ToFilter = None,
    ) -> Annotated[CallToolResult, Answer]:
        """Answer a question from the indexed news articles. Every sentence of the answer ends
        with [n] markers; citation n gives the article's title, outlet, date and url and the
        verbatim quote (with its character offsets in the article) that supports it. When the
        articles do not hold the answer, `abstained` is true and the answer says so."""
        filters = _filters(source, published_from, published_to)
        answer = _reading(lambda: reader.ask(question, top_k, filters))
        return _result(answer, _answer_text(answer))

    @_tool(server, "Search the news articles")
    def search(
        query: Annotated[Question, Field(description="What to look for: a question or words.")],
        top_k: Annotated[TopK | None, Field(description="Passages to return (1-50).")] = None,
        source: SourceFilter = None,
        published_from: FromFilter = None,
        published_to: ToFilter = None,
    ) -> Annotated[CallToolResult, Passages]:
        """Find the passages of the news articles that best match a query, best first, without
        composing an answer: each with its article id, title, outlet, date, text and score."""
        filters = _filters(source, published_from, published_to)
        found = Passages(passages=_reading(lambda: reader.search(query, top_k, filters)))
        return _result(found, _passages_text(found.passages))

    @_tool(server, "What someone said")
    def statements(
        speaker: Annotated[SearchText | None,
                           Field(description="A name, alias or role: 'Asif', 'ISPR', 'the "
                                             "defence minister'.")] = None,
        q: Annotated[SearchText | None,
                     Field(description="Only statements on this topic (best first).")] = None,
        source: SourceFilter = None,
        published_from: FromFilter = None,
        published_to: ToFilter = None,
        limit: Annotated[int, Field(ge=1, le=MAX_PAGE,
                                    description=f"Most records to return (1-{MAX_PAGE}).")
                         ] = STATEMENTS_DEFAULT,
    ) -> Annotated[CallToolResult, StatementList]:
        """Statements the articles attribute to people and organisations: the speaker's
        canonical name, direct or reported, the reporting verb, the verbatim sentence with its
        offsets, and the article's id, title, outlet, date and url. Without `q` they come in
        date order; `total` counts every match."""
        filters = _filters(source, published_from, published_to)
        found = _reading(lambda: reader.statements(speaker, q, filters, limit))
        return _result(found, _statements_text(found))

    @_tool(server, "Read an article")
    def get_article(
        article_id: Annotated[ArticleId, Field(description="The id `ask`, `search` or "
                                                           "`statements` gave.")],
    ) -> Annotated[CallToolResult, DocumentDetail]:
        """One stored article: title, outlet, date, url and its whole cleaned text (citation
        offsets index into this text). A tool error when there is no article with that id."""
        found = _reading(lambda: reader.article(article_id))
        if found is None:
            raise ToolError(f"document not found: no article with id {article_id!r}")
        found = found.model_copy(update={"raw_text": None})
        return _result(found, _article_text(found))

    @server.resource(ARTICLE_URI, name="article", title="A news article",
                     mime_type="application/json",
                     description="One stored article as JSON: id, title, outlet (`source`), "
                                 "date (`published`), url and its whole cleaned text, which "
                                 "citation offsets index into.")
    def article(article_id: str) -> str:
        """The article's JSON; `ResourceNotFoundError` when there is none with that id."""
        if len(article_id) > MAX_ARTICLE_ID_CHARS:
            raise ResourceNotFoundError(f"no article with id {article_id[:40]!r}...")
        try:
            found = reader.article(article_id)
        except NewsragError as error:  # refusals written for callers (rag/errors.py)
            raise ResourceError(str(error)) from error
        if found is None:
            raise ResourceNotFoundError(f"document not found: no article with id "
                                        f"{article_id!r}")
        return found.model_dump_json(exclude={"raw_text"})

    return server


class NewsServer(MCPServer):
    """The SDK's server, whose `resources/list` lists the stored articles a page at a time
    (the SDK lists only resources registered one by one, all at once)."""

    def __init__(self, reader: Reader, page: int, **options: Any) -> None:
        super().__init__(**options)
        self.reader = reader
        self.page = page

    async def _handle_list_resources(self, ctx: Any, params: PaginatedRequestParams | None
                                     ) -> ListResourcesResult:
        offset = _offset((params.cursor if params else None) or "0")
        try:
            summaries, total = await anyio.to_thread.run_sync(
                self.reader.articles, offset, self.page)
        except NewsragError as error:
            raise MCPError(code=INTERNAL_ERROR, message=str(error)) from error
        following = offset + len(summaries)
        return ListResourcesResult(
            resources=[_article_resource(summary) for summary in summaries],
            next_cursor=str(following) if summaries and following < total else None)


def _offset(cursor: str) -> int:
    """The listing offset a cursor this server gave stands for; an MCP error for any other."""
    if not cursor.isdigit() or len(cursor) > 9:
        raise MCPError(code=INVALID_PARAMS, message=f"not a cursor of this server: {cursor!r}")
    return int(cursor)


def _article_resource(summary: DocumentSummary) -> Resource:
    return Resource(uri=ARTICLE_URI.format(article_id=summary.id), name=summary.id,
                    title=summary.title or "(untitled)", mime_type="application/json",
                    description=_where(summary.source, summary.published, summary.url) or None)


def _tool(server: MCPServer, title: str) -> Callable[[T], T]:
    """Register a read-only tool, its description the function's docstring without the
    indentation of the source."""
    def register(function: T) -> T:
        description = inspect.cleandoc(getattr(function, "__doc__", None) or "")
        return server.tool(title=title, description=description, annotations=READ_ONLY)(function)
    return register


class Endpoint:
    """/mcp: what it asks of a request before the SDK sees it, then the SDK's transport.

    It asks for the API key when one is set (401, 403), and refuses every `Origin` but those
    listed in `RAG_CORS_ORIGINS` (403), whatever the method and whatever `Host` says: a page
    that rebinds its own name to this address is same-host. A GET, which would open an event
    stream a stateless server never sends on, is a 405.
    """

    def __init__(self, server: MCPServer, settings: ServerSettings) -> None:
        self.server = server
        self.settings = settings
        self.origins = frozenset(settings.cors_origins)
        self._transport: StreamableHTTPASGIApp | None = None

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """The transport, for one run of the app (an SDK session manager runs only once, and
        an app may be started again, as tests do)."""
        # Stateless, with JSON answers: every request stands alone, so any worker or replica
        # may answer it (the tools keep no state between calls). Origins are checked here;
        # the SDK's own check would also refuse every Host but loopback names, which a server
        # behind a proxy or on a LAN address is reached by.
        self.server.streamable_http_app(
            streamable_http_path=PATH, stateless_http=True, json_response=True,
            max_request_body_size=self.settings.max_body_bytes,
            transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False))
        manager = self.server.session_manager
        async with manager.run():
            self._transport = StreamableHTTPASGIApp(manager)
            try:
                yield
            finally:
                self._transport = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        if origin is not None and origin not in self.origins and "*" not in self.origins:
            await send_json_error(send, 403, "cross_origin_forbidden",
                                  f"/mcp refuses pages of other origins ({origin}); list "
                                  "that origin in RAG_CORS_ORIGINS to allow it")
            return
        try:
            check_key(headers, self.settings.api_key)
        except ApiError as error:
            await send_json_error(send, error.status, error.code, error.message, error.headers)
            return
        if scope["method"] == "GET":
            # The SDK would hold a GET open as an event stream for ever, though a stateless
            # server never sends on it; the protocol lets a server without one answer 405.
            await send_json_error(send, 405, "method_not_allowed",
                                  "/mcp takes JSON-RPC requests by POST; it has no event "
                                  "stream to GET", {"Allow": "POST, DELETE"})
            return
        if self._transport is None:  # only between the app's runs
            await send_json_error(send, 503, "not_ready", "the MCP server is not running")
            return
        await self._transport(scope, receive, send)


async def run_stdio(reader: Reader) -> None:
    """Serve the tools over stdin and stdout until the client closes them (`rag mcp`)."""
    await build_server(reader).run_stdio_async()



def _filters(source: list[str] | None, published_from: Any, published_to: Any
             ) -> Filters | None:
    if published_from and published_to and published_from > published_to:
        raise ToolError("published_from is after published_to")
    filters = Filters(source=source or None, published_from=published_from,
                      published_to=published_to)
    return None if filters.is_empty() else filters


def _reading(read: Callable[[], T]) -> T:
    """What `read` returns; the engine's or server's refusal as a tool error."""
    try:
        return read()
    except NewsragError as error:  # refusals written for callers (rag/errors.py)
        raise ToolError(f"{error.code}: {error}") from error


def _result(model: BaseModel, text: str) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=text)],
                          structured_content=model.model_dump(mode="json"))


def _where(*parts: object) -> str:
    return ", ".join(str(part) for part in parts if part)


def _answer_text(answer: Answer) -> str:
    lines = [answer.answer]
    if answer.citations:
        lines.append("")
    for citation in answer.citations:
        lines.append(f"[{citation.id}] {citation.title or '(untitled)'} ("
                     f"{_where(citation.source, citation.published, citation.url)}; article "
                     f"{citation.article_id})\n    “{citation.quote}”")
    return "\n".join(lines)


def _passages_text(passages: list[Context]) -> str:
    if not passages:
        return "No passage matches."
    return "\n\n".join(
        f"{p.rank}. {p.title or '(untitled)'} ({_where(p.source, p.published)}; article "
        f"{p.article_id}; score {p.score:.3f})\n{p.text}" for p in passages)


def _statements_text(found: StatementList) -> str:
    lines = [f"{s.speaker} ({s.kind}, {s.cue}; {_where(s.source, s.published)}; article "
             f"{s.article_id}): “{s.quote}”" for s in found.statements]
    lines.append(f"{len(found.statements)} of {found.total} statements")
    return "\n".join(lines)


def _article_text(article: DocumentDetail) -> str:
    head = _where(article.source, article.published, article.url)
    return f"{article.title or '(untitled)'}\n{head}\n\n{article.text}" if head else \
        f"{article.title or '(untitled)'}\n\n{article.text}"


@contextlib.contextmanager
def _logging_left_alone() -> Iterator[None]:
    """MCPServer() configures the root logger; the app never does (api/logs.py): undo it."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
