"""A Chroma server collection's get by ids sent at once and its answer read when wanted, over
connections kept open (the standard library's `http.client`), so that one thread can have
several servers answer at the same time (docs/operations.md, "Partitions").
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Callable, Mapping
from typing import Any, Literal, TypeVar
from urllib.parse import quote, urlsplit

import chromadb
import orjson
from chromadb.api.fastapi import FastAPI

from rag.errors import NewsragError

# Bounds, not expectations: how long a request may wait on the server.
TIMEOUT_SECONDS = 60.0
# What a request that could not be sent or answered raises.
FAILURES = (OSError, http.client.HTTPException, ValueError, KeyError, TypeError)
T = TypeVar("T")


class ReadFailed(NewsragError, RuntimeError):
    """The server did not answer a get (an error status, or a body that is not Chroma's
    answer)."""

    code = "store_read_failed"
    status = 503


def collection_gets(client: chromadb.ClientAPI,
                    collection: chromadb.Collection) -> PendingGets | None:
    """The collection's gets over its Chroma server's HTTP API, at the address and with the
    headers Chroma's own client uses; None for an embedded client, or one that authenticates
    its requests itself."""
    chroma = client.get_settings()
    if (chroma.chroma_api_impl != "chromadb.api.fastapi.FastAPI"
            or chroma.chroma_client_auth_provider):
        return None
    api = FastAPI.resolve_url(
        chroma_server_host=str(chroma.chroma_server_host),
        chroma_server_ssl_enabled=chroma.chroma_server_ssl_enabled,
        default_api_path=chroma.chroma_server_api_default_path,
        chroma_server_http_port=chroma.chroma_server_http_port)
    path = quote(f"/tenants/{client.tenant}/databases/{client.database}"
                 f"/collections/{collection.id}/get")
    return PendingGets(api + path, chroma.chroma_server_headers or {})


class LaterGets:
    """One collection's gets answered later: on a Chroma server over `PendingGets`, made on
    first use and anew after a failed request (the collection may have moved: `rag migrate`);
    elsewhere, for more than `limit` ids, or when a request fails, the caller's own read."""

    def __init__(self, client: chromadb.ClientAPI,
                 collection: Callable[[], chromadb.Collection], limit: int) -> None:
        """`collection`: the collection asked, as it stands when the gets are made."""
        self._client, self._collection, self._limit = client, collection, limit
        self._gets: PendingGets | Literal[False] | None = None  # False: not a server's

    def later(self, ids: list[str], include: list[str], parse: Callable[[dict[str, Any]], T],
              read: Callable[[], T]) -> Callable[[], T]:
        """A function giving `parse` of the answer to the get of `ids` (the fields `include`
        names), the request sent now; `read()` where no server is asked, and in place of a
        request that cannot be sent or answered (raising what `read` raises)."""
        if self._gets is None:
            self._gets = collection_gets(self._client, self._collection()) or False
        if not self._gets or len(ids) > self._limit:
            value = read()
            return lambda: value
        try:
            pending = self._gets.send(ids, include)
        except FAILURES:
            self._gets = None
            return read

        def answer() -> T:
            try:
                return parse(pending())
            except (*FAILURES, ReadFailed):
                self._gets = None
                return read()

        return answer


class PendingGets:
    """Gets by ids of one collection of a Chroma server (its HTTP API's `get`), asked on
    connections of its own; safe across threads (each request takes a connection no other
    holds)."""

    def __init__(self, url: str, headers: Mapping[str, str],
                 timeout: float = TIMEOUT_SECONDS) -> None:
        """`url`: the collection's get endpoint (http:// or https://); `headers`: those
        Chroma's own client sends (its content type, any configured headers)."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url}")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._path = parts.path
        self._headers = {**headers, "Content-Type": "application/json"}
        self._timeout = timeout
        self._idle: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()

    def send(self, ids: list[str], include: list[str]) -> Callable[[], dict[str, Any]]:
        """Send the get of these ids (with the fields `include` names, as Chroma's `get`)
        now; the returned function waits for the answer and gives it as Chroma sends it
        (`ids`, and a list a field included; the same answer when called again). Raises one
        of `FAILURES` when the request cannot be sent; the returned function raises one of
        them, or `ReadFailed`, when it is not answered."""
        body = orjson.dumps({"ids": ids, "include": include})
        connection = self._take()
        try:
            connection.request("POST", self._path, body, self._headers)
        except FAILURES:
            # A kept connection the server has closed since: once more on a new one.
            connection.close()
            connection = self._connect()
            try:
                connection.request("POST", self._path, body, self._headers)
            except FAILURES:
                connection.close()
                raise
        got: dict[str, Any] | None = None

        def answer() -> dict[str, Any]:
            nonlocal got
            if got is not None:  # read already
                return got
            try:
                response = connection.getresponse()
                data = response.read()
                if response.status != 200:
                    raise ReadFailed(f"Chroma answered {response.status}: {data[:200]!r}")
                parsed = orjson.loads(data)
                if not isinstance(parsed, dict) or not isinstance(parsed.get("ids"), list):
                    raise ReadFailed(f"not an answer to a get: {data[:200]!r}")
            except BaseException:
                connection.close()
                raise
            self._give_back(connection)
            got = parsed
            return parsed

        return answer

    def close(self) -> None:
        """Close the idle connections."""
        with self._lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()

    def _take(self) -> http.client.HTTPConnection:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return self._connect()

    def _give_back(self, connection: http.client.HTTPConnection) -> None:
        with self._lock:
            self._idle.append(connection)

    def _connect(self) -> http.client.HTTPConnection:
        kind = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
        return kind(self._host, self._port, timeout=self._timeout)
