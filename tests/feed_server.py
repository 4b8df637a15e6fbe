"""A small threaded HTTP server on 127.0.0.1 serving the fixture feeds, sitemaps and pages of
tests/data/feeds (`{port}` in them becomes its port), with ETags and conditional GET, and the
ways a site can fail: errors, slowness, a huge page, a redirect to a private address, and
generated feeds of many link-only entries."""

from __future__ import annotations

import hashlib
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

FEEDS = Path(__file__).resolve().parent / "data" / "feeds"
# Where each fixture is served; any other path is a 404.
ROUTES = {
    "/feeds/harbour.rss": ("harbour.rss", "application/rss+xml"),
    "/feeds/veltara.atom": ("veltara.atom", "application/atom+xml"),
    "/feeds/northwind.json": ("northwind.json", "application/feed+json"),
    "/feeds/broken.xml": ("broken.xml", "application/xml"),
    "/ledger/brannock-barrier-builder.html": ("brannock-barrier-builder.html",
                                              "text/html; charset=utf-8"),
    "/robots.txt": ("robots.txt", "text/plain"),
    "/sitemaps/selmarq-news.xml": ("selmarq-news.xml", "application/xml"),
    "/sitemaps/index.xml": ("sitemap-index.xml", "application/xml"),
    "/courier/quay-lights.html": ("quay-lights.html", "text/html; charset=utf-8"),
    "/courier/tram-fares.html": ("tram-fares.html", "text/html; charset=utf-8"),
    "/feeds/repeats.rss": ("repeats.rss", "application/rss+xml"),
    "/private/harbour.rss": ("harbour.rss", "application/rss+xml"),  # robots.txt forbids
}
# ... and "/loop" redirects to itself, "/trickle" sends its headers a byte at a time,
# "/status/N" answers N, "/slow" answers after SLOW_SECONDS, "/huge" is a HUGE_BYTES page,
# "/redirect-private" redirects to a link-local address, "/generated.rss?n=N" lists N link-only
# entries whose pages are "/generated/K.html".
SLOW_SECONDS = 5.0
HUGE_BYTES = 50_000_000
PRIVATE_TARGET = "http://169.254.169.254/latest/meta-data/"
PLACES = ("Averin", "Selmarq", "Brannock", "Tollen", "Greywood", "Veltara", "Northwind",
          "Hollis", "Marrow", "Oskar")


def generated_page(number: int) -> str:
    """Article page `number` of the generated feeds: its own text, long enough to be read as
    an article."""
    town = f"{PLACES[number % 10]} {PLACES[number // 10 % 10]}"
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>Council of {town} "
            f"approves budget {number}</title></head><body><article><h1>Council of {town} "
            f"approves budget {number}</h1><p>The council of {town} approved a budget of "
            f"{number * 7 + 11} thousand veltars for road repairs on Wednesday, the "
            f"{number}th vote of its kind this decade, clerk Mara Denholm said.</p><p>Work on "
            f"{number % 13 + 2} streets is due to begin in the spring, and the council expects "
            f"it to take {number % 5 + 3} months if the weather holds, Denholm told reporters "
            f"after the session.</p></article></body></html>")


def generated_feed(port: int, count: int, start: int = 0) -> str:
    """An RSS feed of `count` link-only entries, newest first, numbered from `start`."""
    items = "".join(
        f"<item><title>Council of budget {n}</title>"
        f"<link>http://127.0.0.1:{port}/generated/{n}.html</link><guid>gen-{n}</guid></item>"
        for n in range(start + count - 1, start - 1, -1))
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Generated Gazette'
            f"</title><link>http://127.0.0.1:{port}/</link>{items}</channel></rss>")


class FeedServer:
    """Serves `ROUTES`; `replace(path, text)` changes what a path serves (and its ETag);
    `requests` logs (path, status) of every request."""

    def __init__(self) -> None:
        self.overrides: dict[str, str] = {}
        self.requests: list[tuple[str, int]] = []
        self.page_delay = 0.0  # seconds before each generated page is answered
        self.failing: set[str] = set()  # paths answered 503 for now
        self.seen: list[tuple[str, float, str]] = []  # (path, monotonic time, User-Agent)
        served = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                served.seen.append((self.path, time.monotonic(),
                                    self.headers.get("User-Agent", "")))
                if self._special():
                    return
                if self.path == "/loop":  # redirects to itself, for ever
                    served.requests.append((self.path, 302))
                    self.send_response(302)
                    self.send_header("Location", "/loop")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if self.path == "/trickle":  # headers a byte every 0.1 s, never finished
                    served.requests.append((self.path, 200))
                    self.close_connection = True
                    self.wfile.write(b"HTTP/1.1 200 OK\r\nX-Padding: ")
                    for _ in range(300):  # 30 s at most
                        try:
                            self.wfile.write(b"x")
                        except OSError:  # the client gave up
                            return
                        time.sleep(0.1)
                    return
                body, kind = served.body(self.path)
                if body is None:
                    self._answer(404, b"not found", "text/plain")
                    return
                self._conditional(body, kind)

            def _special(self) -> bool:
                """The routes that are no fixture file; False for any other path."""
                path = urlsplit(self.path).path
                if path in served.failing:
                    self._answer(503, b"try later", "text/plain")
                elif path.startswith("/status/") and path[8:].isdigit():
                    self._answer(int(path[8:]), b"failed", "text/plain")
                elif path == "/slow":
                    time.sleep(SLOW_SECONDS)
                    self._answer(200, b"<rss/>", "application/rss+xml")
                elif path == "/huge":
                    self._huge()
                elif path == "/redirect-private":
                    served.requests.append((self.path, 302))
                    self.send_response(302)
                    self.send_header("Location", PRIVATE_TARGET)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                elif path == "/generated.rss":
                    query = parse_qs(urlsplit(self.path).query)
                    count, start = (int(query.get(k, [d])[0]) for k, d in (("n", 10),
                                                                           ("start", 0)))
                    body = generated_feed(served.port, count, start).encode()
                    self._conditional(body, "application/rss+xml")
                elif path.startswith("/generated/") and path.endswith(".html"):
                    time.sleep(served.page_delay)
                    number = int(path[len("/generated/"):-len(".html")])
                    self._answer(200, generated_page(number).encode(), "text/html")
                else:
                    return False
                return True

            def _huge(self) -> None:
                """HUGE_BYTES of page, undeclared (chunked), until the client stops reading."""
                served.requests.append((self.path, 200))
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                piece = b"<p>" + b"word " * 13106 + b"</p>"  # ~64 KiB
                try:
                    for _ in range(HUGE_BYTES // len(piece) + 1):
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                    self.wfile.write(b"0\r\n\r\n")
                except OSError:  # the client gave up
                    self.close_connection = True

            def _conditional(self, body: bytes, kind: str) -> None:
                etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
                if self.headers.get("If-None-Match") == etag:
                    self._answer(304, b"", kind, etag)
                else:
                    self._answer(200, body, kind, etag)

            def _answer(self, status: int, body: bytes, kind: str, etag: str | None = None
                        ) -> None:
                served.requests.append((self.path, status))
                self.send_response(status)
                if etag:
                    self.send_header("ETag", etag)
                if status != 304:
                    self.send_header("Content-Type", kind)
                    self.send_header("Content-Length", str(len(body)))
                else:
                    self.send_header("Content-Length", "0")
                self.end_headers()
                if status != 304:
                    self.wfile.write(body)

            def log_message(self, *_: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        # A client that gave up on a slow or huge answer is expected here, not an error.
        self._server.handle_error = lambda *_: None  # type: ignore[method-assign]
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def body(self, path: str) -> tuple[bytes | None, str]:
        if path not in ROUTES:
            return None, ""
        name, kind = ROUTES[path]
        text = self.overrides.get(path) or (FEEDS / name).read_text(encoding="utf-8")
        return text.replace("{port}", str(self.port)).encode(), kind

    def replace(self, path: str, old: str, new: str) -> None:
        """Serve `path` with `old` replaced by `new` from now on."""
        name = ROUTES[path][0]
        text = self.overrides.get(path) or (FEEDS / name).read_text(encoding="utf-8")
        assert old in text
        self.overrides[path] = text.replace(old, new)

    def statuses(self, path: str) -> list[int]:
        return [status for served, status in self.requests if served == path]

    def count(self, prefix: str) -> int:
        """Requests for paths starting with `prefix`."""
        return sum(served.startswith(prefix) for served, _ in self.requests)

    def __enter__(self) -> FeedServer:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
