"""What every HTTP exchange gets, whatever the route: security headers and a request size limit.

A plain ASGI middleware rather than Starlette's `BaseHTTPMiddleware`, so streamed answers pass
through untouched. The body limit is checked twice: against `Content-Length` before the app
runs (the usual case: a 413 without reading a byte), and while the body is read, for bodies
sent without a length (chunked), where the route then fails with the same 413.

The body also has a deadline: once a route starts reading it, all of it must arrive within
`body_timeout` seconds (RAG_BODY_TIMEOUT_SECONDS), else a 408 and the connection is closed.
uvicorn would wait forever for a client that declares a length and then stalls or trickles
(slowloris); the headers' own deadline is in api/protocol.py.
"""

from __future__ import annotations

import asyncio

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.envelope import send_json_error

# Added to every response unless the route set them already (the page sets its own CSP).
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}


def too_large_message(limit: int) -> str:
    return f"the request body is larger than {limit} bytes (RAG_MAX_BODY_BYTES)"


class BodyTooLarge(HTTPException):
    """Raised from `receive` once a body without a declared length passes the limit."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, too_large_message(limit))


class BodyTimeout(HTTPException):
    """Raised from `receive` when the body is not all in `seconds` after the route began it."""

    def __init__(self, seconds: float) -> None:
        super().__init__(408, f"the request body did not arrive within {seconds:g} s "
                              "(RAG_BODY_TIMEOUT_SECONDS)", headers={"connection": "close"})


class GuardMiddleware:
    """Security headers on every response; request bodies larger than `max_body_bytes`: 413;
    bodies not all received `body_timeout` seconds after the route began reading them: 408."""

    def __init__(self, app: ASGIApp, max_body_bytes: int, body_timeout: float = 60.0) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.body_timeout = body_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(name.encode(), value.encode())
                            for name, value in SECURITY_HEADERS.items()
                            if name.encode() not in present]
                message = {**message, "headers": headers}
            await send(message)

        declared = _content_length(scope)
        if declared is not None and declared > self.max_body_bytes:
            await send_json_error(send_with_headers, 413, "payload_too_large",
                                  too_large_message(self.max_body_bytes),
                                  headers={"connection": "close"})
            return

        received = 0
        deadline: float | None = None  # set when the route first asks for the body
        body_done = False

        async def counted_receive() -> Message:
            nonlocal received, deadline, body_done
            if body_done:  # e.g. a streamed answer listening for the client to disconnect
                return await receive()
            loop = asyncio.get_running_loop()
            if deadline is None:
                deadline = loop.time() + self.body_timeout
            try:
                message = await asyncio.wait_for(receive(), max(deadline - loop.time(), 0))
            except TimeoutError:
                raise BodyTimeout(self.body_timeout) from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise BodyTooLarge(self.max_body_bytes)
                body_done = not message.get("more_body", False)
            else:
                body_done = True
            return message

        await self.app(scope, counted_receive, send_with_headers)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None

