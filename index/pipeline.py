"""ingest(paths) -> IngestReport: files in, cleaned and chunked articles in the store out.

Idempotent by content hash; an article replaces an earlier one only by file, canonical URL or
`replaces` (docs/operations.md, "Article identity"). Articles are committed an embedding group
at a time, each whole or absent; a file, record or article that fails is skipped with its
reason.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from index.chunk import chunk_article
from index.chunk import warm_up as warm_up_chunking
from index.clean import clean_text
from index.files import iter_files
from index.load import Document, UnreadableFile, read_file
from index.outlets import infer_outlet
from index.progress import Progress, progress_bar, track
from index.reconcile import Plan, canonical_path, plan, recorded_path
from index.stories import StoryIndex
from rag.config import Settings
from rag.embeddings import Encoder, text_encoder_for
from rag.schemas import Article, Chunk, article_id_for
from rag.sentence_vectors import embed_sentences
from rag.snapshot import root_for
from rag.store import Store
from rag.urls import canonical_url

_BLANK_RUN = re.compile(r"\n[ \t]*(?:\n[ \t]*)+")
# Orphan chunks younger than this may be another process's write in flight (processes sharing a
# Chroma server): repair leaves them for a later run. A real write takes well under a second
# between its chunks and its record; the margin covers clocks that disagree a little.
REPAIR_GRACE_SECONDS = 120.0
# Embedding batches a group of articles holds (at least; a group ends with a whole article): one
# encoder call and one store write a group (a Chroma call costs the same for one article or
# many; a batching encoder pads less over a bigger group). A crash loses at most one group's
# embedding work. Measured: docs/benchmarks.md, "Ingestion".
GROUP_BATCHES = 16
# The stored articles' signatures are kept beside the store's snapshots, saved again when a
# start read this many that the saved ones lacked (`Ingestor.prepare`).
STORIES_FILE, STORIES_SAVE_AFTER = "stories.npz", 1_000


@dataclass
class IngestReport:
    """What an ingestion run did, article by article."""

    added: list[Article] = field(default_factory=list)
    unchanged: list[Article] = field(default_factory=list)
    # Unchanged articles whose metadata this run corrected, with the fields it changed.
    updated: list[tuple[Article, list[str]]] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)  # ids replaced by a newer version
    # Articles of files that are gone (recorded path, id): kept, or removed when pruning.
    missing: list[tuple[str, str]] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    # Files part of whose text failed this run: their earlier articles are kept.
    failed_paths: set[str] = field(default_factory=set)
    chunks_added: int = 0
    chunks_removed: int = 0
    boilerplate_lines_removed: int = 0

    def summary(self) -> str:
        pruned = f", {len(self.pruned)} pruned" if self.pruned else ""
        return (f"{len(self.added)} added ({self.chunks_added} chunks), "
                f"{len(self.unchanged)} unchanged, {len(self.updated)} updated, "
                f"{len(self.removed)} replaced{pruned}, {len(self.skipped)} skipped, "
                f"{self.boilerplate_lines_removed} boilerplate lines removed")


@dataclass
class _Pending:
    article: Article
    chunks: list[Chunk]


class Ingestor:
    """Turns documents into stored articles with one encoder, store and settings."""

    def __init__(self, store: Store, encoder: Encoder, settings: Settings) -> None:
        """`encoder`: the documents' encoder as configured. Chunks and their sentences are
        embedded by the int8 text encoder derived from it (`text_encoder_for`), on first
        use: by default the int8 model, one text a run, so no vector depends on what it was
        embedded with, at half the shipped model's batched time a chunk (docs/benchmarks.md,
        section 2); what that saves pays for embedding every sentence (`rag.sentence_vectors`).
        """
        self.store = store
        self.settings = settings
        self._configured = encoder
        self._encoder: Encoder | None = None
        # Syndicated copies: the stored articles' signatures, synced with the store each run.
        self.stories = StoryIndex() if settings.syndication else None

    @property
    def encoder(self) -> Encoder:
        """What embeds chunks and sentences."""
        if self._encoder is None:
            self._encoder = text_encoder_for(self.settings, self._configured)
        return self._encoder

    @encoder.setter
    def encoder(self, encoder: Encoder) -> None:
        self._encoder = encoder

    def prepare(self) -> None:
        """Load what the first write would otherwise wait for: the documents' encoder (its
        sessions made by embedding two texts), the chunker (`index.chunk.warm_up`) and, with
        copy detection on, the stored articles' signatures (those saved by an earlier run,
        then the ones stored since; saved again when many were read). Raises what reading
        the store raises."""
        self.encoder.embed(["A first text to embed.", "And a second one beside it."])
        warm_up_chunking(self.settings.chunk_tokens, self.settings.chunk_overlap)
        if self.stories is not None:
            saved = root_for(self.settings) / STORIES_FILE
            identity = self.store.identity
            if not len(self.stories):  # a start: what an earlier one saved, then the rest
                self.stories.restore(saved, identity)
            if self.stories.sync(self.store) >= STORIES_SAVE_AFTER:
                self.stories.save(saved, identity)

    def ingest_paths(self, paths: Iterable[Path], progress: bool = False,
                     prune: bool = False) -> IngestReport:
        """Read every supported file under `paths` and store its articles; then replace the
        older versions of what was read, and report (or, with `prune`, remove) the articles
        of files under `paths` that are gone (`index.reconcile`).

        `progress`: show progress on stderr (a bar on a terminal, else a line now and then).
        """
        paths = list(paths)
        report = IngestReport()
        documents = read_documents(paths, report, self.settings.max_file_bytes, progress)
        self.ingest_documents(documents, report, progress=progress)
        apply_plan(self.plan_removals(paths, documents, report), self._delete, report, prune)
        return report

    def ingest_documents(self, documents: Sequence[Document], report: IngestReport | None = None,
                         progress: bool = False) -> IngestReport:
        """Clean, chunk, embed and store documents, correct the metadata of those stored
        already, and remove what they replace (the same canonical URL, or the ids a document
        `replaces`). Earlier versions of the same file are `ingest_paths`' to replace."""
        report = report or IngestReport()
        self.store.repair(grace_seconds=self.repair_grace_seconds)
        articles: list[Article] = []
        replaces: set[str] = set()
        for document in documents:
            try:
                found = self.articles_of(document, report)
            except Exception as error:  # one document's failure is its own skip
                report.skipped.append((document.path or document.filename or "(upload)",
                                       _failure(error)))
                if document.path:
                    report.failed_paths.add(document.path)
                continue
            if not found:
                report.skipped.append((document.path or document.filename or "(upload)",
                                       "no article text"))
            articles.extend(found)
            replaces.update(document.replaces)
        articles = list({a.id: a for a in articles}.values())  # same story twice: once
        stored = self.store.stored_metadata([a.id for a in articles])
        if self.stories is not None and len(stored) < len(articles):
            self.stories.sync(self.store)
        pending = []
        chunking = progress_bar(len(articles), "chunking", "articles", progress)
        for article in track(articles, chunking):
            if article.id in stored:
                report.unchanged.append(article)
                self._correct(article, stored[article.id], report)
                continue
            if self.stories is not None:
                article = self.stories.assign(article)
            try:
                pending.append(_Pending(article, chunk_article(
                    article, self.settings.chunk_tokens, self.settings.chunk_overlap,
                    self.settings.max_article_chars)))
            except Exception as error:
                title = f"article {article.title!r}: " if article.title else ""
                report.skipped.append((article.path or article.filename or "(upload)",
                                       title + _failure(error)))
                if article.path:
                    report.failed_paths.add(article.path)
        self._embed_and_store(pending, report, progress)
        produced = {a.id for a in articles}
        by_url = self.store.article_ids_by_url(
            sorted({u for p in pending if (u := canonical_url(p.article.url))}))
        replaces.update(i for ids in by_url.values() for i in ids)
        self._remove(sorted(replaces - produced), report)
        return report

    @property
    def repair_grace_seconds(self) -> float:
        """Orphans younger than this may be another process's write in flight: only on a
        shared Chroma server; an embedded store has one writer (`rag.ownership`)."""
        return REPAIR_GRACE_SECONDS if self.settings.chroma_url else 0.0

    def plan_removals(self, paths: Sequence[Path], documents: Sequence[Document],
                      report: IngestReport) -> Plan:
        """What the files read by `ingest_paths` replace, and which stored articles' files are
        gone (see `index.reconcile.plan`)."""
        added = {a.id: a for a in report.added if a.path}
        produced = {a.id for a in report.added + report.unchanged}

        def text_of(article_id: str) -> str:
            if article_id in added:
                return added[article_id].text
            return self.store.get_article(article_id).text

        read = {d.path for d in documents if d.path and d.path not in report.failed_paths}
        return plan([canonical_path(p) for p in paths], read, produced,
                    {i: a.path for i, a in added.items()}, self.store.article_paths(), text_of)

    def _remove(self, article_ids: Iterable[str], report: IngestReport) -> None:
        for article_id in article_ids:
            if (chunks := self._delete(article_id)) is not None:
                report.chunks_removed += chunks
                report.removed.append(article_id)

    def _delete(self, article_id: str) -> int | None:
        """Delete a stored article: its chunk count, None when it is not stored."""
        return self.store.delete_article(article_id) if self.store.has_article(article_id) \
            else None

    def _correct(self, article: Article, stored: dict[str, Any], report: IngestReport) -> None:
        """Apply the metadata a new version of a stored article states differently."""
        changes = {name: value for name, value in _metadata(article).items()
                   if value is not None and value != stored.get(name)}
        if "path" in changes and not _moved(stored.get("path"), article.path):
            del changes["path"]  # a copy of a file that is still there: the first one stays
        if "url" in changes:
            changes["canonical_url"] = canonical_url(article.url)
        if changes:
            if "published" in changes:
                changes["published"] = article.published
            self.store.update_metadata(article.id, changes)
            report.updated.append((article, sorted(set(changes) - {"canonical_url"})))

    def articles_of(self, document: Document, report: IngestReport) -> list[Article]:
        """The articles a document holds, cleaned (a text may hold several); boilerplate
        removed is counted in `report`."""
        if document.kind == "record":
            text = _normalise(document.text)
            if not text:
                return []
            return [Article(id=article_id_for(text), text=text, title=document.title,
                            source=document.source, published=document.published,
                            url=document.url, author=document.author, path=document.path,
                            filename=document.filename)]
        # Never the file's name: an outlet the text does not name is inferred or unknown.
        inferred = infer_outlet(document.text, document.url)
        articles = []
        for cleaned in clean_text(document.text):
            report.boilerplate_lines_removed += cleaned.removed_lines
            if not cleaned.text.strip():
                continue
            articles.append(Article(
                id=article_id_for(cleaned.text), text=cleaned.text,
                title=document.title or cleaned.title,
                source=document.source or cleaned.source or inferred,
                published=document.published or cleaned.published,
                url=document.url, author=document.author or cleaned.author, path=document.path,
                filename=document.filename, raw_text=cleaned.raw_text,
            ))
        return articles

    def _embed_and_store(self, pending: list[_Pending], report: IngestReport,
                         progress: bool) -> None:
        total = sum(len(p.chunks) for p in pending)
        group_size = self.settings.embed_batch_size * GROUP_BATCHES
        with progress_bar(total, "embedding", "chunks", progress) as bar:
            group: list[_Pending] = []
            for item in pending:
                group.append(item)
                if sum(len(p.chunks) for p in group) >= group_size:
                    self._store_group(group, report, bar)
                    group = []
            if group:
                self._store_group(group, report, bar)

    def _store_group(self, group: list[_Pending], report: IngestReport, bar: Progress) -> None:
        """Embed a few articles' chunks in one call (batching), then commit them in one write.

        `Store.add_articles` writes the group's chunks, then its records, in two Chroma upserts
        instead of two an article. A crash in between leaves at most this group's chunks
        without records: never searched, swept by `Store.repair`.
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


def _failure(error: Exception) -> str:
    """One line saying why a file or an article failed: our own errors' messages as they are,
    any other error's type too (a library's message may span lines)."""
    if isinstance(error, ValueError) and type(error).__module__.startswith("index."):
        return str(error)
    message = " ".join(str(error).split())
    return f"{type(error).__name__}: {message[:300]}" if message else type(error).__name__


def _normalise(text: str) -> str:
    """Whitespace of a structured record's body: trimmed lines, single blank lines between."""
    text = text.replace("\r\n", "\n").replace("\u00a0", " ")
    lines = [line.rstrip() for line in text.split("\n")]
    return _BLANK_RUN.sub("\n\n", "\n".join(lines)).strip()


def apply_plan(removals: Plan, delete: Callable[[str], int | None], report: IngestReport,
               prune: bool) -> None:
    """Remove what a run replaces (`index.reconcile.plan`), and the articles of gone files when
    pruning. `delete(id)` removes an article and returns its chunk count (None when it was
    gone already): the store's, or a running server's (`api.remote`)."""
    for article_id in removals.stale + [old for old, _ in removals.renamed]:
        if (chunks := delete(article_id)) is not None:
            report.removed.append(article_id)
            report.chunks_removed += chunks
    report.missing.extend(removals.missing)
    if prune:
        for _, article_id in removals.missing:
            if (chunks := delete(article_id)) is not None:
                report.pruned.append(article_id)
                report.chunks_removed += chunks


def read_documents(paths: Iterable[Path], report: IngestReport, max_bytes: int,
                   progress: bool = False) -> list[Document]:
    """Every supported file under `paths` (at most `max_bytes` each) read into documents, each
    carrying its file's canonical path (its identity); what cannot be read goes to
    `report.skipped` with the reason."""
    documents: list[Document] = []
    reading = progress_bar(None, "reading", "files", progress)
    for path, problem in track(iter_files(paths), reading):
        if problem:
            report.skipped.append((str(path), problem))
            continue
        try:
            read = read_file(path, report.skipped, max_bytes=max_bytes)
        except UnreadableFile as error:
            report.skipped.append((str(path), str(error)))
            continue
        except Exception as error:  # a reader's failure is this file's alone
            report.skipped.append((str(path), f"cannot be read: {_failure(error)}"))
            continue
        real = canonical_path(path)
        documents.extend(replace(d, path=real) for d in read)
    return documents


def _metadata(article: Article) -> dict[str, Any]:
    """An article's correctable metadata as the store records it."""
    published = article.published.isoformat() if isinstance(article.published, dt.date) else None
    return {"title": article.title, "source": article.source, "published": published,
            "url": article.url, "author": article.author, "path": article.path}


def _moved(recorded: str | None, path: str | None) -> bool:
    """Whether an article recorded under `recorded` is now to be recorded under `path`: it had
    no file, its file is gone, or `recorded` is another spelling of `path`."""
    if not recorded or not path:
        return True
    canonical = recorded_path(recorded)
    return canonical is None or canonical == path or not Path(canonical).exists()
