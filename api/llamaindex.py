"""newsrag in llama-index's own idiom: `NewsragRetriever` (a `BaseRetriever` of newsrag's
ranked passages as `NodeWithScore`s) and `NewsragQueryEngine` (newsrag's cited answer as a
`Response` whose `source_nodes` are its citations), over a running server or an in-process
engine (README, "Use it from llama-index")."""

from __future__ import annotations

import asyncio
from typing import Any

from llama_index.core.base.base_query_engine import BaseQueryEngine
from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.base.response.schema import Response
from llama_index.core.callbacks import CallbackManager
from llama_index.core.prompts.mixin import PromptMixinType
from llama_index.core.schema import (
    NodeRelationship,
    NodeWithScore,
    QueryBundle,
    RelatedNodeInfo,
    TextNode,
)
from pydantic import SecretStr

from api.readers import EngineReader, Reader, ServerReader
from api.remote import ServerClient
from rag.engine import Engine
from rag.schemas import Answer, Citation, Context, Filters

# How long one call to a running server may take (an LLM answer included).
TIMEOUT_SECONDS = 120.0
# Metadata an LLM prompt built from a node leaves out: positions and ids, not content.
HIDDEN_FROM_LLM = ["article_id", "start", "end", "rank", "quote_start", "quote_end",
                   "citation"]


def reader_of(source: str | Engine, api_key: str | None = None,
              timeout: float = TIMEOUT_SECONDS) -> Reader:
    """A reader over `source`: the base URL of a running newsrag (`api_key` its
    `RAG_API_KEY`, if set) or an engine of this process."""
    if isinstance(source, Engine):
        return EngineReader(lambda: source)
    key = SecretStr(api_key) if api_key else None
    return ServerReader(ServerClient(source.rstrip("/"), key, timeout=timeout,
                                     start_up_seconds=0.0))


class NewsragRetriever(BaseRetriever):
    """newsrag's ranked passages, best first, as llama-index nodes.

    Each node's text is the verbatim passage; its metadata holds `title`, `outlet`, `date`
    (ISO), `url`, `article_id`, the passage's offsets in the article (`start`, `end`, also
    the node's `start_char_idx` and `end_char_idx`), `speaker` (who the article says speaks
    in it, names joined by "; ", or None) and `rank`; its source relationship is the article.
    Retrieval never calls an LLM. A blank or over-long query or a `top_k` outside 1..50
    raises `InvalidRequest` (in process) or `ServerError` (over HTTP).
    """

    def __init__(self, source: str | Engine, top_k: int | None = None,
                 filters: Filters | None = None, api_key: str | None = None,
                 timeout: float = TIMEOUT_SECONDS,
                 callback_manager: CallbackManager | None = None) -> None:
        """`source`: a running newsrag's base URL or an engine of this process; `top_k`:
        passages a query returns (the server's `RAG_TOP_K` when None); `filters`: outlets
        and dates to keep to."""
        super().__init__(callback_manager=callback_manager)
        self.reader = reader_of(source, api_key, timeout)
        self.top_k = top_k
        self.filters = filters

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        passages = self.reader.search(query_bundle.query_str, self.top_k, self.filters)
        return [NodeWithScore(node=passage_node(p), score=p.score) for p in passages]

    async def _aretrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return await asyncio.to_thread(self._retrieve, query_bundle)


class NewsragQueryEngine(BaseQueryEngine):
    """newsrag's answer to a query as a llama-index `Response`.

    `response` is the answer text with its `[n]` markers (or the abstention); `source_nodes`
    are its citations in marker order, each node the cited passage with the supporting
    `quote`, its offsets in the article (`quote_start`, `quote_end`), its `speaker` and the
    `citation` number beside the retriever's metadata; `metadata` holds `abstained`, `mode`
    (extractive or llm), `grounding` and `contexts` (every passage retrieved, as nodes'
    metadata). The answer is newsrag's own: extractive, or its configured LLM's checked by
    its grounding judge; llama-index's LLM settings are never used.
    """

    def __init__(self, source: str | Engine, top_k: int | None = None,
                 filters: Filters | None = None, api_key: str | None = None,
                 timeout: float = TIMEOUT_SECONDS,
                 callback_manager: CallbackManager | None = None) -> None:
        """Arguments as `NewsragRetriever`'s."""
        super().__init__(callback_manager=callback_manager)
        self.reader = reader_of(source, api_key, timeout)
        self.top_k = top_k
        self.filters = filters

    def _get_prompt_modules(self) -> PromptMixinType:
        return {}

    def _query(self, query_bundle: QueryBundle) -> Response:
        return answer_response(self.reader.ask(query_bundle.query_str, self.top_k,
                                               self.filters))

    async def _aquery(self, query_bundle: QueryBundle) -> Response:
        return await asyncio.to_thread(self._query, query_bundle)


def passage_node(passage: Context) -> TextNode:
    """A retrieved passage as a node (see `NewsragRetriever`)."""
    return _node(passage.chunk_id, passage.text, passage, {
        "speaker": "; ".join(passage.speakers) or None, "rank": passage.rank})


def citation_node(citation: Citation) -> TextNode:
    """A citation as a node: the cited passage, the quote and its offsets (see
    `NewsragQueryEngine`). The id is the passage's and the quote's span, so two citations of
    one passage are two nodes."""
    return _node(f"{citation.chunk_id}:{citation.quote_start}-{citation.quote_end}",
                 citation.text, citation, {
                     "speaker": citation.speaker, "citation": citation.id,
                     "quote": citation.quote, "quote_start": citation.quote_start,
                     "quote_end": citation.quote_end})


def answer_response(answer: Answer) -> Response:
    """newsrag's answer as a llama-index `Response` (see `NewsragQueryEngine`)."""
    return Response(
        response=answer.answer,
        source_nodes=[NodeWithScore(node=citation_node(c), score=c.score)
                      for c in answer.citations],
        metadata={"abstained": answer.abstained, "mode": answer.mode,
                  "abstention_reason": answer.abstention_reason,
                  "grounding": answer.grounding.model_dump(mode="json"),
                  "contexts": [passage_node(c).metadata for c in answer.contexts]})


def _node(node_id: str, text: str, found: Context | Citation, extra: dict[str, Any]
          ) -> TextNode:
    metadata = {"title": found.title, "outlet": found.source,
                "date": found.published.isoformat() if found.published else None,
                "url": found.url, "article_id": found.article_id,
                "start": found.start, "end": found.end, **extra}
    return TextNode(
        id_=node_id, text=text, metadata=metadata, start_char_idx=found.start,
        end_char_idx=found.end, excluded_llm_metadata_keys=HIDDEN_FROM_LLM,
        excluded_embed_metadata_keys=[*HIDDEN_FROM_LLM, "url", "quote"],
        relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id=found.article_id)})
