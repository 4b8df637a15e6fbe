"""The MCP server over the engine: the tools ask, search, statements and get_article, served
at /mcp over streamable HTTP by the app (`mount`) and over stdio by `rag mcp` (`run_stdio`).

The tools take the HTTP routes' models and limits; a bad argument or a request the engine
refuses is an MCP tool error, never a crash.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Annotated, Any, Protocol, TypeVar

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp
from mcp.server.transport_security import TransportSecuritySettings
from mcp_types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, Field, StringConstraints
from starlette.datastructures import Headers
from starlette.types import Receive, Scope, Send

from api.deps import check_key
from api.envelope import send_json_error
from api.errors import ApiError
from api.remote import ServerClient
from api.routes.ask import Question, TopK
from api.routes.documents import DocumentDetail, document_detail
from api.routes.statements import MAX_PAGE, MAX_TEXT_CHARS, StatementList, statement_list
from rag.answer import contexts_of
from rag.config import Settings
from rag.engine import Engine, InvalidRequest
from rag.errors import NewsragError
from rag.schemas import Answer, ArticleId, Context, Filters, IsoDate, Sources
from rag.store import ArticleNotFound

T = TypeVar("T")
PATH = "/mcp"
INSTRUCTIONS = (
    "newsrag answers questions from a collection of news articles. Use `ask` for a cited "
    "answer (every sentence carries [n] markers pointing at verbatim quotes), `search` for the "
    "ranked passages alone, `statements` for what a person or organisation said, and "
    "`get_article` to read a whole article by the id the other tools give.")
# Headers a browser page may send to /mcp and read from it, when its origin is allowed.
REQUEST_HEADERS = ("Mcp-Session-Id", "Mcp-Protocol-Version", "Last-Event-ID")
RESPONSE_HEADERS = ("Mcp-Session-Id",)
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


class Reader(Protocol):
    """Where the tools read: the engine in this process, or the server holding the store."""

    def ask(self, question: str, top_k: int | None, filters: Filters | None) -> Answer: ...

    def search(self, query: str, top_k: int | None, filters: Filters | None
               ) -> list[Context]: ...

    def statements(self, speaker: str | None, topic: str | None, filters: Filters | None,
                   limit: int) -> StatementList: ...

    def article(self, article_id: str) -> DocumentDetail | None: ...


class EngineReader:
    """The tools over an engine of this process; `engine` is called at each use (the app
    builds its engine only once it starts)."""

    def __init__(self, engine: Callable[[], Engine]) -> None:
        self._engine = engine

    def ask(self, question: str, top_k: int | None, filters: Filters | None) -> Answer:
        return self._engine().ask(question, top_k=top_k, filters=filters)

    def search(self, query: str, top_k: int | None, filters: Filters | None
               ) -> list[Context]:
        engine = self._engine()
        query = query.strip()
        if len(query) > engine.settings.max_question_chars:
            raise InvalidRequest(f"query is longer than {engine.settings.max_question_chars} "
                                 "characters (RAG_MAX_QUESTION_CHARS)")
        return contexts_of(engine.retriever.search(query, top_k, filters).hits)

    def statements(self, speaker: str | None, topic: str | None, filters: Filters | None,
                   limit: int) -> StatementList:
        return statement_list(self._engine(), speaker, topic, filters, 0, limit)

    def article(self, article_id: str) -> DocumentDetail | None:
        with contextlib.suppress(ArticleNotFound):
            return document_detail(self._engine().store, article_id)
        return None


class ServerReader:
    """The tools over the HTTP API of the `rag serve` holding the store. `search` reads the
    passages `POST /v1/ask` retrieved (asked for an extractive answer, so no LLM is called)."""

    def __init__(self, client: ServerClient) -> None:
        self._client = client

    def ask(self, question: str, top_k: int | None, filters: Filters | None) -> Answer:
        return Answer.model_validate(self._client.ask(question, top_k, filters))

    def search(self, query: str, top_k: int | None, filters: Filters | None
               ) -> list[Context]:
        answer = self._client.ask(query, top_k, filters, mode="extractive")
        return [Context.model_validate(c) for c in answer["contexts"]]

    def statements(self, speaker: str | None, topic: str | None, filters: Filters | None,
                   limit: int) -> StatementList:
        filters = filters or Filters()
        query = {"speaker": speaker, "q": topic, "source": filters.sources() or None,
                 "from": filters.published_from, "to": filters.published_to, "limit": limit}
        found = self._client.get("/v1/statements", {k: v for k, v in query.items() if v})
        return StatementList.model_validate(found)

    def article(self, article_id: str) -> DocumentDetail | None:
        found = self._client.article(article_id)
        return DocumentDetail.model_validate(found) if found else None


def build_server(reader: Reader) -> MCPServer:
    """The MCP server with its four tools reading through `reader`."""
    with _logging_left_alone():
        server = MCPServer("newsrag", instructions=INSTRUCTIONS, version="0.1.0")

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

    return server


def _tool(server: MCPServer, title: str) -> Callable[[T], T]:
    """Register a read-only tool, its description the function's docstring without the
    indentation of the source."""
    def register(function: T) -> T:
        description = inspect.cleandoc(getattr(function, "__doc__", None) or "")
        return server.tool(title=title, description=description, annotations=READ_ONLY)(function)
    return register


def mount(app: Any, settings: Settings, engine: Callable[[], Engine]) -> Endpoint:
    """Serve the MCP server at /mcp of the FastAPI `app`; the app's lifespan must run the
    returned endpoint's `running()`."""
    endpoint = Endpoint(build_server(EngineReader(engine)), settings)
    app.router.add_route(PATH, endpoint, methods=["GET", "POST", "DELETE"],
                         include_in_schema=False)
    return endpoint


class Endpoint:
    """/mcp: what it asks of a request before the SDK sees it, then the SDK's transport.

    It asks for the API key when one is set (401, 403), and refuses every `Origin` but those
    listed in `RAG_CORS_ORIGINS` (403), whatever the method and whatever `Host` says: a page
    that rebinds its own name to this address is same-host. A GET, which would open an event
    stream a stateless server never sends on, is a 405.
    """

    def __init__(self, server: MCPServer, settings: Settings) -> None:
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
