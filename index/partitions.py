"""Ingestion into a corpus split into partitions: each article is stored in the partition of
its publication month (rag/partitions.py), by that partition's own `Ingestor`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from index.load import Document
from index.pipeline import Ingestor, IngestReport, read_documents
from rag.config import Settings
from rag.embeddings import Encoder
from rag.partitions import PartitionMap
from rag.store import Store


class PartitionedIngestor:
    """One `Ingestor` a partition, sharing one encoder; documents go to their articles'
    partitions."""

    def __init__(self, stores: list[Store], encoder: Encoder, settings: Settings,
                 partition_map: PartitionMap | None = None) -> None:
        """`stores`: the partitions' stores in partition order (`rag.partitions.open_stores`)."""
        self.map = partition_map or PartitionMap(len(stores))
        if self.map.count != len(stores):
            raise ValueError("one store a partition")
        self.settings = settings
        self.ingestors = [Ingestor(store, encoder, settings) for store in stores]
        for ingestor in self.ingestors[1:]:  # the int8 text encoder is derived once
            ingestor.encoder = self.ingestors[0].encoder

    def ingest_paths(self, paths: Iterable[Path]) -> list[IngestReport]:
        """Read every supported file under `paths` and store its articles by partition; one
        report a partition (what could not be read is in the first's)."""
        reading = IngestReport()
        documents = read_documents(list(paths), reading, self.settings.max_file_bytes)
        reports = self.ingest_documents(documents)
        reports[0].skipped[:0] = reading.skipped
        return reports

    def ingest_documents(self, documents: Sequence[Document]) -> list[IngestReport]:
        """Store each document's articles in their months' partitions; one report a
        partition. A document whose articles fall in several partitions is stored as one
        record an article."""
        groups: list[list[Document]] = [[] for _ in self.ingestors]
        reports = [IngestReport() for _ in self.ingestors]
        for document in documents:
            articles = self.ingestors[0].articles_of(document, IngestReport())
            partitions = {self.map.of(a.published) for a in articles}
            if len(partitions) <= 1:
                groups[partitions.pop() if partitions else 0].append(document)
                continue
            for article in articles:
                groups[self.map.of(article.published)].append(Document(
                    text=article.text, kind="record", path=document.path, title=article.title,
                    source=article.source, published=article.published, url=article.url,
                    author=article.author, filename=document.filename))
        for ingestor, group, report in zip(self.ingestors, groups, reports, strict=True):
            if group:
                ingestor.ingest_documents(group, report)
        return reports
