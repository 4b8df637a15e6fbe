"""The llama-index + Chroma baseline the benchmarks compare against, with our encoder.

Our `Encoder` is wrapped as a llama-index `BaseEmbedding`, so both sides embed with the very same
model and threads; `Settings.llm` is None (MockLLM) and `Settings.embed_model` is set, so
llama-index never reaches for OpenAI. Needs the `bench` extra (llama-index-vector-stores-chroma).
"""

from __future__ import annotations

from pathlib import Path

import chromadb
from chromadb.config import Settings as ChromaSettings
from llama_index.core import Settings as LlamaSettings
from llama_index.core import VectorStoreIndex
from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.ingestion import IngestionPipeline
from llama_index.core.node_parser import TokenTextSplitter
from llama_index.core.schema import BaseNode, Document
from llama_index.vector_stores.chroma import ChromaVectorStore
from pydantic import PrivateAttr

from rag.embeddings import Encoder
from rag.store import HNSW


class LlamaEncoder(BaseEmbedding):
    """Our encoder behind llama-index's embedding interface."""

    _encoder: Encoder = PrivateAttr()

    def __init__(self, encoder: Encoder, batch_size: int = 32) -> None:
        super().__init__(model_name=encoder.name, embed_batch_size=batch_size)
        self._encoder = encoder

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._encoder.embed([query])[0].tolist()

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._encoder.embed([text])[0].tolist()

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self._encoder.embed(texts).tolist()


def configure(encoder: Encoder) -> LlamaEncoder:
    """Set llama-index's globals so nothing defaults to OpenAI; returns the embed model."""
    embed_model = LlamaEncoder(encoder)
    LlamaSettings.llm = None
    LlamaSettings.embed_model = embed_model
    return embed_model


def _client(path: Path) -> chromadb.ClientAPI:
    return chromadb.PersistentClient(path=str(path),
                                     settings=ChromaSettings(anonymized_telemetry=False))


def dense_retriever(data_dir: Path, encoder: Encoder, top_k: int = 8,
                    collection: str = "news_chunks") -> BaseRetriever:
    """`VectorStoreIndex.from_vector_store(...).as_retriever()` over our chunk collection."""
    embed_model = configure(encoder)
    store = ChromaVectorStore(
        chroma_collection=_client(data_dir / "chroma").get_collection(collection))
    index = VectorStoreIndex.from_vector_store(store, embed_model=embed_model)
    return index.as_retriever(similarity_top_k=top_k)


def ingest(records: list[dict], data_dir: Path, encoder: Encoder, chunk_tokens: int,
           overlap: int) -> list[BaseNode]:
    """llama-index's own IngestionPipeline (token splitter, our model) into a ChromaVectorStore;
    returns the nodes written."""
    embed_model = configure(encoder)
    collection = _client(data_dir / "chroma").get_or_create_collection(
        "llama_chunks", configuration=HNSW, embedding_function=None)
    pipeline = IngestionPipeline(
        transformations=[TokenTextSplitter(chunk_size=chunk_tokens, chunk_overlap=overlap),
                         embed_model],
        vector_store=ChromaVectorStore(chroma_collection=collection),
    )
    documents = [Document(text=r["body"], metadata={"title": r["title"], "source": r["source"],
                                                    "published": r["published_at"]})
                 for r in records]
    return pipeline.run(documents=documents)
