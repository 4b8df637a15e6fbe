"""What every HTTP exchange gets, whatever the route: security headers, a request size limit
(413), a deadline for the body (408), and no writes from another site's page (403). A plain ASGI
middleware, so streamed answers pass through untouched (docs/operations.md, "Limits", "Slow
clients" and "Security").
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.envelope import send_json_error

# Added to every response unless the route set them already (the page sets its own CSP).
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}
# Methods a page of any origin may send: they change nothing (RFC 9110 safe methods).
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


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


def foreign_origin(method: str, headers: Headers, allowed: Collection[str]) -> str | None:
    """Who sent a request another site's page may not make (its origin, or what its
    `Sec-Fetch-Site` says), or None when it may be served: rules in the module docstring.
    `allowed` holds the origins let through ("*": every one)."""
    if method in SAFE_METHODS:
        return None
    origin = headers.get("origin")
    if origin is not None and (origin in allowed or "*" in allowed):
        return None
    site = headers.get("sec-fetch-site")
    if site is not None:
        return None if site in ("same-origin", "none") else origin or site
    if origin is None or urlsplit(origin).netloc == headers.get("host"):
        return None
    return origin


class GuardMiddleware:
    """Security headers on every response; requests a page of another origin may not make:
    403; request bodies larger than `max_body_bytes`: 413; bodies not all received
    `body_timeout` seconds after the route began reading them: 408."""

    def __init__(self, app: ASGIApp, max_body_bytes: int, body_timeout: float = 60.0,
                 allowed_origins: Collection[str] = ()) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.body_timeout = body_timeout
        self.allowed_origins = frozenset(allowed_origins)

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

        sender = foreign_origin(scope["method"], Headers(scope=scope), self.allowed_origins)
        if sender is not None:
            await send_json_error(
                send_with_headers, 403, "cross_origin_forbidden",
                f"a {scope['method']} from a page of another origin ({sender}) is refused; "
                "list that origin in RAG_CORS_ORIGINS to allow it")
            return

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

