"""LLM answers: the evidence rule first, then the fenced prompt, the model, and verification.

The model is asked only when the retrieved passages could answer (the extractive answerer's
evidence rule, `rag/answer.py`): a question the articles do not cover costs no LLM call and
cannot be answered from the model's own memory. Every answer then goes through `rag/cite.py`,
whole or, when streamed, one sentence at a time, so no sentence is shown before it is checked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from rag.answer import ABSTENTION, Evidence, contexts_of, evidence
from rag.cite import CitationRepair, VerifiedAnswer, Verifier, stream_sentences, verify_citations
from rag.config import Settings
from rag.conflicts import find_conflicts
from rag.embeddings import Encoder
from rag.judge import Attribute
from rag.lexical import LexicalView
from rag.llm import ChatModel, LLMError
from rag.prompt import answer_messages
from rag.query import Query
from rag.schemas import Answer, Context, Grounding, Hit, Notice

NOT_ASKED = "abstained before generation: the passages' evidence is below the threshold"


class AnswerStream:
    """An answer as it is made: its contexts first, then text deltas, then the whole `Answer`
    (read `answer` once the deltas are exhausted)."""

    def __init__(self, contexts: list[Context], deltas: Iterator[str],
                 finish: Callable[[], Answer]) -> None:
        self.contexts = contexts
        self._deltas = deltas
        self._finish = finish
        self._answer: Answer | None = None

    @classmethod
    def of(cls, answer: Answer) -> AnswerStream:
        """A stream of an answer that is already whole (extractive, abstained, fallen back)."""
        return cls(answer.contexts, iter([answer.answer]), lambda: answer)

    def then(self, update: Callable[[Answer], Answer]) -> AnswerStream:
        """The same stream, its final answer passed through `update` (e.g. to add timings)."""
        finish = self._finish
        return AnswerStream(self.contexts, self._deltas, lambda: update(finish()))

    def __iter__(self) -> Iterator[str]:
        yield from self._deltas
        self._answer = self._finish()

    @property
    def answer(self) -> Answer:
        if self._answer is None:
            raise RuntimeError("the answer is known once its stream has been read to the end")
        return self._answer


def fallback_notice(error: LLMError) -> Notice:
    """What an answer that fell back to extractive says about why."""
    return Notice(code=error.code, message=f"{error}; answered extractively instead")


class LLMAnswerer:
    """Answers from the retrieved passages through the configured chat model."""

    def __init__(self, model: ChatModel, encoder: Encoder, settings: Settings,
                 attribute: Attribute | None = None) -> None:
        self.model = model
        self.encoder = encoder
        self.settings = settings
        self.attribute = attribute

    def answer(self, question: str | Query, hits: list[Hit], lexical: LexicalView) -> Answer:
        """The verified answer to the question (its text or its reading, `rag.query.Query`).
        Raises an `LLMError` subclass when the model fails."""
        query = Query.read(question, lexical)
        found = evidence(query, hits, lexical)
        if not self._suffices(found):
            return _not_asked(hits, found)
        text = self.model.complete(answer_messages(query.text, hits))
        return _answer(verify_citations(text, hits, self.encoder, lexical,
                                        attribute=self.attribute), hits, found, lexical)

    def stream(self, question: str | Query, hits: list[Hit], lexical: LexicalView,
               fallback: Callable[[LLMError], Answer] | None = None) -> AnswerStream:
        """The answer sentence by sentence, each shown once verification keeps it.

        The model is asked before this returns, so a model that refuses, cannot be reached or
        does not respond in time raises an `LLMError` here, while the caller can still answer
        with an HTTP error. If the stream breaks later, before any sentence was shown,
        `fallback` answers instead (without one, the error is raised from the iterator);
        after some were shown, the answer keeps them and its `notice` says it stopped early.
        `question`: its text or its reading (`rag.query.Query`).
        """
        query = Query.read(question, lexical)
        found = evidence(query, hits, lexical)
        if not self._suffices(found):
            return AnswerStream.of(_not_asked(hits, found))
        deltas = self.model.stream(answer_messages(query.text, hits))
        repair = CitationRepair(Verifier(hits, self.encoder, lexical,
                                         attribute=self.attribute))
        final: list[Answer] = []

        def produce() -> Iterator[str]:
            notice = None
            try:
                for sentence, gap in stream_sentences(deltas):
                    shown = repair.add(sentence, gap)
                    if shown:
                        yield shown
            except LLMError as error:
                if repair.shown:
                    notice = Notice(code=error.code, message=f"{error}: the answer stopped "
                                    "early and holds only the sentences verified before that")
                elif fallback is None:
                    raise
                else:
                    final.append(fallback(error))
                    yield final[0].answer
                    return
            verified = repair.finish()
            if not repair.shown:  # every sentence was dropped: the answer abstains
                yield verified.text
            final.append(_answer(verified, hits, found, lexical).model_copy(
                update={"notice": notice}))

        return AnswerStream(contexts_of(hits), produce(), lambda: final[0])

    def _suffices(self, found: Evidence) -> bool:
        return found.suffices(self.settings.abstain_threshold,
                              self.settings.min_question_coverage)


def _scores(found: Evidence) -> dict[str, float]:
    return {"evidence_score": round(found.score, 4),
            "question_coverage": round(found.coverage, 4)}


def _not_asked(hits: list[Hit], found: Evidence) -> Answer:
    return Answer(answer=ABSTENTION, abstained=True, citations=[], contexts=contexts_of(hits),
                  grounding=Grounding(score=1.0, supported=0, sentences=0, method=NOT_ASKED),
                  mode="llm", **_scores(found))


def _answer(verified: VerifiedAnswer, hits: list[Hit], found: Evidence,
            lexical: LexicalView) -> Answer:
    """The verified answer, with the disagreements among what it cites (the model was asked
    to state them; `conflicts` lists them whether or not it did)."""
    return Answer(answer=verified.text, abstained=verified.abstained,
                  citations=verified.citations, contexts=contexts_of(hits),
                  grounding=verified.grounding, mode="llm",
                  conflicts=find_conflicts(verified.citations, lexical.analyzer), **_scores(found))
