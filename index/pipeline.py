"""ingest(paths) -> IngestReport: files in, cleaned and chunked articles in the store out.

Idempotent by content hash: an article whose cleaned text is already stored is not embedded
again. Re-reading a file whose story changed stores the new version and then removes the
articles that file produced before, so a file never leaves orphans or duplicates behind.
Articles are committed an embedding group at a time, each whole or absent: the group's chunks
first, then its records (the commit marker; see `rag.store`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from index.chunk import chunk_article
from index.clean import clean_text
from index.load import Document, UnreadableFile, iter_files, read_file
from index.outlets import infer_outlet
from rag.config import Settings
from rag.embeddings import Encoder, question_encoder_for
from rag.schemas import Article, Chunk, article_id_for
from rag.sentence_vectors import embed_sentences
from rag.store import Store

_BLANK_RUN = re.compile(r"\n[ \t]*(?:\n[ \t]*)+")
# Orphan chunks younger than this may be another process's write in flight (processes sharing a
# Chroma server): repair leaves them for a later run. A real write takes well under a second
# between its chunks and its record; the margin covers clocks that disagree a little.
REPAIR_GRACE_SECONDS = 120.0
# Embedding batches a group of articles holds (at least; a group ends with a whole article): one
# encoder call and one store write a group. Writing many articles a Chroma call is what the group
# is for (~65 ms a call); with an encoder that batches (`RAG_QUESTION_ENCODER=same`), a bigger
# group also pads less, as a call's texts are sorted by length (on MultiHop-RAG, groups of 4
# batches padded 7.3% over one sort of the whole corpus, 16 batches 2.5%). A crash loses at
# most one group's embedding work.
GROUP_BATCHES = 16


@dataclass
class IngestReport:
    """What an ingestion run did, article by article."""

    added: list[Article] = field(default_factory=list)
    unchanged: list[Article] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)  # ids replaced by a newer version
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    chunks_added: int = 0
    chunks_removed: int = 0
    boilerplate_lines_removed: int = 0

    def summary(self) -> str:
        return (f"{len(self.added)} added ({self.chunks_added} chunks), "
                f"{len(self.unchanged)} unchanged, {len(self.removed)} replaced, "
                f"{len(self.skipped)} skipped, "
                f"{self.boilerplate_lines_removed} boilerplate lines removed")


@dataclass
class _Pending:
    article: Article
    chunks: list[Chunk]


class Ingestor:
    """Turns documents into stored articles with one encoder, store and settings."""

    def __init__(self, store: Store, encoder: Encoder, settings: Settings) -> None:
        """`encoder`: the documents' encoder as configured. Chunks and their sentences are
        embedded by the questions' encoder derived from it (`question_encoder_for`), on first
        use: by default the int8 model, one text a run, so no vector depends on what it was
        embedded with, at half the shipped model's batched time a chunk (docs/benchmarks.md,
        section 2); what that saves pays for embedding every sentence (`rag.sentence_vectors`).
        """
        self.store = store
        self.settings = settings
        self._configured = encoder
        self._encoder: Encoder | None = None

    @property
    def encoder(self) -> Encoder:
        """What embeds chunks and sentences."""
        if self._encoder is None:
            self._encoder = question_encoder_for(self.settings, self._configured)
        return self._encoder

    @encoder.setter
    def encoder(self, encoder: Encoder) -> None:
        self._encoder = encoder

    def ingest_paths(self, paths: Iterable[Path], progress: bool = False) -> IngestReport:
        """Read every supported file under `paths` and store its articles."""
        report = IngestReport()
        documents: list[Document] = []
        for path in iter_files(paths):
            try:
                documents.extend(read_file(path))
            except UnreadableFile as error:
                report.skipped.append((str(path), str(error)))
        self.ingest_documents(documents, report, progress=progress)
        return report

    def ingest_documents(self, documents: Sequence[Document], report: IngestReport | None = None,
                         progress: bool = False) -> IngestReport:
        """Clean, chunk, embed and store documents; replace what their files held before."""
        report = report or IngestReport()
        self.store.repair(grace_seconds=REPAIR_GRACE_SECONDS)
        articles: list[Article] = []
        for document in documents:
            found = self._articles_of(document, report)
            if not found:
                report.skipped.append((document.path or "(upload)", "no article text"))
            articles.extend(found)
        articles = list({a.id: a for a in articles}.values())  # same story twice: once
        stored = self.store.existing_ids([a.id for a in articles])
        pending = []
        for article in articles:
            if article.id in stored:
                report.unchanged.append(article)
            else:
                pending.append(_Pending(article, chunk_article(
                    article, self.settings.chunk_tokens, self.settings.chunk_overlap)))
        self._embed_and_store(pending, report, progress)
        self._remove_stale(documents, {a.id for a in articles}, report)
        return report

    def _articles_of(self, document: Document, report: IngestReport) -> list[Article]:
        if document.kind == "record":
            text = _normalise(document.text)
            if not text:
                return []
            return [Article(id=article_id_for(text), text=text, title=document.title,
                            source=document.source, published=document.published,
                            url=document.url, author=document.author, path=document.path)]
        # Never the file's name: an outlet the text does not name is inferred or unknown.
        inferred = infer_outlet(document.text, document.url)
        articles = []
        for cleaned in clean_text(document.text):
            report.boilerplate_lines_removed += cleaned.removed_lines
            if not cleaned.text.strip():
                continue
            articles.append(Article(
                id=article_id_for(cleaned.text), text=cleaned.text,
                title=cleaned.title or document.title,
                source=document.source or cleaned.source or inferred,
                published=document.published or cleaned.published,
                url=document.url, author=document.author or cleaned.author, path=document.path,
                raw_text=cleaned.raw_text,
            ))
        return articles

    def _embed_and_store(self, pending: list[_Pending], report: IngestReport,
                         progress: bool) -> None:
        total = sum(len(p.chunks) for p in pending)
        group_size = self.settings.embed_batch_size * GROUP_BATCHES
        with tqdm(total=total, unit="chunk", desc="embedding", disable=not progress) as bar:
            group: list[_Pending] = []
            for item in pending:
                group.append(item)
                if sum(len(p.chunks) for p in group) >= group_size:
                    self._store_group(group, report, bar)
                    group = []
            if group:
                self._store_group(group, report, bar)

    def _store_group(self, group: list[_Pending], report: IngestReport, bar: tqdm) -> None:
        """Embed a few articles' chunks in one call (batching), then commit them in one write.

        `Store.add_articles` writes the group's chunks, then its records, in two Chroma upserts
        instead of two an article (~65 ms each, most of the pipeline's time outside the
        encoder; docs/benchmarks.md). A crash in between leaves at most this group's chunks
        without records: never searched, swept by `Store.repair` (tests/test_crash_safety.py).
        """
        chunks = [c for p in group for c in p.chunks]
        vectors = self.encoder.embed([c.text for c in chunks])
        sentences = (embed_sentences(self.encoder, chunks)
                     if self.settings.sentence_vectors else None)
        batch = []
        offset = 0
        for item in group:
            count = len(item.chunks)
            batch.append((item.article, item.chunks, vectors[offset : offset + count]))
            offset += count
        self.store.add_articles(batch, sentences)
        for item in group:
            report.added.append(item.article)
            report.chunks_added += len(item.chunks)
        bar.update(offset)

    def _remove_stale(self, documents: Sequence[Document], current: set[str],
                      report: IngestReport) -> None:
        """Delete articles a re-read file no longer yields (its story was edited)."""
        for path in {d.path for d in documents if d.path}:
            for stale in set(self.store.article_ids(path=path)) - current:
                report.chunks_removed += self.store.delete_article(stale)
                report.removed.append(stale)


def _normalise(text: str) -> str:
    """Whitespace of a structured record's body: trimmed lines, single blank lines between."""
    text = text.replace("\r\n", "\n").replace("\u00a0", " ")
    lines = [line.rstrip() for line in text.split("\n")]
    return _BLANK_RUN.sub("\n\n", "\n".join(lines)).strip()
