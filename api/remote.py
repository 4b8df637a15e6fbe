"""The HTTP API of a running `rag serve`, for commands that find the store in its hands.

An embedded store is one process's (`rag.ownership`); while `rag serve` holds it, `rag index`,
`rag ask` and `rag docs` send their work to that server instead of opening the store.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote

import httpx
from pydantic import SecretStr

from index.load import Document
from rag.errors import NewsragError
from rag.schemas import Filters
from rag.subscriptions import PollRecord

if TYPE_CHECKING:
    from index.pipeline import IngestReport

# A request's share of what the server accepts (RAG_MAX_BODY_BYTES is 32 MB by default, and
# 100 documents a request): large corpora go in many requests.
BATCH_DOCUMENTS = 100
BATCH_BYTES = 8_000_000
# DocumentIn's limit on one document's text (api/routes/documents.py).
MAX_TEXT_CHARS = 5_000_000
PAGE = 1000
CONNECT_RETRY_SECONDS = 0.5


class ServerError(NewsragError, RuntimeError):
    """The server could not be reached or refused the work; the message says which."""

    code = "server_error"
    status = 502


class ServerClient:
    """Writes and reads through the API of the server holding the store."""

    def __init__(self, url: str, api_key: SecretStr | None, timeout: float = 600.0,
                 start_up_seconds: float = 120.0) -> None:
        """`timeout`: for one request (an ingestion batch embeds its articles);
        `start_up_seconds`: how long a server that does not yet listen is waited for."""
        self.start_up_seconds = start_up_seconds
        headers = {"Authorization": f"Bearer {api_key.get_secret_value()}"} if api_key else {}
        self.url = url
        self._http = httpx.Client(base_url=url, headers=headers, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def ingest(self, documents: Sequence[Document]) -> Iterator[tuple[int, dict[str, Any]]]:
        """Send documents in batches; yields each batch's size and the server's result
        (`IngestResult`). Documents over the server's size limit come back as skipped."""
        for batch, oversized in _batches(documents):
            result: dict[str, Any] = {"added": [], "unchanged": [], "updated": [],
                                      "replaced": [], "skipped": [], "chunks_added": 0}
            if batch:
                result = self._call("POST", "/v1/documents", json=[_as_json(d) for d in batch],
                                    accept=(201, 422))
                if "error" in result:  # 422 no_articles: nothing in the batch had text
                    result = {"added": [], "unchanged": [], "updated": [], "replaced": [],
                              "skipped": [{"name": d.path or "(document)",
                                           "reason": result["error"]["message"]}
                                          for d in batch], "chunks_added": 0}
            result["skipped"] += [{"name": d.path or "(document)",
                                   "reason": f"longer than {MAX_TEXT_CHARS} characters"}
                                  for d in oversized]
            yield len(batch) + len(oversized), result

    def article_paths(self) -> dict[str, str]:
        """Every stored article recorded under a file path, by id."""
        return {d["id"]: d["path"] for d in self.articles() if d.get("path")}

    def articles(self) -> list[dict[str, Any]]:
        """Every stored article's summary."""
        return self.pages("/v1/documents", "documents", {"facets": "false"})

    def article(self, article_id: str) -> dict[str, Any] | None:
        """One article with its text, or None when there is none with that id."""
        found = self._call("GET", f"/v1/documents/{quote(article_id, safe='')}",
                           accept=(200, 404))
        return None if "error" in found else found

    def delete(self, article_id: str) -> int | None:
        """Delete an article; its chunk count, or None when there is none with that id."""
        done = self._call("DELETE", f"/v1/documents/{quote(article_id, safe='')}",
                          accept=(200, 404))
        return None if "error" in done else int(done["chunks_deleted"])

    def get(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """A read route's JSON body."""
        return self._call("GET", path, params=params)

    def pages(self, path: str, key: str, params: dict[str, Any] | None = None
              ) -> list[dict[str, Any]]:
        """Every item of a paged listing (`{key: [...], total}`, `offset` and `limit`)."""
        found: list[dict[str, Any]] = []
        while True:
            page = self.get(path, {**(params or {}), "offset": len(found), "limit": PAGE})
            found += page[key]
            if len(found) >= page["total"] or not page[key]:
                return found

    def counts(self) -> tuple[int, int]:
        """The articles and chunks the store holds (`/readyz`)."""
        ready = self._call("GET", "/readyz")
        return int(ready["articles"]), int(ready["chunks"])

    def ask(self, question: str, top_k: int | None, filters: Filters | None = None,
            mode: Literal["auto", "extractive", "llm"] = "auto") -> dict[str, Any]:
        """`POST /v1/ask`: the answer (`Answer`) as JSON."""
        body: dict[str, Any] = {"question": question, "mode": mode}
        if top_k is not None:
            body["top_k"] = top_k
        if filters is not None and not filters.is_empty():
            body["filters"] = filters.model_dump(mode="json", exclude_none=True)
        return self._call("POST", "/v1/ask", json=body)

    def feeds(self, robots: bool = False) -> list[dict[str, Any]]:
        """Every feed subscription (`robots`: with its host's robots.txt copy)."""
        return self.get("/v1/feeds", {"robots": "true"} if robots else None)["feeds"]

    def add_feed(self, url: str) -> tuple[dict[str, Any], bool]:
        """Subscribe to a feed: its record, and whether it is new."""
        status, body = self._request("POST", "/v1/feeds", (200, 201, 422), json={"url": url})
        if status == 422:
            raise ServerError(body["error"]["message"])
        return body, status == 201

    def delete_feed(self, feed_id: str) -> dict[str, Any] | None:
        """Unsubscribe; the feed's record, or None when there is none with that id."""
        done = self._call("DELETE", f"/v1/feeds/{quote(feed_id, safe='')}", accept=(200, 404))
        return None if "error" in done else done

    def record_poll(self, feed_id: str, poll: dict[str, Any]) -> None:
        """Record what a poll of the feed found (a feed removed meanwhile is let be)."""
        self._call("POST", f"/v1/feeds/{quote(feed_id, safe='')}/polls", json=poll,
                   accept=(200, 404))

    def _call(self, method: str, path: str, accept: tuple[int, ...] = (200,),
              **options: Any) -> dict[str, Any]:
        return self._request(method, path, accept, **options)[1]

    def _request(self, method: str, path: str, accept: tuple[int, ...],
                 **options: Any) -> tuple[int, dict[str, Any]]:
        """The status and JSON body of a request; `ServerError` for another status."""
        began = time.monotonic()
        while True:
            try:
                response = self._http.request(method, path, **options)
                break
            except httpx.ConnectError as error:
                # A server claims the store before it listens: it may still be starting.
                if time.monotonic() - began > self.start_up_seconds:
                    raise ServerError(f"the server at {self.url} did not answer: {error}") \
                        from error
                time.sleep(CONNECT_RETRY_SECONDS)
            except httpx.HTTPError as error:
                raise ServerError(f"the server at {self.url} did not answer: {error}") \
                    from error
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code not in accept:
            message = (body.get("error") or {}).get("message") if isinstance(body, dict) else None
            raise ServerError(f"the server at {self.url} answered {response.status_code}"
                              + (f": {message}" if message else ""))
        return response.status_code, body


def _as_json(document: Document) -> dict[str, Any]:
    """A document as `POST /v1/documents` takes it (`DocumentIn`)."""
    fields = {"text": document.text, "format": "file" if document.kind == "text" else "article",
              "path": document.path, "title": document.title, "source": document.source,
              "published": document.published.isoformat() if document.published else None,
              "url": document.url, "author": document.author}
    return {k: v for k, v in fields.items() if v is not None}


def _batches(documents: Sequence[Document]
             ) -> Iterator[tuple[list[Document], list[Document]]]:
    """Requests' worth of documents, and those too long to send at all."""
    batch: list[Document] = []
    oversized: list[Document] = []
    size = 0
    for document in documents:
        if len(document.text) > MAX_TEXT_CHARS:
            oversized.append(document)
            continue
        length = len(json.dumps(_as_json(document)))
        if batch and (len(batch) == BATCH_DOCUMENTS or size + length > BATCH_BYTES):
            yield batch, oversized
            batch, oversized, size = [], [], 0
        batch.append(document)
        size += length
    if batch or oversized:
        yield batch, oversized


class ServerDestination:
    """`rag watch`'s destination when a running server holds the store (`index.watch`)."""

    def __init__(self, server: ServerClient) -> None:
        self.server = server

    def subscriptions(self) -> list[dict[str, Any]]:
        return self.server.feeds(robots=True)

    def ingest(self, documents: list[Document], report: IngestReport) -> None:
        for _, result in self.server.ingest(documents):
            add_result(report, result)

    def record(self, feed_id: str, poll: PollRecord) -> None:
        self.server.record_poll(feed_id, poll.model_dump())


def add_result(report: IngestReport, result: dict[str, Any]) -> None:
    """Add what the server did with a batch (`IngestResult`) to a report; its articles are
    their summaries, without text."""
    from rag.schemas import Article

    def article(summary: dict[str, Any]) -> Article:
        return Article(id=summary["id"], text="", title=summary.get("title"),
                       path=summary.get("path"), url=summary.get("url"))

    report.added += [article(d) for d in result["added"]]
    report.unchanged += [article(d) for d in result["unchanged"]]
    report.updated += [(article(d), d["changed"]) for d in result["updated"]]
    report.removed += result["replaced"]
    report.skipped += [(s["name"], s["reason"]) for s in result["skipped"]]
    report.chunks_added += result["chunks_added"]
