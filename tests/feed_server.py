"""A small threaded HTTP server on 127.0.0.1 serving the fixture feeds and pages of
tests/data/feeds (`{port}` in them becomes its port), with ETags and conditional GET."""

from __future__ import annotations

import hashlib
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

FEEDS = Path(__file__).resolve().parent / "data" / "feeds"
# Where each fixture is served; any other path is a 404.
ROUTES = {
    "/feeds/harbour.rss": ("harbour.rss", "application/rss+xml"),
    "/feeds/veltara.atom": ("veltara.atom", "application/atom+xml"),
    "/feeds/northwind.json": ("northwind.json", "application/feed+json"),
    "/feeds/broken.xml": ("broken.xml", "application/xml"),
    "/ledger/brannock-barrier-builder.html": ("brannock-barrier-builder.html",
                                              "text/html; charset=utf-8"),
}
# ... and "/loop" redirects to itself, "/trickle" sends its headers a byte at a time.


class FeedServer:
    """Serves `ROUTES`; `replace(path, text)` changes what a path serves (and its ETag);
    `requests` logs (path, status) of every request."""

    def __init__(self) -> None:
        self.overrides: dict[str, str] = {}
        self.requests: list[tuple[str, int]] = []
        served = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/loop":  # redirects to itself, for ever
                    served.requests.append((self.path, 302))
                    self.send_response(302)
                    self.send_header("Location", "/loop")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if self.path == "/trickle":  # headers a byte every 0.1 s, never finished
                    served.requests.append((self.path, 200))
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
                etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
                if self.headers.get("If-None-Match") == etag:
                    self._answer(304, b"", kind, etag)
                    return
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
                self.end_headers()
                if status != 304:
                    self.wfile.write(body)

            def log_message(self, *_: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
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

    def __enter__(self) -> FeedServer:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
