"""OpenAI-compatible chat: POST /v1/chat/completions and GET /v1/models, so chat front-ends and
the `openai` client can use the service as a model. The last message is the question and the
ones before it its history; the reply is the engine's answer, with `citations` beside `choices`
and the same passages as Open WebUI's `sources` (docs/answering.md, "The chat route").
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from typing import Annotated, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from sse_starlette.sse import EventSourceResponse
from starlette.concurrency import run_in_threadpool

from api.chat_sources import ChatSource, chat_sources
from api.deps import ServicesDep
from api.errors import ApiError
from api.media import JsonBodyRoute
from api.responses import BODY, LLM, error_responses
from rag.config import HISTORY_TURNS_CEILING, QUESTION_CHARS_CEILING
from rag.generate import AnswerStream
from rag.llm import LLMError
from rag.schemas import Answer, Citation, Conflict, Filters, Turn
from rag.tokens import count_tokens

router = APIRouter(prefix="/v1", tags=["chat"], route_class=JsonBodyRoute)

MODEL_ID = "newsrag"
# A model card must read the same on every call and the service has no training date: this is
# when the chat API first shipped (2026-01-01T00:00:00Z).
MODEL_CREATED = 1_767_225_600
# The same hard ceilings as /v1/ask; the engine checks the configured limits.
MAX_MESSAGES = HISTORY_TURNS_CEILING + 1
CONTENT_CEILING = QUESTION_CHARS_CEILING
# One streamed delta per cited sentence: a front-end never shows a sentence without its marker.
_AFTER_MARKER = re.compile(r"(?<=\] )")


class ContentPart(BaseModel):
    """A part of a message's content; only text parts are read (images have no place here)."""

    model_config = ConfigDict(extra="ignore", strict=True)

    type: str
    text: Annotated[str, StringConstraints(max_length=CONTENT_CEILING)] | None = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)  # name, tool_calls, refusal, ...

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: (Annotated[str, StringConstraints(max_length=CONTENT_CEILING)]
              | list[ContentPart] | None) = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "\n".join(p.text for p in self.content if p.type == "text" and p.text)
        return self.content or ""


class StreamOptions(BaseModel):
    model_config = ConfigDict(strict=True)

    include_usage: bool = False


class ChatRequest(BaseModel):
    """The official request; fields not listed here are accepted and ignored. Strict, as on
    /v1/ask: `"stream": "yes"` or `"top_k": "5"` is a 422, not a guess."""

    model_config = ConfigDict(extra="ignore", strict=True)

    model: str = MODEL_ID
    messages: list[ChatMessage] = Field(min_length=1, max_length=MAX_MESSAGES)
    stream: bool = False
    stream_options: StreamOptions | None = None
    top_k: int | None = Field(None, ge=1, le=50, description="Passages to retrieve (1-50).")
    filters: Filters | None = None

    @model_validator(mode="after")
    def _ends_with_a_question(self) -> ChatRequest:
        if self.messages[-1].role != "user":
            raise ValueError("the last message must be the user's question (role 'user')")
        return self

    def history(self) -> list[Turn]:
        """The conversation before the question, every message of it: user and assistant
        turns as they are, the others as `system` turns (counted, not read)."""
        return [Turn(role=m.role if m.role in ("user", "assistant") else "system",
                     content=m.text()) for m in self.messages[:-1]]


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class Choice(BaseModel):
    index: int = 0
    message: AssistantMessage
    logprobs: None = None
    finish_reason: Literal["stop"] = "stop"


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: Usage
    citations: list[Citation] = Field(description="The targets of the answer's [n] markers.")
    conflicts: list[Conflict] = Field(default_factory=list,
                                      description="Where the cited sources disagree.")
    sources: list[ChatSource] = Field(
        default_factory=list,
        description="The citations as Open WebUI's source chips read them, in marker order.")


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


MODEL = ModelCard(id=MODEL_ID, created=MODEL_CREATED, owned_by=MODEL_ID)


@router.get("/models", response_model=ModelList)
async def list_models() -> ModelList:
    """The one model this service is: the cited answerer over the indexed articles."""
    return ModelList(data=[MODEL])


@router.get("/models/{model_id}", response_model=ModelCard, responses=error_responses(404, 422))
async def get_model(model_id: str) -> ModelCard:
    if model_id != MODEL_ID:
        raise ApiError(404, "model_not_found",
                       f"no model named {model_id!r}; this service is {MODEL_ID!r}")
    return MODEL


@router.post("/chat/completions", response_model=ChatCompletion,
             responses={200: {"content": {"text/event-stream": {}}},
                        **error_responses(*BODY, *LLM)})
async def chat_completions(request: ChatRequest,
                           services: ServicesDep) -> ChatCompletion | EventSourceResponse:
    """Answer the last user message, citing a passage for every sentence of the answer."""
    question = request.messages[-1].text()
    arguments = {"top_k": request.top_k, "filters": request.filters, "history": request.history()}
    if request.stream:
        stream = await run_in_threadpool(services.engine.stream, question, **arguments)
        include_usage = bool(request.stream_options and request.stream_options.include_usage)
        # Events as dicts, so they take the response's "\n" separator, as OpenAI sends them.
        return EventSourceResponse(_chunks(request, stream, include_usage), sep="\n")
    answer = await run_in_threadpool(services.engine.ask, question, **arguments)
    return ChatCompletion(id=_completion_id(), created=int(time.time()), model=MODEL_ID,
                          choices=[Choice(message=AssistantMessage(content=answer.answer))],
                          usage=_usage(request, answer), citations=answer.citations,
                          conflicts=answer.conflicts, sources=chat_sources(answer.citations))


def _completion_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex}"


def _usage(request: ChatRequest, answer: Answer) -> Usage:
    """Tokens counted with tiktoken: the messages' texts as sent, and the answer's text."""
    prompt_tokens = sum(count_tokens(m.text()) for m in request.messages)
    completion_tokens = count_tokens(answer.answer)
    return Usage(prompt_tokens=prompt_tokens, completion_tokens=completion_tokens,
                 total_tokens=prompt_tokens + completion_tokens)


def _chunks(request: ChatRequest, stream: AnswerStream,
            include_usage: bool) -> Iterator[dict[str, str]]:
    """`chat.completion.chunk` events as the official API streams them: the role, the content
    as it is made, the stop with the citations, the usage when asked for, then `[DONE]`.

    Before the stop, one chunk with an empty delta per citation carries it as an Open WebUI
    `source` event (its server relays a chunk's `event` to the page as a chip); the stop chunk
    also carries them all as `sources`, which Open WebUI's direct connections read.

    An LLM that fails after the stream began (and no fallback answered) ends it with an
    OpenAI-style `{"error": ...}` event, which the `openai` client raises as an `APIError`.
    """
    identity = {"id": _completion_id(), "object": "chat.completion.chunk",
                "created": int(time.time()), "model": MODEL_ID}

    def chunk(delta: dict | None, finish_reason: str | None = None,
              **extra: object) -> dict[str, str]:
        choices = [] if delta is None else [{"index": 0, "delta": delta, "logprobs": None,
                                             "finish_reason": finish_reason}]
        return {"data": json.dumps({**identity, "choices": choices, **extra},
                                   ensure_ascii=False)}

    yield chunk({"role": "assistant", "content": ""})
    try:
        for delta in stream:
            for piece in _AFTER_MARKER.split(delta):
                if piece:
                    yield chunk({"content": piece})
    except LLMError as error:
        yield {"data": json.dumps({"error": {"message": str(error), "type": error.code,
                                             "code": error.code}})}
        return
    answer = stream.answer
    sources = [s.model_dump(mode="json") for s in chat_sources(answer.citations)]
    for source in sources:
        yield chunk({}, event={"type": "source", "data": source})
    yield chunk({}, "stop", citations=[c.model_dump(mode="json") for c in answer.citations],
                conflicts=[c.model_dump(mode="json") for c in answer.conflicts],
                sources=sources)
    if include_usage:  # the official usage chunk: no choices
        yield chunk(None, usage=_usage(request, answer).model_dump())
    yield {"data": "[DONE]"}
