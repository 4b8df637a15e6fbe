"""Per request: bind a request id, echo it in `X-Request-ID`, count and time the exchange, and
write one access-log line.

The outermost of our middlewares, so requests refused before any route runs (413, 429) are
counted and logged too. Plain ASGI rather than Starlette's `BaseHTTPMiddleware`, so streamed
answers pass through untouched; a stream is timed to its last byte.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import request_id
from api.logs import ACCESS_LOGGER
from api.metrics import UNMATCHED, Metrics

access_log = logging.getLogger(ACCESS_LOGGER)
HEADER = request_id.HEADER.encode()


class TelemetryMiddleware:
    """Request ids, metrics and the access log for every HTTP request."""

    def __init__(self, app: ASGIApp, metrics: Metrics, routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self.metrics = metrics
        self.routes = routes  # every API route, to name requests refused before routing

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = request_id.accept_or_new(_header(scope, HEADER))
        request_id.bind(rid)
        status = 500  # what the client gets if the app raises before answering
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [(name, value) for name, value in message.get("headers", [])
                           if name.lower() != HEADER]
                message = {**message, "headers": [*headers, (HEADER, rid.encode())]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            self._record(scope, rid, status, time.perf_counter() - started)

    def _record(self, scope: Scope, rid: str, status: int, seconds: float) -> None:
        method, route = scope["method"], self._route(scope)
        self.metrics.observe_request(method, route, status, seconds)
        client = scope.get("client")
        duration_ms = round(seconds * 1000, 1)
        # Never the headers (Authorization), the query string or the body: only these fields.
        access_log.info("%s %s %d %.1f ms", method, route, status, duration_ms, extra={
            "request_id": rid, "method": method, "route": route, "path": scope["path"],
            "status": status, "duration_ms": duration_ms,
            "client_ip": client[0] if client else None,
        })

    def _route(self, scope: Scope) -> str:
        """The matched route's path template, so ids in paths never become label values."""
        route = scope.get("route")  # set by the router on the scope we passed down
        if route is None:  # refused before routing: find the route it was meant for
            route = next((r for r in self.routes if r.matches(scope)[0] is Match.FULL), None)
        return getattr(route, "path", None) or UNMATCHED


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return None
