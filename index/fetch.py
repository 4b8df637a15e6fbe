"""Downloads for `rag watch` and `rag index URL`: one URL's bytes with httpx, bounded in size,
time and redirects, conditional on the validators of the last download, polite (robots.txt, a
delay between requests to one host, a User-Agent naming the product), and never from a
non-public address unless the settings allow it (docs/operations.md, "Feed subscriptions")."""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
from protego import Protego

from rag.config import Settings
from rag.errors import NewsragError
from rag.version import __version__

# The product token robots.txt rules name (`User-agent: newsrag`).
ROBOTS_AGENT = "newsrag"
USER_AGENT = f"{ROBOTS_AGENT}/{__version__} (news reader; feeds, sitemaps and article pages)"
# robots.txt: how long a copy holds (RFC 9309 asks for at most a day), the most of it read
# (the RFC's least), and the longest Crawl-delay honoured.
ROBOTS_MAX_AGE = dt.timedelta(days=1)
ROBOTS_MAX_BYTES = 500 * 1024
MAX_CRAWL_DELAY = 60.0
REDIRECTS = (301, 302, 303, 307, 308)
ACCEPT_FEED = ("application/rss+xml, application/atom+xml, application/feed+json, "
               "application/xml;q=0.9, application/json;q=0.9, text/xml;q=0.9, */*;q=0.5")
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
ACCEPT_PAGE = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"


class FetchError(NewsragError, RuntimeError):
    """A download that failed or was refused; the message says why."""

    code = "fetch_failed"
    status = 502


class FetchRefused(FetchError):
    """Refused before or while connecting: not http(s), a non-public address, or robots.txt."""

    code = "url_refused"
    status = 422


class FetchTimeout(FetchError):
    """The download took longer than RAG_FEED_TIMEOUT_SECONDS."""

    code = "fetch_timeout"
    status = 504


@dataclass(frozen=True)
class RobotsCopy:
    """A host's robots.txt as last read: its text ("" when it has none) and when."""

    text: str
    fetched: dt.datetime

    def fresh(self) -> bool:
        return dt.datetime.now(dt.UTC) - self.fetched < ROBOTS_MAX_AGE


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
        self.allowed = [ipaddress.ip_network(n, strict=False)
                        for n in settings.feeds_allow_networks]
        self.host_delay = settings.fetch_host_delay_seconds
        self.obey_robots = settings.fetch_robots
        # robots.txt by origin (scheme://host:port): copies kept with feeds, and those read here.
        self.robots: dict[str, RobotsCopy] = {}
        self.read_robots: set[str] = set()
        self._parsed: dict[str, Protego] = {}
        self._last_request: dict[str, float] = {}
        self._client = client or httpx.Client(
            timeout=settings.feed_timeout_seconds, follow_redirects=False,
            headers={"User-Agent": USER_AGENT}, trust_env=False,
            # A connection a time: the deadline shuts down the sockets it saw opened.
            limits=httpx.Limits(max_keepalive_connections=0))

    def close(self) -> None:
        self._client.close()

    def get(self, url: str, etag: str | None = None, last_modified: str | None = None,
            accept: str = ACCEPT_FEED) -> Fetched:
        """`url`'s body, following at most `max_redirects` redirects (each hop checked against
        the address rule and robots.txt, each request after the host's politeness delay);
        raises `FetchRefused`, `FetchTimeout` or another `FetchError`."""
        seconds = self.seconds  # for the whole download, redirects included
        for _ in range(self.max_redirects + 1):
            self.check_address(url)
            self.check_robots(url)
            self._wait_for_host(url)
            began = time.monotonic()
            try:
                fetched = self._get_one(url, etag, last_modified, accept, seconds=seconds)
            finally:
                self._done_with_host(url)
            if fetched.status not in REDIRECTS:
                return fetched
            seconds -= time.monotonic() - began
            if seconds <= 0:
                raise self._too_slow(url)
            url = fetched.url
        raise FetchError(f"more than {self.max_redirects} redirects from {url}")

    def _get_one(self, url: str, etag: str | None, last_modified: str | None,
                 accept: str, max_bytes: int | None = None,
                 seconds: float | None = None) -> Fetched:
        """One request within `seconds`: its body, a 304, or a redirect (its status, and
        where it points as `url`)."""
        seconds = seconds or self.seconds
        deadline = time.monotonic() + seconds
        headers = {"Accept": accept}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        with _Deadline(seconds) as watchdog:
            try:
                with self._client.stream("GET", url, headers=headers,
                                         extensions={"trace": watchdog.trace}) as response:
                    self._check_peer(response, url)
                    if response.status_code in REDIRECTS and "location" in response.headers:
                        target = urljoin(url, response.headers["location"])
                        return Fetched(target, response.status_code, b"", None, None, None)
                    if response.status_code == 304:
                        return Fetched(url, 304, b"", None, etag, last_modified)
                    if response.status_code != 200:
                        raise HttpStatusError(response.status_code, url)
                    body = self._read(response, deadline, max_bytes or self.max_bytes)
                    return Fetched(url, 200, body, response.headers.get("content-type"),
                                   response.headers.get("etag"),
                                   response.headers.get("last-modified"))
            except httpx.HTTPError as error:
                if watchdog.expired:
                    raise self._too_slow(url) from error
                if isinstance(error, httpx.TimeoutException):
                    raise self._too_slow(url) from error
                message = " ".join(str(error).split()) or type(error).__name__
                raise FetchError(f"{url}: {message}") from error

    def _too_slow(self, url: object) -> FetchTimeout:
        return FetchTimeout(f"{url} took more than {self.seconds:g} s "
                            "(RAG_FEED_TIMEOUT_SECONDS)")

    def _read(self, response: httpx.Response, deadline: float, max_bytes: int) -> bytes:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            raise FetchError(f"{response.url} is larger than {max_bytes} bytes "
                             "(RAG_FEED_MAX_BYTES)")
        body = bytearray()
        for piece in response.iter_bytes():
            body += piece
            if len(body) > max_bytes:
                raise FetchError(f"{response.url} is larger than {max_bytes} bytes "
                                 "(RAG_FEED_MAX_BYTES)")
            if time.monotonic() > deadline:
                raise self._too_slow(response.url)
        return bytes(body)

    def check_address(self, url: str) -> None:
        """Refuse a URL that is not http(s), or whose host resolves to a non-public address
        (private, loopback, link-local, ...) unless `RAG_FEEDS_ALLOW_PRIVATE` is set."""
        try:
            parts = urlsplit(url)
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError as error:
            raise FetchRefused(f"not an http(s) URL: {url[:200]}: {error}") from error
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FetchRefused(f"not an http(s) URL: {url[:200]}")
        if self.allow_private:
            return
        try:
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
            raise FetchRefused(f"refused {url[:200]}: the address it came from is unknown")
        self._refuse_private(str(peer[0]), url, f"{urlsplit(url).hostname} answered from")

    def _refuse_private(self, address: str, url: str, found: str) -> None:
        ip = ipaddress.ip_address(address.split("%")[0])
        if isinstance(ip, ipaddress.IPv6Address):
            # An IPv4 address carried in IPv6 (mapped, 6to4, NAT64's well-known prefix) is
            # judged as that address: 64:ff9b::a00:1 reaches 10.0.0.1 through a NAT64 gateway.
            embedded = ip.ipv4_mapped or ip.sixtofour or (
                ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF) if ip in NAT64 else None)
            ip = embedded or ip
        if any(ip in network for network in self.allowed):
            return
        if not ip.is_global or ip.is_multicast:
            raise FetchRefused(f"refused {url[:200]}: {found} {ip}, not a public address "
                               "(RAG_FEEDS_ALLOW_NETWORKS or RAG_FEEDS_ALLOW_PRIVATE allows it)")

    # ---- politeness -------------------------------------------------------------------

    def check_robots(self, url: str) -> None:
        """Refuse `url` when its host's robots.txt disallows it to us (read once a day a
        host); a robots.txt that cannot be read for a server error or a failed download
        disallows the whole host for now (RFC 9309). Raises `FetchRefused`."""
        if not self.obey_robots:
            return
        origin = origin_of(url)
        rules = self._rules(origin)
        if rules is None:
            raise FetchRefused(f"refused {url[:200]}: {origin}/robots.txt could not be read, "
                               "so the host is not crawled for now")
        if not rules.can_fetch(url, ROBOTS_AGENT):
            raise FetchRefused(f"refused {url[:200]}: disallowed by {origin}/robots.txt")

    def _rules(self, origin: str) -> Protego | None:
        if origin in self._parsed:
            return self._parsed[origin]
        copy = self.robots.get(origin)
        if copy is None or not copy.fresh():
            copy = self._download_robots(origin)
        rules = None if copy is None else Protego.parse(copy.text)
        self._parsed[origin] = rules
        return rules

    def _download_robots(self, origin: str) -> RobotsCopy | None:
        """`origin`'s robots.txt, "" when it has none (a 4xx), None when it cannot be read."""
        url = f"{origin}/robots.txt"
        text: str | None = None
        try:
            for _ in range(self.max_redirects + 1):
                self.check_address(url)
                self._wait_for_host(url)
                try:
                    fetched = self._get_one(url, None, None, "text/plain, */*;q=0.5",
                                            ROBOTS_MAX_BYTES)
                finally:
                    self._done_with_host(url)
                if fetched.status not in REDIRECTS:
                    text = fetched.body.decode("utf-8", "replace")
                    break
                url = fetched.url
        except HttpStatusError as error:
            text = "" if 400 <= error.http_status < 500 else None
        except FetchRefused:  # the host itself is refused: that is the reason to give
            raise
        except FetchError:  # a failed download, or a robots.txt over 500 KiB
            text = None
        if text is None:
            return None
        copy = RobotsCopy(text, dt.datetime.now(dt.UTC))
        self.robots[origin] = copy
        self.read_robots.add(origin)
        return copy

    def robots_for(self, url: str) -> RobotsCopy | None:
        """The copy of `url`'s host's robots.txt this fetcher holds, if any."""
        return self.robots.get(origin_of(url))

    def _wait_for_host(self, url: str) -> None:
        """Sleep until the host's politeness delay since its last answer has passed."""
        host = urlsplit(url).hostname or ""
        delay = self.host_delay
        rules = self._parsed.get(origin_of(url))
        if rules is not None and (crawl := rules.crawl_delay(ROBOTS_AGENT)):
            delay = max(delay, min(float(crawl), MAX_CRAWL_DELAY))
        last = self._last_request.get(host)
        if last is not None and (wait := last + delay - time.monotonic()) > 0:
            time.sleep(wait)

    def _done_with_host(self, url: str) -> None:
        """Note the end of a request to the host: the next waits the delay from here."""
        self._last_request[urlsplit(url).hostname or ""] = time.monotonic()


class HttpStatusError(FetchError):
    """An answer other than 200, 304 or a redirect."""

    def __init__(self, status: int, url: str) -> None:
        super().__init__(f"HTTP {status} from {url}")
        self.http_status = status  # the origin's; `status` is what our API answers (502)


def origin_of(url: str) -> str:
    """scheme://host[:port] of `url`, lower case, the port only when not the scheme's."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    default = 443 if parts.scheme == "https" else 80
    port = f":{parts.port}" if parts.port and parts.port != default else ""
    return f"{parts.scheme}://{host}{port}"


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
