"""Which partition holds an article (by its publication month), which partitions a date filter
can touch, and each partition's store as `RAG_PARTITIONS` names it (docs/operations.md,
"Partitions").
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from rag.config import Settings
from rag.errors import NewsragError
from rag.schemas import Filters
from rag.store import Store

# Undated articles all go to the first partition.
UNDATED = 0


class PartitionsMisconfigured(NewsragError, ValueError):
    """`RAG_PARTITIONS` cannot be used as given (an empty entry, a partition named twice, or a
    component that serves one store)."""

    code = "partitions_misconfigured"
    status = 500
    exit_status = 2


def require_one_store(settings: Settings) -> None:
    """Raise `PartitionsMisconfigured` when `RAG_PARTITIONS` is set for a component that serves
    one store (`rag serve`, `rag ask`, `rag index`: the engine)."""
    if settings.partitions:
        raise PartitionsMisconfigured(
            "RAG_PARTITIONS is set, but the engine (`rag serve`, `rag ask`, `rag index`) "
            "serves one store; partitions are searched through rag.router.Router "
            "(docs/operations.md, \"Partitions\"): unset RAG_PARTITIONS here")


@dataclass(frozen=True)
class PartitionMap:
    """Months dealt round-robin over `count` partitions: month m of year y goes to partition
    (12 y + m - 1) mod count, so consecutive months are on different partitions (a month's
    writes and a recent-news question's reads are spread) and any `count` consecutive months
    cover every partition once."""

    count: int

    def __post_init__(self) -> None:
        if self.count < 1:
            raise PartitionsMisconfigured("a corpus needs at least one partition")

    def of(self, published: dt.date | None) -> int:
        """The partition of an article published on this date (`UNDATED`'s when None)."""
        if published is None:
            return UNDATED
        return (published.year * 12 + published.month - 1) % self.count

    def touched(self, filters: Filters | None) -> list[int]:
        """The partitions holding an article the filters can keep, in order: all of them
        unless a date range closed at both ends spans fewer months than there are partitions
        (an undated article passes no date bound, so the undated partition is then touched
        only for the months it holds)."""
        everything = list(range(self.count))
        if filters is None or not (filters.published_from and filters.published_to):
            return everything
        first, last = filters.published_from, filters.published_to
        if last < first:
            return []
        months = (last.year * 12 + last.month) - (first.year * 12 + first.month) + 1
        if months >= self.count:
            return everything
        start = first.year * 12 + first.month - 1
        return sorted({(start + k) % self.count for k in range(months)})


def partition_settings(settings: Settings) -> list[Settings]:
    """Each partition's settings: a `RAG_PARTITIONS` entry starting with http:// or https://
    is a Chroma server (its snapshots saved under `data_dir/partitions/<n>`), any other a
    collection prefix on the configured store. Raises `PartitionsMisconfigured` for an empty
    entry or a prefix given twice."""
    out = []
    for number, entry in enumerate(settings.partitions):
        entry = entry.strip()
        if not entry:
            raise PartitionsMisconfigured(f"RAG_PARTITIONS entry {number} is empty")
        if entry.startswith(("http://", "https://")):
            out.append(settings.model_copy(update={
                "chroma_url": entry, "partitions": [],
                "data_dir": settings.data_dir / "partitions" / str(number)}))
        else:
            out.append(settings.model_copy(update={"collection": entry, "partitions": []}))
    names = [(s.chroma_url, s.collection) for s in out]
    if len(set(names)) != len(names):
        raise PartitionsMisconfigured("RAG_PARTITIONS names one partition twice")
    return out


def open_stores(settings: Settings) -> list[Store]:
    """The partitions' stores, in `RAG_PARTITIONS` order, each opened as `Store.open` opens a
    store (collection prefixes of one embedded store share its Chroma client: chromadb keeps
    one a path)."""
    return [Store.open(part) for part in partition_settings(settings)]
