"""Downloads for `rag watch`: one URL's bytes with httpx, bounded in size, time and redirects,
conditional on the validators of the last download, and never from a non-public address
unless the settings allow it (docs/operations.md, "Feed subscriptions")."""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from rag.config import Settings
from rag.errors import NewsragError

USER_AGENT = "newsrag-watch/0.1"
REDIRECTS = (301, 302, 303, 307, 308)
ACCEPT_FEED = ("application/rss+xml, application/atom+xml, application/feed+json, "
               "application/xml;q=0.9, application/json;q=0.9, text/xml;q=0.9, */*;q=0.5")
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
ACCEPT_PAGE = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"


class FetchError(NewsragError, RuntimeError):
    """A download that failed or was refused; the message says why."""

    code = "fetch_failed"
    status = 502


@dataclass(frozen=True)
class Fetched:
    url: str  # where the body came from, after redirects
    status: int  # 200, or 304 when the validators sent still hold
    body: bytes
    content_type: str | None
    etag: str | None
    last_modified: str | None


class Fetcher:
    """Downloads with the limits of the settings (`RAG_FEED_*`)."""

    def __init__(self, settings: Settings, client: httpx.Client | None = None) -> None:
        self.max_bytes = settings.feed_max_bytes
        self.seconds = settings.feed_timeout_seconds
        self.max_redirects = settings.feed_max_redirects
        self.allow_private = settings.feeds_allow_private
        self._client = client or httpx.Client(
            timeout=settings.feed_timeout_seconds, follow_redirects=False,
            headers={"User-Agent": USER_AGENT}, trust_env=False,
            # A connection a time: the deadline shuts down the sockets it saw opened.
            limits=httpx.Limits(max_keepalive_connections=0))

    def close(self) -> None:
        self._client.close()

    def get(self, url: str, etag: str | None = None, last_modified: str | None = None,
            accept: str = ACCEPT_FEED) -> Fetched:
        """`url`'s body, following at most `max_redirects` redirects (each hop checked);
        raises `FetchError`."""
        deadline = time.monotonic() + self.seconds
        headers = {"Accept": accept}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        with _Deadline(self.seconds) as watchdog:
            for _ in range(self.max_redirects + 1):
                self.check_address(url)
                try:
                    with self._client.stream("GET", url, headers=headers,
                                             extensions={"trace": watchdog.trace}) as response:
                        self._check_peer(response, url)
                        if response.status_code in REDIRECTS and "location" in response.headers:
                            url = urljoin(url, response.headers["location"])
                            continue
                        if response.status_code == 304:
                            return Fetched(url, 304, b"", None, etag, last_modified)
                        if response.status_code != 200:
                            raise FetchError(f"HTTP {response.status_code} from {url}")
                        body = self._read(response, deadline)
                        return Fetched(url, 200, body, response.headers.get("content-type"),
                                       response.headers.get("etag"),
                                       response.headers.get("last-modified"))
                except httpx.HTTPError as error:
                    if watchdog.expired:
                        raise self._too_slow(url) from error
                    message = " ".join(str(error).split()) or type(error).__name__
                    raise FetchError(f"{url}: {message}") from error
        raise FetchError(f"more than {self.max_redirects} redirects from {url}")

    def _too_slow(self, url: object) -> FetchError:
        return FetchError(f"{url} took more than {self.seconds:g} s (RAG_FEED_TIMEOUT_SECONDS)")

    def _read(self, response: httpx.Response, deadline: float) -> bytes:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise FetchError(f"{response.url} is larger than {self.max_bytes} bytes "
                             "(RAG_FEED_MAX_BYTES)")
        body = bytearray()
        for piece in response.iter_bytes():
            body += piece
            if len(body) > self.max_bytes:
                raise FetchError(f"{response.url} is larger than {self.max_bytes} bytes "
                                 "(RAG_FEED_MAX_BYTES)")
            if time.monotonic() > deadline:
                raise self._too_slow(response.url)
        return bytes(body)

    def check_address(self, url: str) -> None:
        """Refuse a URL that is not http(s), or whose host resolves to a non-public address
        (private, loopback, link-local, ...) unless `RAG_FEEDS_ALLOW_PRIVATE` is set."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FetchError(f"not an http(s) URL: {url[:200]}")
        if self.allow_private:
            return
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
            found = self.resolve(parts.hostname, port)
        except (OSError, ValueError) as error:
            raise FetchError(f"cannot resolve {parts.hostname}: {error}") from error
        for address in found:
            self._refuse_private(address, url, f"{parts.hostname} resolves to")

    def resolve(self, host: str, port: int) -> list[str]:
        """The addresses `host` resolves to."""
        found = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
        return [str(address[0]) for *_, address in found]

    def _check_peer(self, response: httpx.Response, url: str) -> None:
        """Refuse a response from a non-public address: the name may resolve again otherwise
        when connecting than when checked (DNS rebinding), or be read otherwise by httpx."""
        if self.allow_private:
            return
        stream = response.extensions.get("network_stream")
        peer = stream.get_extra_info("server_addr") if stream is not None else None
        if not peer:
            raise FetchError(f"refused {url[:200]}: the address it came from is unknown")
        self._refuse_private(str(peer[0]), url, f"{urlsplit(url).hostname} answered from")

    @staticmethod
    def _refuse_private(address: str, url: str, found: str) -> None:
        ip = ipaddress.ip_address(address.split("%")[0])
        if isinstance(ip, ipaddress.IPv6Address):
            # An IPv4 address carried in IPv6 (mapped, 6to4, NAT64's well-known prefix) is
            # judged as that address: 64:ff9b::a00:1 reaches 10.0.0.1 through a NAT64 gateway.
            embedded = ip.ipv4_mapped or ip.sixtofour or (
                ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF) if ip in NAT64 else None)
            ip = embedded or ip
        if not ip.is_global or ip.is_multicast:
            raise FetchError(f"refused {url[:200]}: {found} {ip}, not "
                             "a public address (RAG_FEEDS_ALLOW_PRIVATE=true allows it)")


class _Deadline:
    """Shuts down the connections of one download once its time is up: httpx's timeouts
    bound each read, not a response whose headers or body trickle in a byte at a time."""

    def __init__(self, seconds: float) -> None:
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> _Deadline:
        self._timer.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._timer.cancel()

    def trace(self, event: str, info: dict[str, Any]) -> None:
        """httpcore's trace hook: note each connection's socket as it is opened."""
        if event not in ("connection.connect_tcp.complete", "connection.start_tls.complete"):
            return
        sock = info["return_value"].get_extra_info("socket")
        if sock is None:
            return
        with self._lock:
            self._sockets.append(sock)
            if self.expired:
                _shut(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                _shut(sock)


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
