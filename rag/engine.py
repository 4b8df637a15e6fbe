"""The engine the front doors hold: one store, one encoder, one retriever, built once."""

from __future__ import annotations

import time
from typing import Literal

from rag.answer import answer_extractive
from rag.config import Settings
from rag.embeddings import Encoder, load_encoder
from rag.retrieve import Retriever
from rag.schemas import Answer, Filters
from rag.store import Store


class InvalidRequest(ValueError):
    """A request the engine cannot serve as asked; the message says what to change."""


class Engine:
    """Answers questions over the stored articles."""

    def __init__(self, settings: Settings, store: Store | None = None,
                 encoder: Encoder | None = None) -> None:
        self.settings = settings
        self.store = store or Store.open(settings)
        self.encoder = encoder or load_encoder(settings.embed_backend,
                                               settings.embed_batch_size)
        self.retriever = Retriever(self.store, self.encoder, settings)

    def ask(self, question: str, top_k: int | None = None, filters: Filters | None = None,
            mode: Literal["auto", "extractive", "llm"] = "auto") -> Answer:
        """Retrieve passages for the question and answer from them, with citations."""
        question = question.strip()
        if not question:
            raise InvalidRequest("question is empty")
        if len(question) > self.settings.max_question_chars:
            raise InvalidRequest(
                f"question is longer than {self.settings.max_question_chars} characters"
            )
        if mode == "llm":
            raise InvalidRequest("mode 'llm' needs an LLM: set RAG_LLM_BASE_URL or "
                                 "OPENAI_API_KEY (mode 'auto' falls back to extractive)")
        began = time.perf_counter()
        result = self.retriever.search(question, top_k, filters)
        retrieved = time.perf_counter()
        answer = answer_extractive(question, result.hits, self.retriever.lexical,
                                   self.settings.abstain_threshold,
                                   self.settings.answer_sentences,
                                   self.settings.min_question_coverage)
        done = time.perf_counter()
        return answer.model_copy(update={"timings_ms": {
            "retrieve": round((retrieved - began) * 1000, 2),
            "answer": round((done - retrieved) * 1000, 2),
            "total": round((done - began) * 1000, 2),
        }})
