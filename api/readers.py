"""Reading the store for the integrations (MCP, llama-index): one interface over the engine of
this process (`EngineReader`) or the HTTP API of the `rag serve` holding the store
(`ServerReader`)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Protocol

from api.remote import ServerClient
from api.routes.documents import DocumentDetail, DocumentSummary, document_detail
from api.routes.statements import StatementList, statement_list
from rag.answer import contexts_of
from rag.engine import Engine, InvalidRequest
from rag.schemas import Answer, Context, Filters
from rag.store import ArticleNotFound

# The most passages a call may ask for, as `top_k` of the HTTP routes (api/routes/ask.py).
MAX_TOP_K = 50


class Reader(Protocol):
    """Where the integrations read: the engine in this process, or the server holding the
    store. Bad requests raise `InvalidRequest` (engine) or `ServerError` (server)."""

    def ask(self, question: str, top_k: int | None, filters: Filters | None) -> Answer: ...

    def search(self, query: str, top_k: int | None, filters: Filters | None
               ) -> list[Context]: ...

    def statements(self, speaker: str | None, topic: str | None, filters: Filters | None,
                   limit: int) -> StatementList: ...

    def article(self, article_id: str) -> DocumentDetail | None: ...

    def articles(self, offset: int, limit: int) -> tuple[list[DocumentSummary], int]: ...


class EngineReader:
    """Reads through an engine of this process; `engine` is called at each use (the app
    builds its engine only once it starts)."""

    def __init__(self, engine: Callable[[], Engine]) -> None:
        self._engine = engine

    def ask(self, question: str, top_k: int | None, filters: Filters | None) -> Answer:
        engine = self._engine()
        return engine.ask(_checked(engine, "question", question, top_k), top_k=top_k,
                          filters=filters)

    def search(self, query: str, top_k: int | None, filters: Filters | None
               ) -> list[Context]:
        engine = self._engine()
        query = _checked(engine, "query", query, top_k)
        return contexts_of(engine.retriever.search(query, top_k, filters).hits)

    def statements(self, speaker: str | None, topic: str | None, filters: Filters | None,
                   limit: int) -> StatementList:
        return statement_list(self._engine(), speaker, topic, filters, 0, limit)

    def article(self, article_id: str) -> DocumentDetail | None:
        with contextlib.suppress(ArticleNotFound):
            return document_detail(self._engine().store, article_id)
        return None

    def articles(self, offset: int, limit: int) -> tuple[list[DocumentSummary], int]:
        rows, total = self._engine().store.list_articles(offset, limit)
        return [DocumentSummary(**row) for row in rows], total


class ServerReader:
    """Reads through the HTTP API of the `rag serve` holding the store. `search` reads the
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

    def articles(self, offset: int, limit: int) -> tuple[list[DocumentSummary], int]:
        page = self._client.get("/v1/documents", {"offset": offset, "limit": limit,
                                                  "facets": "false"})
        return [DocumentSummary.model_validate(d) for d in page["documents"]], page["total"]


def _checked(engine: Engine, name: str, text: str, top_k: int | None) -> str:
    """`text` stripped, held to the HTTP routes' limits; raises `InvalidRequest` naming the
    limit a blank or long text or a `top_k` outside 1..50 breaks."""
    text = text.strip()
    if not text:
        raise InvalidRequest(f"{name} must not be blank")
    if len(text) > engine.settings.max_question_chars:
        raise InvalidRequest(f"{name} is longer than {engine.settings.max_question_chars} "
                             "characters (RAG_MAX_QUESTION_CHARS)")
    if top_k is not None and not 1 <= top_k <= MAX_TOP_K:
        raise InvalidRequest(f"top_k must be between 1 and {MAX_TOP_K}")
    return text
