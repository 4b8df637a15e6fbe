"""The configured OpenAI-compatible chat model (OpenAI, vLLM, Ollama, llama.cpp ...), plain or
streamed, with its failures turned into the engine's own errors.

The `openai` client does the wire protocol, the timeout and the retries (429, 5xx and lost
connections, with backoff); this module only decides what each failure means to a caller, so
the API can answer 503 for an overloaded model and 504 for a slow one without knowing `openai`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING

from rag.config import Settings
from rag.errors import NewsragError

if TYPE_CHECKING:
    import openai

# A local server (vLLM, Ollama, llama.cpp) needs no key, but the client insists on one.
NO_KEY = "not-needed"


def _failures() -> tuple[type[Exception], ...]:
    """What a call can fail with: the client's own errors, and a body that is not JSON (which
    the client lets through undecorated). `openai` is imported only once a model is configured:
    it is slow to import (docs/benchmarks.md, "Cold start")."""
    import openai

    return (openai.OpenAIError, json.JSONDecodeError)


class LLMError(NewsragError, RuntimeError):
    """The LLM could not give an answer; `code` names the failure for clients."""

    code = "llm_error"
    status = 502


class LLMTimeout(LLMError):
    """The model did not answer within `Settings.llm_timeout` (after the retries)."""

    code = "llm_timeout"
    status = 504


class LLMUnavailable(LLMError):
    """The model cannot take the request now: rate-limited, overloaded, or unreachable."""

    code = "llm_unavailable"
    status = 503


class LLMFailed(LLMError):
    """The model's server answered with an error (a 5xx, or a refused request or key)."""

    code = "llm_error"


class LLMBadOutput(LLMError):
    """The model's server answered, but not with a usable chat completion."""

    code = "llm_bad_output"


class ChatModel:
    """One chat model behind an OpenAI-compatible endpoint."""

    def __init__(self, settings: Settings) -> None:
        import openai

        key = settings.openai_api_key
        self.model = settings.llm_model
        self.where = settings.llm_base_url or "the OpenAI API"
        self._client = openai.OpenAI(
            base_url=settings.llm_base_url, api_key=key.get_secret_value() if key else NO_KEY,
            timeout=settings.llm_timeout, max_retries=settings.llm_retries,
        )

    def complete(self, messages: list[dict[str, str]]) -> str:
        """The model's reply to the messages. Raises an `LLMError` subclass on any failure."""
        try:
            completion = self._client.chat.completions.create(model=self.model,
                                                              messages=messages)
        except _failures() as error:
            raise self._translate(error) from error
        choices = getattr(completion, "choices", None)
        content = choices[0].message.content if choices else None
        if not isinstance(content, str) or not content.strip():
            raise LLMBadOutput(f"the model at {self.where} returned no answer text")
        return content

    def stream(self, messages: list[dict[str, str]]) -> Iterator[str]:
        """The reply as text deltas. The request is sent, and the response's status read,
        before this returns: a model that refuses, cannot be reached or does not respond in
        time raises here, while the caller can still answer with an HTTP error. The first
        token is not awaited (a local model may take seconds to read a long prompt, and the
        caller can show the sources meanwhile), so a stream that then stalls, breaks or holds
        no text raises from the iterator. Both raise `LLMError` subclasses."""
        try:
            chunks = self._client.chat.completions.create(model=self.model, messages=messages,
                                                          stream=True)
        except _failures() as error:
            raise self._translate(error) from error
        return self._deltas(chunks)

    def _deltas(self, chunks: openai.Stream) -> Iterator[str]:
        produced = False
        try:
            for chunk in chunks:
                choices = getattr(chunk, "choices", None)
                delta = choices[0].delta.content if choices else None
                if delta:
                    produced = True
                    yield delta
        except _failures() as error:
            raise self._translate(error) from error
        finally:
            chunks.close()
        if not produced:
            raise LLMBadOutput(f"the model at {self.where} streamed no answer text")

    def _translate(self, error: Exception) -> LLMError:
        """The engine's error for an `openai` failure or an undecodable response."""
        import openai

        where = self.where
        if isinstance(error, openai.APITimeoutError):
            return LLMTimeout(f"the model at {where} did not answer in time")
        if isinstance(error, openai.APIConnectionError):
            return LLMUnavailable(f"cannot reach the model at {where}")
        if isinstance(error, openai.APIStatusError):
            status = error.status_code
            retry_after = error.response.headers.get("retry-after")
            if status in (429, 503):
                return LLMUnavailable(f"the model at {where} is busy ({status}); try again later",
                                      retry_after=retry_after)
            return LLMFailed(f"the model at {where} answered {status}: {_detail(error)}")
        if isinstance(error, (openai.APIResponseValidationError, json.JSONDecodeError)):
            return LLMBadOutput(f"the model at {where} sent a malformed response")
        # An error object inside a stream, or another failure of the client itself.
        return LLMFailed(f"the model at {where} failed: {_short(str(error))}")


def _detail(error: openai.APIStatusError) -> str:
    """The server's own error message (OpenAI-style bodies carry one), kept short."""
    body = error.body
    message = body.get("message") if isinstance(body, dict) else None
    return _short(message if isinstance(message, str) and message else error.message)


def _short(message: str, limit: int = 200) -> str:
    return message if len(message) <= limit else message[: limit - 1] + "…"
