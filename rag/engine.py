"""The engine the front doors hold: one store, one encoder, one retriever, built once."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

import numpy as np

from rag.answer import answer_extractive, contexts_of
from rag.carriers import with_carriers
from rag.config import Settings
from rag.embeddings import Encoder, claim_encoder_for, encoder_for, text_encoder_for
from rag.errors import NewsragError
from rag.followup import llm_standalone_question, standalone_question
from rag.generate import AnswerStream, LLMAnswerer, fallback_notice
from rag.grounding import GroundingReport, grade
from rag.judge import Attribute
from rag.lexical import LexicalIndex
from rag.llm import ChatModel, LLMError
from rag.partitions import require_one_store
from rag.query import Query
from rag.retrieve import Retriever, SearchResult
from rag.schemas import Answer, Chunk, Filters, Hit, Turn
from rag.snapshot import Snapshot
from rag.speech import find_statements, speech_answer
from rag.statements import Said, StatementIndex, for_corpus
from rag.store import Store
from rag.timescope import Scope, anchor_of, scope
from rag.topics import STORY_CANDIDATES, Meaning


class InvalidRequest(NewsragError, ValueError):
    """A request the engine cannot serve as asked; the message says what to change."""

    code = "invalid_request"
    status = 422
    exit_status = 2


class Engine:
    """Answers questions over the stored articles."""

    def __init__(self, settings: Settings, store: Store | None = None,
                 encoder: Encoder | None = None, attribute: Attribute | None = None) -> None:
        """`attribute` says who spoke each sentence of a text, for the grounding judge's
        speaker check on claims and inline sources (the API passes index/speakers.py's)."""
        require_one_store(settings)
        self.settings = settings
        self.store = store or Store.open(settings)
        self.encoder = encoder or encoder_for(settings)  # documents
        self.text_encoder = text_encoder_for(settings, self.encoder)
        # Answer sentences and the passage sentences they are checked against.
        self.claim_encoder = claim_encoder_for(settings, self.encoder)
        self.retriever = Retriever(self.store, self.text_encoder, settings)
        self.attribute = attribute
        self.llm = (LLMAnswerer(ChatModel(settings), self.claim_encoder, settings,
                                attribute) if settings.llm_configured else None)
        self._statement_cache: dict[int, StatementIndex] = {}

    def ask(self, question: str, *, top_k: int | None = None, filters: Filters | None = None,
            mode: Literal["auto", "extractive", "llm"] = "auto",
            history: list[Turn] | None = None) -> Answer:
        """Retrieve passages for the question and answer from them, with citations.

        With a conversation `history`, the question is first rewritten to stand alone, and
        that rewrite is what is searched and answered (`Answer.standalone_question`).
        """
        question, use_llm = self._checked(question, mode, history or [])
        began = time.perf_counter()
        question = self.standalone_question(question, history or [], use_llm)
        # One snapshot for the whole question, and the question read once over it.
        snapshot = self.retriever.refresh()
        scoped = self.scope(question, filters, snapshot)
        query = self.retriever.read(scoped.question, snapshot)
        spoken = None if use_llm else self._answer_speech(query, scoped.filters,
                                                          scoped.newest_first)
        if spoken is not None and not spoken.abstained:
            return self._carried(self._finish(scoped, snapshot, spoken.model_copy(update={
                "standalone_question": question, "timings_ms": _timings(began, began)})),
                snapshot)
        result = self._search(scoped, query, top_k)
        if spoken is not None:  # an abstention still shows what the search found
            return self._finish(scoped, snapshot, spoken.model_copy(update={
                "standalone_question": question, "contexts": contexts_of(result.hits),
                "timings_ms": _timings(began, time.perf_counter())}))
        retrieved = time.perf_counter()
        answer = (self._answer_llm(question, query, result.hits) if use_llm
                  else self._answer_extractive(query, result.hits))
        update = {"standalone_question": question, "timings_ms": _timings(began, retrieved)}
        later = scoped.later() if answer.abstained and not use_llm else None
        if later is not None:
            # What happened in the range may be reported after it: answered so, and said so.
            found = self._answer_extractive(query, self._search(later, query, top_k).hits)
            if not found.abstained:
                return self._carried(scoped.finish(found.model_copy(update=update), True, later),
                                     snapshot)
        return self._carried(self._finish(scoped, snapshot, answer.model_copy(update=update),
                                          later is not None), snapshot)

    def stream(self, question: str, *, top_k: int | None = None,
               filters: Filters | None = None, mode: Literal["auto", "extractive", "llm"] = "auto",
               history: list[Turn] | None = None) -> AnswerStream:
        """`ask`, with the answer given as it is made: an LLM answer sentence by sentence as
        verification passes each one, an extractive answer whole. Raises what `ask` raises
        before anything is streamed (see `LLMAnswerer.stream` for failures after that)."""
        question, use_llm = self._checked(question, mode, history or [])
        if not use_llm:
            return AnswerStream.of(self.ask(question, top_k=top_k, filters=filters, mode=mode,
                                            history=history))
        began = time.perf_counter()
        question = self.standalone_question(question, history or [], use_llm)
        snapshot = self.retriever.refresh()
        scoped = self.scope(question, filters, snapshot)
        query = self.retriever.read(scoped.question, snapshot)
        hits = self._search(scoped, query, top_k).hits
        retrieved = time.perf_counter()
        asked = self._reading(question, query)
        fallback = self._fallback(question, asked, hits)
        try:
            stream = self.llm.stream(asked, hits, query.lexical, fallback)
        except LLMError as error:
            if fallback is None:
                raise
            stream = AnswerStream.of(fallback(error))
        # The text is streamed as it is made: only the fields say what was searched.
        return stream.then(lambda answer: self._carried(scoped.finish(answer.model_copy(update={
            "standalone_question": question, "timings_ms": _timings(began, retrieved)}),
            True, words=False), snapshot))

    def grounding(self, answer: str, *, sources: list[Chunk] | None = None,
                  ids: list[int] | None = None, question: str | None = None,
                  top_k: int | None = None, filters: Filters | None = None) -> GroundingReport:
        """Grade an answer with the grounding judge against `sources` (numbered `ids`, else
        1..n), or, without sources, against the passages retrieved for `question` as `ask`
        retrieves them (numbered 1..k in rank order). Raises `InvalidRequest` for neither,
        `InvalidCitation` for a marker to no source."""
        if sources is None:
            if not question or not question.strip():
                raise InvalidRequest("give `sources`, or a `question` to retrieve them for")
            question, _ = self._checked(question, "extractive", [])
            query = self.retriever.read(question)
            hits = self.retriever.search(query, top_k, filters).hits
            lexical = query.lexical
        else:
            hits = [Hit(chunk=chunk, score=1.0) for chunk in sources]
            lexical = LexicalIndex.of_chunks(sources)
        ids = ids or list(range(1, len(hits) + 1))
        return grade(answer, hits, ids, self.claim_encoder, lexical, self.attribute)

    def _carried(self, answer: Answer, snapshot: Snapshot) -> Answer:
        """The answer with the other copies of each cited story (`rag.carriers`) the
        snapshot it was answered from holds."""
        return with_carriers(answer, snapshot.corpus)

    def scope(self, question: str, filters: Filters | None,
              snapshot: Snapshot | None = None) -> Scope:
        """The question as searched under its time words (`rag/timescope.py`): a range they
        name joins the filters unless `filters` set dates; relative words count from the
        anchor `Settings.time_anchor` names, in `snapshot` (default: the current one)."""
        corpus = (snapshot or self.retriever.refresh()).corpus
        kind = self.settings.time_anchor
        return scope(question, filters, anchor_of(corpus, kind), kind)

    def _search(self, scoped: Scope, query: Query, top_k: int | None) -> SearchResult:
        return scoped.search(self.retriever, top_k, self.settings.recency_weight, query)

    def _finish(self, scoped: Scope, snapshot: Snapshot, answer: Answer,
                searched_later: bool = False) -> Answer:
        """The answer with what was searched; under a range, an extractive abstention saying
        so, or that `snapshot` holds no article in it (`searched_later`: articles published
        after the range held no answer either)."""
        held = True
        if scoped.ranged and answer.mode == "extractive":
            mask = snapshot.corpus.mask(scoped.filters)
            held = mask is None or bool(mask.any())
        return scoped.finish(answer, held, searched_later=searched_later)

    def _checked(self, question: str, mode: str, history: list[Turn]) -> tuple[str, bool]:
        """The question, stripped and within limits, and whether the LLM is to answer it.

        Raises InvalidRequest naming the limit when the question or the conversation before
        it is too long (docs/operations.md, Limits), or when mode 'llm' has no LLM."""
        question = question.strip()
        limits = self.settings
        if not question:
            raise InvalidRequest("question is empty")
        if len(question) > limits.max_question_chars:
            raise InvalidRequest(f"question is longer than {limits.max_question_chars} "
                                 "characters (RAG_MAX_QUESTION_CHARS)")
        if len(history) > limits.max_history_turns:
            raise InvalidRequest(f"history has {len(history)} messages, more than "
                                 f"{limits.max_history_turns} (RAG_MAX_HISTORY_TURNS)")
        for position, turn in enumerate(history):
            if turn.role == "user" and len(turn.content) > limits.max_question_chars:
                raise InvalidRequest(
                    f"history[{position}]: a user message is a question, and is longer than "
                    f"{limits.max_question_chars} characters (RAG_MAX_QUESTION_CHARS)")
        if (total := sum(len(turn.content) for turn in history)) > limits.max_history_chars:
            raise InvalidRequest(f"history holds {total} characters, more than "
                                 f"{limits.max_history_chars} (RAG_MAX_HISTORY_CHARS)")
        if mode == "llm" and self.llm is None:
            raise InvalidRequest("mode 'llm' needs an LLM: set RAG_LLM_BASE_URL or "
                                 "OPENAI_API_KEY (mode 'auto' falls back to extractive)")
        return question, mode != "extractive" and self.llm is not None

    def statements(self, snapshot: Snapshot | None = None) -> StatementIndex:
        """Every statement of `snapshot` (default: the current one), by speaker (built on
        first use)."""
        return for_corpus((snapshot or self.retriever.refresh()).corpus, self._statement_cache)

    def find_statements(self, speaker: str | None = None, topic: str | None = None,
                        filters: Filters | None = None) -> list[Said]:
        """Statement records by speaker, topic and filters (`rag.speech.find_statements`)."""
        snapshot = self.retriever.refresh()
        return find_statements(self.statements(snapshot), snapshot.lexical, speaker, topic,
                               filters, self._meaning(snapshot, filters))

    def _embed(self, text: str) -> np.ndarray:
        return self.text_encoder.embed([text])[0]

    def _meaning(self, snapshot: Snapshot, filters: Filters | None) -> Meaning | None:
        """What statements' meaning is read with (`rag.topics.Meaning`): None without
        sentence vectors, when only words count."""
        if not (self.settings.sentence_vectors and snapshot.sentences.held):
            return None

        def related(text: str) -> list[str]:
            query = self.retriever.read(text, snapshot)
            hits = self.retriever.search(query, STORY_CANDIDATES, filters).hits
            return list(dict.fromkeys(hit.chunk.article_id for hit in hits))

        return Meaning(self._embed, snapshot.sentences.cosines, related,
                       snapshot.sentences.read)

    def _answer_speech(self, query: Query, filters: Filters | None,
                       newest_first: bool = False) -> Answer | None:
        """The answer from statements to a question about what someone said, or None for
        any other question (`rag/speech.py`); articles newest first when so asked. The
        statements are those of the snapshot the question was read over."""
        if not query.asks_who_said_what:
            return None  # no statement is read for other questions
        snapshot = query.snapshot
        return speech_answer(query, self.statements(snapshot), snapshot.lexical,
                             self._meaning(snapshot, filters), filters, newest_first)

    def _reading(self, question: str, query: Query) -> Query:
        """The reading of `question` (the question as asked, time words and all): `query`,
        the searched one, when it is of the same text, else one over the same snapshot."""
        return query if query.text == question else self.retriever.read(question,
                                                                         query.snapshot)

    def _answer_extractive(self, query: Query, hits: list[Hit]) -> Answer:
        return answer_extractive(query, hits, query.lexical,
                                 self.settings.abstain_threshold, self.settings.answer_sentences,
                                 self.settings.min_question_coverage)

    def _answer_llm(self, question: str, query: Query, hits: list[Hit]) -> Answer:
        """The LLM's verified answer to `question` (as asked, time words and all; `query` the
        reading it was searched by); on an LLM failure, the extractive one saying why (when
        `Settings.llm_fallback` is on) or the failure raised for the API to report."""
        asked = self._reading(question, query)
        try:
            return self.llm.answer(asked, hits, query.lexical)
        except LLMError as error:
            fallback = self._fallback(question, asked, hits)
            if fallback is None:
                raise
            return fallback(error)

    def _fallback(self, question: str, query: Query,
                  hits: list[Hit]) -> Callable[[LLMError], Answer] | None:
        """What answers `question` when the LLM fails (the extractive answer, saying why),
        or None when `Settings.llm_fallback` is off (`query`: its reading, or the searched one)."""
        if not self.settings.llm_fallback:
            return None

        def fallback(error: LLMError) -> Answer:
            answer = self._answer_extractive(self._reading(question, query), hits)
            return answer.model_copy(update={"notice": fallback_notice(error)})

        return fallback

    def standalone_question(self, question: str, history: list[Turn],
                            use_llm: bool = False) -> str:
        """The question as it is searched: rewritten to stand alone after earlier turns.

        When the LLM answers this request it also does the rewrite; otherwise the rules of
        `rag/followup.py` carry names and topics of the earlier turns, with no model needed
        (so an extractive answer stays offline and deterministic).
        """
        limit = self.settings.max_question_chars
        if use_llm and self.llm is not None:
            return llm_standalone_question(question, history, self.llm.model, limit)
        return standalone_question(question, history, limit)


def _timings(began: float, retrieved: float) -> dict[str, float]:
    """Milliseconds spent retrieving, answering, and in all, from two `perf_counter` marks."""
    done = time.perf_counter()
    return {"retrieve": round((retrieved - began) * 1000, 2),
            "answer": round((done - retrieved) * 1000, 2),
            "total": round((done - began) * 1000, 2)}
