"""The HTTP protocol `rag serve` runs: uvicorn's httptools protocol, with a deadline for each
request's headers (408) and a bound on their size and number (431), so a slow or endless head
cannot hold a connection or fill memory (docs/operations.md, "Request heads" and "Slow clients").
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from http import HTTPStatus

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from api.settings import ServerSettings

log = logging.getLogger("newsrag.protocol")
# Bytes handed to the parser at a time inside a body (see the module docstring).
BODY_PIECE = 8192
# How long a refused connection's further bytes are read and dropped before it is closed.
LINGER_SECONDS = 1.0


def error_response(status: HTTPStatus, code: str, message: str) -> bytes:
    """A whole response in the error shape of api/envelope.py, closing the connection (there
    is no request id: no request reached the app)."""
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    head = (f"HTTP/1.1 {status.value} {status.phrase}\r\ncontent-type: application/json\r\n"
            "x-content-type-options: nosniff\r\n"
            f"content-length: {len(body)}\r\nconnection: close\r\n\r\n")
    return head.encode("latin-1") + body


class GuardedHTTPProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the headers' deadline and limits.

    Class attributes None: the value from the environment's settings, as a worker of
    `rag serve --workers N` reads them (each imports this class by name)."""

    header_timeout: float | None = None
    max_header_bytes: int | None = None
    max_headers: int | None = None
    _header_timer: asyncio.TimerHandle | None = None
    _partial = False  # bytes of a request came since the deadline was set
    _in_head = True  # the next bytes are a request line and headers
    _progressed = False  # the parser got past a head, body bytes or a message's end
    _unframed = 0  # bytes since it last did: head, framing or trailers
    _fields = 0  # header fields of the request being read
    _refused = False

    # --- the headers' deadline ---------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_deadline()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm_header_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None
        super().connection_lost(exc)

    def _arm_header_deadline(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
        self._partial = False
        seconds = _setting(self.header_timeout, "header_timeout_seconds")
        self._header_timer = self.loop.call_later(seconds, self._header_deadline_passed)

    def _header_deadline_passed(self) -> None:
        self._header_timer = None
        if self._in_request() or self.transport.is_closing():
            return
        if self._partial:
            seconds = _setting(self.header_timeout, "header_timeout_seconds")
            self.transport.write(error_response(
                HTTPStatus.REQUEST_TIMEOUT, "request_timeout",
                f"the request headers did not arrive within {seconds:g} s "
                "(RAG_HEADER_TIMEOUT_SECONDS)"))
        self.transport.close()

    def _in_request(self) -> bool:
        """A request's headers are in and it is not yet answered: it is not ours to end."""
        return self.cycle is not None and not self.cycle.response_complete

    # --- the headers' size and number --------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        self._partial = True
        limit = int(_setting(self.max_header_bytes, "max_header_bytes"))
        too_large = f"the request's headers are larger than {limit} bytes (RAG_MAX_HEADER_BYTES)"
        while data and not self._refused:
            if self._in_head and self._unframed >= limit:  # and a byte more has come
                self._refuse(too_large)
                break
            size = limit - self._unframed if self._in_head else BODY_PIECE
            piece, data = data[:size], data[size:]
            self._progressed = False
            super().data_received(piece)
            if self.transport.is_closing():  # uvicorn refused it (a 400), or it went away
                return
            self._unframed = 0 if self._progressed else self._unframed + len(piece)
            if not self._in_head and self._unframed > limit:  # a chunked body's framing
                self._refuse(too_large)
            elif self._too_many_fields():
                self._refuse(f"the request has more than {self._max_fields()} header fields "
                             "(RAG_MAX_HEADERS)")

    def _max_fields(self) -> int:
        return int(_setting(self.max_headers, "max_headers"))

    def on_message_begin(self) -> None:
        self._fields = 0
        super().on_message_begin()

    def on_header(self, name: bytes, value: bytes) -> None:
        self._fields += 1
        if not self._too_many_fields():  # past the limit, kept nowhere: refused anyway
            super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head, self._progressed = False, True
        if not self._too_many_fields():  # else no request starts: data_received refuses it
            super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        self._progressed = True
        if not self._too_many_fields():
            super().on_body(body)

    def on_message_complete(self) -> None:
        self._in_head, self._progressed = True, True
        if not self._too_many_fields():
            super().on_message_complete()

    def _too_many_fields(self) -> bool:
        return self._fields > self._max_fields()

    def _refuse(self, message: str) -> None:
        """431, then the connection ends; while an earlier request is being answered it is
        only closed (that response has begun or may begin, and must not be cut into).

        After the 431 our side of the connection is shut and what the client still sends is
        read and dropped for `LINGER_SECONDS`: closing with its bytes unread would reset the
        connection, and a reset can destroy the 431 before the client reads it."""
        self._refused = True
        log.warning("request refused: %s", message, extra={
            "client_ip": self.client[0] if self.client else None})
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None
        if self._in_request() or not self.transport.can_write_eof():
            self.transport.close()
            return
        self.transport.write(error_response(
            HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "request_header_fields_too_large",
            message))
        self.transport.write_eof()
        self.loop.call_later(LINGER_SECONDS, self.transport.close)


@functools.cache
def _environment() -> ServerSettings:
    return ServerSettings()


def _setting(value: float | int | None, name: str) -> float | int:
    return value if value is not None else getattr(_environment(), name)


def configured(settings: ServerSettings) -> type[asyncio.Protocol]:
    """The protocol class with these settings' deadline and limits, for
    `uvicorn.run(app, http=...)` in process."""
    return type("GuardedHTTPProtocol", (GuardedHTTPProtocol,), {
        "header_timeout": settings.header_timeout_seconds,
        "max_header_bytes": settings.max_header_bytes,
        "max_headers": settings.max_headers,
    })
