"""The HTTP protocol `rag serve` runs: uvicorn's own, with a deadline for each request's headers.

uvicorn closes a keep-alive connection left idle (`timeout_keep_alive`), but once a byte has
arrived it waits for the rest of the headers forever, and it never times out a connection that
sends nothing at all: a client that opens many connections and sends its headers a byte at a
time (slowloris) holds every one of them. Here a request's headers must be complete within
`RAG_HEADER_TIMEOUT_SECONDS` of the connection opening or of the previous response ending;
otherwise the server answers 408 (when part of a request had come) and closes the connection.
A request whose headers are in is left alone: its body has a deadline of its own
(`RAG_BODY_TIMEOUT_SECONDS`, api/middleware.py), and a slow answer is not the client's fault.
"""

from __future__ import annotations

import asyncio
import functools
import json

from uvicorn.protocols.http.auto import AutoHTTPProtocol

from rag.config import Settings


def _timeout_response(seconds: float) -> bytes:
    # The error shape of api/envelope.py, without a request id: no request was read.
    body = json.dumps({"error": {
        "code": "request_timeout",
        "message": f"the request headers did not arrive within {seconds:g} s "
                   "(RAG_HEADER_TIMEOUT_SECONDS)",
    }}).encode()
    head = ("HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\nconnection: close\r\n\r\n")
    return head.encode("latin-1") + body


class HeaderTimeoutProtocol(AutoHTTPProtocol):  # type: ignore[misc, valid-type]
    """uvicorn's HTTP protocol class (httptools, else h11) with the headers' deadline.

    `header_timeout` None: RAG_HEADER_TIMEOUT_SECONDS from the environment, as a worker of
    `rag serve --workers N` reads its settings (each imports this class by name)."""

    header_timeout: float | None = None
    _header_timer: asyncio.TimerHandle | None = None
    _partial = False  # bytes of a request came since the deadline was set

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_deadline()

    def data_received(self, data: bytes) -> None:
        self._partial = True
        super().data_received(data)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm_header_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None
        super().connection_lost(exc)

    def _seconds(self) -> float:
        return self.header_timeout if self.header_timeout is not None else _from_environment()

    def _arm_header_deadline(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
        self._partial = False
        self._header_timer = self.loop.call_later(self._seconds(), self._header_deadline_passed)

    def _header_deadline_passed(self) -> None:
        self._header_timer = None
        # A cycle not yet answered: this request's headers are in, so it is not ours to end.
        in_request = self.cycle is not None and not self.cycle.response_complete
        if in_request or self.transport.is_closing():
            return
        if self._partial:
            self.transport.write(_timeout_response(self._seconds()))
        self.transport.close()


@functools.cache
def _from_environment() -> float:
    return Settings().header_timeout_seconds


def with_header_timeout(seconds: float) -> type[asyncio.Protocol]:
    """The protocol class with this deadline, for `uvicorn.run(app, http=...)` in process."""
    return type("HeaderTimeoutProtocol", (HeaderTimeoutProtocol,), {"header_timeout": seconds})
