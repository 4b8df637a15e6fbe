"""Prometheus metrics of one app: HTTP traffic, writes through the API, and the index's size.

Each app has a registry of its own rather than prometheus_client's global one, so several apps
in one process (the tests build many) never share or collide on a metric. Label values are
bounded whatever clients send: routes are path templates ("unmatched" when none matched),
methods outside the standard few count as "other", statuses are three digits.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from index.pipeline import IngestReport
from rag.store import Store

CONTENT_TYPE = CONTENT_TYPE_LATEST
UNMATCHED = "unmatched"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Seconds; up to a minute because an LLM answer may take RAG_LLM_TIMEOUT (30 s) and a retry.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

log = logging.getLogger("newsrag.metrics")


class IndexSizeCollector(Collector):
    """Articles and chunks in the store, counted when scraped (two cheap count requests).

    Read at scrape time rather than kept up to date, so writes by `rag index` or by other
    replicas sharing a Chroma server show too. Nothing is reported before the services exist
    or while the store cannot be reached (`/readyz` says which).
    """

    def __init__(self, store: Callable[[], Store | None]) -> None:
        self._store = store

    def collect(self) -> Iterator[GaugeMetricFamily]:
        store = self._store()
        if store is None:
            return
        try:
            articles, chunks = store.article_count(), store.chunk_count()
        except Exception as error:  # a remote store may be down: the scrape still answers
            log.warning("index size unavailable: %s", error)
            return
        yield GaugeMetricFamily("newsrag_index_articles", "Articles in the store.", articles)
        yield GaugeMetricFamily("newsrag_index_chunks", "Chunks in the store.", chunks)


class Metrics:
    """The instruments of one app, and their text exposition."""

    def __init__(self, store: Callable[[], Store | None]) -> None:
        self.registry = CollectorRegistry()
        self._requests = Counter(
            "newsrag_http_requests", "HTTP requests by method, route template and status.",
            ["method", "route", "status"], registry=self.registry)
        self._latency = Histogram(
            "newsrag_http_request_duration_seconds",
            "Time from a request's arrival to its last response byte (streams included).",
            ["method", "route"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self._articles = Counter(
            "newsrag_articles_changed", "Articles added, replaced (an older version superseded) "
            "or deleted through the API.", ["change"], registry=self.registry)
        self._chunks = Counter(
            "newsrag_chunks_changed", "Chunks added or deleted through the API.", ["change"],
            registry=self.registry)
        for change in ("added", "replaced", "deleted"):  # present at 0 before the first write
            self._articles.labels(change)
        for change in ("added", "deleted"):
            self._chunks.labels(change)
        self.registry.register(IndexSizeCollector(store))
        ProcessCollector(registry=self.registry)  # memory, CPU time, open files

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        method = method if method in METHODS else "other"
        self._requests.labels(method, route, str(status)).inc()
        self._latency.labels(method, route).observe(seconds)

    def record_ingest(self, report: IngestReport) -> None:
        """An upload's effect; an edited article counts as added and as replaced."""
        self._articles.labels("added").inc(len(report.added))
        self._articles.labels("replaced").inc(len(report.removed))
        self._chunks.labels("added").inc(report.chunks_added)
        self._chunks.labels("deleted").inc(report.chunks_removed)

    def record_delete(self, chunks: int) -> None:
        self._articles.labels("deleted").inc()
        self._chunks.labels("deleted").inc(chunks)

    def exposition(self) -> bytes:
        """The Prometheus text format (serve it with `CONTENT_TYPE`)."""
        return generate_latest(self.registry)
