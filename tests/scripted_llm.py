"""An OpenAI-compatible chat server for tests: real HTTP on 127.0.0.1, scripted replies.

It speaks the wire protocol the `openai` client expects (`POST /v1/chat/completions`, a JSON
`chat.completion`, or with `stream: true` server-sent `chat.completion.chunk` events ending
in `data: [DONE]`), records every request body, and answers from a queue each test fills:
answer texts, delays beyond the client's timeout, HTTP errors, malformed bodies, and streams
that stall or break part-way.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

STARTUP_SECONDS = 10.0
# Pauses are bounded so a test's server never keeps a connection open for long after it.
MAX_PAUSE = 10.0


@dataclass(frozen=True)
class Reply:
    """One scripted response.

    `text` is the answer; `status` other than 200 sends an OpenAI-style error body; `delay`
    waits before any byte is sent; `body` replaces the response with these raw bytes (for
    malformed JSON); `stall_after` (streams) sends that many chunks and then waits `delay`;
    `garbage_after` (streams) sends that many chunks and then a chunk that is not JSON.
    """

    text: str = ""
    status: int = 200
    delay: float = 0.0
    body: str | None = None
    stall_after: int | None = None
    garbage_after: int | None = None
    retry_after: str | None = None


class ScriptedLLM:
    """The server, run by uvicorn in a thread; `url` is the base URL to configure."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self._replies: deque[Reply] = deque()
        self._lock = threading.Lock()
        app = Starlette(routes=[Route("/v1/chat/completions", self._complete,
                                     methods=["POST"])])
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        port = self._socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}/v1"
        # Quiet: at shutdown uvicorn logs, as an error, the cancelled pause of a reply whose
        # client timed out long ago; the tests judge the server by what the client receives.
        self._server = uvicorn.Server(uvicorn.Config(
            app, log_level="critical", timeout_graceful_shutdown=1, lifespan="off"))
        self._thread = threading.Thread(target=self._server.run,
                                        kwargs={"sockets": [self._socket]}, daemon=True)

    def start(self) -> ScriptedLLM:
        self._thread.start()
        deadline = time.monotonic() + STARTUP_SECONDS
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the scripted LLM server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=STARTUP_SECONDS)
        self._socket.close()

    def script(self, *replies: Reply | str) -> None:
        """Queue replies, answered in order (a plain string is a 200 answer with that text)."""
        with self._lock:
            self._replies.extend(r if isinstance(r, Reply) else Reply(text=r) for r in replies)

    def reset(self) -> None:
        with self._lock:
            self._replies.clear()
            self.requests.clear()

    def _next(self, body: dict) -> Reply:
        with self._lock:
            self.requests.append(body)
            if self._replies:
                return self._replies.popleft()
        return Reply(status=500, text="no scripted reply left")

    async def _complete(self, request: Request) -> Response:
        body = await request.json()
        reply = self._next(body)
        if reply.delay and reply.stall_after is None:
            await asyncio.sleep(min(reply.delay, MAX_PAUSE))
        if reply.status != 200:
            headers = {"retry-after": reply.retry_after} if reply.retry_after else None
            return JSONResponse({"error": {"message": reply.text, "type": "server_error",
                                           "code": None}}, reply.status, headers=headers)
        if reply.body is not None:
            return Response(reply.body, media_type="application/json")
        model = body.get("model", "scripted")
        if body.get("stream"):
            return StreamingResponse(_chunks(reply, model), media_type="text/event-stream")
        return JSONResponse({
            "id": "chatcmpl-scripted", "object": "chat.completion", "created": int(time.time()),
            "model": model,
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": reply.text}}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        })


async def _chunks(reply: Reply, model: str) -> AsyncIterator[str]:
    """The reply as `chat.completion.chunk` events, a few characters each, then [DONE]."""
    def chunk(delta: dict, finish: str | None = None) -> str:
        return "data: " + json.dumps({
            "id": "chatcmpl-scripted", "object": "chat.completion.chunk",
            "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }) + "\n\n"

    yield chunk({"role": "assistant", "content": ""})
    pieces = [reply.text[i : i + 7] for i in range(0, len(reply.text), 7)]
    for sent, piece in enumerate(pieces):
        if sent == reply.stall_after:
            await asyncio.sleep(min(reply.delay, MAX_PAUSE))
        if sent == reply.garbage_after:
            yield "data: {not json\n\n"
            return
        yield chunk({"content": piece})
        await asyncio.sleep(0)
    yield chunk({}, "stop")
    yield "data: [DONE]\n\n"
