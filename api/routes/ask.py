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
from api.media import JsonBodyRoute
from api.responses import BODY, LLM, error_responses
from rag.config import HISTORY_TURNS_CEILING, QUESTION_CHARS_CEILING
from rag.generate import AnswerStream
from rag.llm import LLMError
from rag.schemas import Answer, Filters, Turn

router = APIRouter(prefix="/v1", tags=["ask"], route_class=JsonBodyRoute)


# The question and passage count a request may send; the MCP tools (api/mcp.py) take the same.
Question = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                            max_length=QUESTION_CHARS_CEILING)]
TopK = Annotated[int, Field(ge=1, le=50)]


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    role: Literal["user", "assistant", "system"]
    content: Annotated[str, StringConstraints(max_length=QUESTION_CHARS_CEILING)]


class AskRequest(BaseModel):
    """Strict: a number, a boolean, a string are each only themselves (`"5"` is no `top_k`).

    The length ceilings here only bound parsing; the configured limits (RAG_MAX_QUESTION_CHARS,
    RAG_MAX_HISTORY_TURNS, RAG_MAX_HISTORY_CHARS) are checked by the engine and named in its
    422s, so each limit stays one setting."""

    model_config = ConfigDict(extra="forbid", strict=True)

    question: Question
    top_k: TopK | None = Field(None, description="Passages to retrieve (1-50).")
    filters: Filters | None = None
    mode: Literal["auto", "extractive", "llm"] = "auto"
    history: list[Message] = Field(
        default_factory=list, max_length=HISTORY_TURNS_CEILING,
        description="Earlier turns, oldest first (RAG_MAX_HISTORY_TURNS, default 50; "
                    "RAG_MAX_HISTORY_CHARS in all; a user turn is a question and is at most "
                    "RAG_MAX_QUESTION_CHARS).")
    stream: bool = False


@router.post("/ask", response_model=Answer,
             responses={200: {"content": {"text/event-stream": {}}},
                        **error_responses(*BODY, *LLM)})
async def ask(request: AskRequest, services: ServicesDep) -> Answer | EventSourceResponse:
    """Answer a question from the indexed articles, citing a passage for every sentence."""
    history = [Turn(role=m.role, content=m.content) for m in request.history]
    arguments = {"top_k": request.top_k, "filters": request.filters, "mode": request.mode,
                 "history": history}
    if request.stream:
        stream = await run_in_threadpool(services.engine.stream, request.question, **arguments)
        return EventSourceResponse(_events(stream))
    return await run_in_threadpool(services.engine.ask, request.question, **arguments)


def _events(stream: AnswerStream) -> Iterator[ServerSentEvent]:
    """The answer as events, in the order DESIGN.md gives: contexts, deltas, citations, ...

    An LLM that fails once the stream has begun, before any sentence was shown and with no
    fallback, ends it with an `error` event (`{code, message}`, the codes of the JSON errors).
    """
    def event(name: str, data: object) -> ServerSentEvent:
        return ServerSentEvent(event=name, data=json.dumps(data, ensure_ascii=False))

    yield event("contexts", [context.model_dump(mode="json") for context in stream.contexts])
    try:
        for delta in stream:
            for piece in _pieces(delta):
                yield event("delta", {"text": piece})
    except LLMError as error:
        yield event("error", {"code": error.code, "message": str(error)})
        return
    body = stream.answer.model_dump(mode="json")
    yield event("citations", body["citations"])
    yield event("grounding", body["grounding"])
    yield event("done", {key: body[key] for key in
                         ("abstained", "mode", "evidence_score", "question_coverage",
                          "timings_ms", "standalone_question", "notice", "conflicts",
                          "filters", "time")})


def _pieces(text: str) -> Iterator[str]:
    """The answer a few words at a time, each piece keeping its trailing space."""
    words = text.split(" ")
    for begin in range(0, len(words), 8):
        piece = " ".join(words[begin : begin + 8])
        yield piece if begin + 8 >= len(words) else piece + " "
