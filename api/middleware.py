"""What every HTTP exchange gets, whatever the route: security headers and a request size limit.

A plain ASGI middleware rather than Starlette's `BaseHTTPMiddleware`, so streamed answers pass
through untouched. The body limit is checked twice: against `Content-Length` before the app
runs (the usual case: a 413 without reading a byte), and while the body is read, for bodies
sent without a length (chunked), where the route then fails with the same 413.
"""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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


class GuardMiddleware:
    """Security headers on every response; request bodies larger than `max_body_bytes`: 413."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

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
            await _send_too_large(send_with_headers, self.max_body_bytes)
            return

        received = 0

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise BodyTooLarge(self.max_body_bytes)
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


async def _send_too_large(send: Send, limit: int) -> None:
    body = json.dumps({"error": {"code": "payload_too_large",
                                 "message": too_large_message(limit)}}).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
