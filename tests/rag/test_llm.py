"""The chat model client: the real `openai` client against a scripted OpenAI-compatible server
on 127.0.0.1, plain and streamed, and every failure turned into the engine's own error."""

from __future__ import annotations

import socket
import time

import pytest

from rag.config import Settings
from rag.llm import ChatModel, LLMBadOutput, LLMError, LLMFailed, LLMTimeout, LLMUnavailable
from scripted_llm import MAX_PAUSE, Reply, ScriptedLLM

# A scripted pause far beyond the client timeout: a call that returns well before the pause
# ends was ended by the timeout, however loaded the machine (no tight timing assert).
STALL = MAX_PAUSE
TIMEOUT = 0.5
MESSAGES = [{"role": "system", "content": "rules"}, {"role": "user", "content": "question"}]


def model_for(url: str, **overrides: object) -> ChatModel:
    settings = {"llm_base_url": url, "llm_model": "scripted-model", "llm_timeout": TIMEOUT,
                "llm_retries": 0, "_env_file": None, **overrides}
    return ChatModel(Settings(**settings))


@pytest.fixture
def model(llm_server: ScriptedLLM) -> ChatModel:
    return model_for(llm_server.url)


def test_settings_say_when_an_llm_is_configured() -> None:
    assert not Settings(_env_file=None).llm_configured
    assert Settings(_env_file=None, llm_base_url="http://127.0.0.1:9/v1").llm_configured
    assert Settings(_env_file=None, OPENAI_API_KEY="sk-test").llm_configured
    defaults = Settings(_env_file=None)
    assert (defaults.llm_timeout, defaults.llm_retries, defaults.llm_fallback) == (30.0, 2, True)


def test_complete_returns_the_reply_and_sends_model_and_messages(
        llm_server: ScriptedLLM, model: ChatModel) -> None:
    llm_server.script("Lava poured down Mount Ostrova [1].")
    assert model.complete(MESSAGES) == "Lava poured down Mount Ostrova [1]."
    request = llm_server.requests[-1]
    assert request["model"] == "scripted-model"
    assert request["messages"] == MESSAGES
    assert not request.get("stream")


def test_stream_yields_the_reply_in_pieces(llm_server: ScriptedLLM, model: ChatModel) -> None:
    text = "Lava poured down Mount Ostrova [1]. Flights were cancelled [1]."
    llm_server.script(text)
    deltas = list(model.stream(MESSAGES))
    assert len(deltas) > 3 and "".join(deltas) == text
    assert llm_server.requests[-1]["stream"] is True


def test_a_slow_model_times_out_within_the_bound(llm_server: ScriptedLLM,
                                                 model: ChatModel) -> None:
    llm_server.script(Reply(text="late", delay=STALL))
    began = time.monotonic()
    with pytest.raises(LLMTimeout, match="did not answer in time"):
        model.complete(MESSAGES)
    assert time.monotonic() - began < STALL - 2.0  # our timeout ended it


@pytest.mark.parametrize(("reply", "error", "words"), [
    (Reply(status=429, text="rate limited", retry_after="7"), LLMUnavailable, "busy (429)"),
    (Reply(status=503, text="overloaded"), LLMUnavailable, "busy (503)"),
    (Reply(status=500, text="the GPU caught fire"), LLMFailed, "500: the GPU caught fire"),
    (Reply(status=401, text="invalid key"), LLMFailed, "401: invalid key"),
    (Reply(body='{"choices": [{"message": '), LLMBadOutput, "malformed"),
    (Reply(body='{"object": "chat.completion", "choices": []}'), LLMBadOutput, "no answer"),
    (Reply(text=""), LLMBadOutput, "no answer"),
], ids=["429", "503", "500", "401", "malformed json", "no choices", "empty answer"])
def test_failures_become_engine_errors(llm_server: ScriptedLLM, model: ChatModel, reply: Reply,
                                       error: type[LLMError], words: str) -> None:
    llm_server.script(reply)
    with pytest.raises(error, match=words.replace("(", r"\(").replace(")", r"\)")) as raised:
        model.complete(MESSAGES)
    assert raised.value.retry_after == reply.retry_after


def test_error_codes_name_the_failure() -> None:
    assert [e.code for e in (LLMTimeout, LLMUnavailable, LLMFailed, LLMBadOutput)] == [
        "llm_timeout", "llm_unavailable", "llm_error", "llm_bad_output"]


@pytest.mark.parametrize(("reply", "error"), [
    (Reply(status=500, text="boom"), LLMFailed),
    (Reply(text="late", delay=STALL), LLMTimeout),
], ids=["500", "timeout"])
def test_a_stream_that_cannot_start_raises_before_any_delta(
        llm_server: ScriptedLLM, model: ChatModel, reply: Reply, error: type[LLMError]) -> None:
    llm_server.script(reply)
    with pytest.raises(error):
        model.stream(MESSAGES)  # raises here, not on the first read


@pytest.mark.parametrize(("reply", "error"), [
    (Reply(text="Lava poured down Mount Ostrova [1].", stall_after=2, delay=STALL), LLMTimeout),
    (Reply(text="Lava poured down Mount Ostrova [1].", garbage_after=2), LLMBadOutput),
], ids=["stalls", "garbage chunk"])
def test_a_stream_that_breaks_raises_from_the_iterator(
        llm_server: ScriptedLLM, model: ChatModel, reply: Reply, error: type[LLMError]) -> None:
    llm_server.script(reply)
    received = []
    began = time.monotonic()
    with pytest.raises(error):
        for delta in model.stream(MESSAGES):
            received.append(delta)
    assert "".join(received) == reply.text[:14]
    assert time.monotonic() - began < STALL - 2.0  # our timeout ended it


@pytest.mark.parametrize("reply", [Reply(body='{"choices": [{"message": '), Reply(text="")],
                         ids=["not a stream", "no text"])
def test_a_stream_without_text_is_bad_output(llm_server: ScriptedLLM, model: ChatModel,
                                             reply: Reply) -> None:
    llm_server.script(reply)
    deltas = model.stream(MESSAGES)
    with pytest.raises(LLMBadOutput):
        list(deltas)


def test_an_unreachable_server_is_unavailable() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(LLMUnavailable, match="cannot reach"):
        model_for(f"http://127.0.0.1:{port}/v1").complete(MESSAGES)


def test_retries_recover_from_a_passing_failure(llm_server: ScriptedLLM) -> None:
    llm_server.script(Reply(status=500, text="blip", retry_after="0"), "Recovered [1].")
    model = model_for(llm_server.url, llm_retries=1)
    assert model.complete(MESSAGES) == "Recovered [1]."
    assert len(llm_server.requests) == 2
