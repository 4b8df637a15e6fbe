"""POST /v1/ask: a question in, a cited answer out (JSON, or server-sent events when streamed)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Annotated, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sse_starlette.sse import EventSourceResponse, ServerSentEvent
from starlette.concurrency import run_in_threadpool

from api.deps import ServicesDep
from rag.schemas import Answer, Filters

router = APIRouter(prefix="/v1", tags=["ask"])

# Hard ceiling on the request model; the configured (usually lower) limit is checked by the
# engine, so the limit stays one setting (RAG_MAX_QUESTION_CHARS, default 2,000).
QUESTION_CEILING = 100_000


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Literal["user", "assistant", "system"]
    content: Annotated[str, StringConstraints(max_length=QUESTION_CEILING)]


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                               max_length=QUESTION_CEILING)]
    top_k: int | None = Field(None, ge=1, le=50, description="Passages to retrieve (1-50).")
    filters: Filters | None = None
    mode: Literal["auto", "extractive", "llm"] = "auto"
    history: list[Message] = Field(default_factory=list, max_length=50)
    stream: bool = False


@router.post("/ask", response_model=Answer,
             responses={200: {"content": {"text/event-stream": {}}}})
async def ask(request: AskRequest, services: ServicesDep) -> Answer | EventSourceResponse:
    """Answer a question from the indexed articles, citing a passage for every sentence."""
    answer = await run_in_threadpool(services.engine.ask, request.question, request.top_k,
                                     request.filters, request.mode)
    if request.stream:
        return EventSourceResponse(_events(answer))
    return answer


def _events(answer: Answer) -> Iterator[ServerSentEvent]:
    """The answer as events, in the order DESIGN.md gives: contexts, deltas, citations, ..."""
    def event(name: str, data: object) -> ServerSentEvent:
        return ServerSentEvent(event=name, data=json.dumps(data, ensure_ascii=False))

    body = answer.model_dump(mode="json")
    yield event("contexts", body["contexts"])
    for piece in _pieces(answer.answer):
        yield event("delta", {"text": piece})
    yield event("citations", body["citations"])
    yield event("grounding", body["grounding"])
    yield event("done", {key: body[key] for key in
                         ("abstained", "mode", "evidence_score", "question_coverage",
                          "timings_ms")})


def _pieces(text: str) -> Iterator[str]:
    """The answer a few words at a time, each piece keeping its trailing space."""
    words = text.split(" ")
    for begin in range(0, len(words), 8):
        piece = " ".join(words[begin : begin + 8])
        yield piece if begin + 8 >= len(words) else piece + " "
