"""Articles and their chunks in Chroma, written, read and searched (with `rag.blobs`, for bytes
nothing searches, `rag.article_records` and `rag.pending_reads`, for gets answered later, the
only code that talks to Chroma). Chunks, article records (the commit marker) and the revision
and edit tokens live in three collections sharing a prefix (docs/operations.md, "How search
follows the shared store", "Crash safety"); feed subscriptions in a fourth; article texts,
chunk layouts (`rag.layouts`), MinHash signatures and chunks' sentence vectors in `rag.blobs`
stores (a chunk's text is its article's `text[start:end]`).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import time
import uuid
import zlib
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import chromadb
import numpy as np
from chromadb.config import Settings as ChromaSettings

from rag import layouts
from rag.article_records import ArticleRecords
from rag.blobs import Blobs, ChromaBlobs, SqliteBlobs
from rag.config import Settings
from rag.errors import NewsragError
from rag.layouts import ChunkLayout, Layout
from rag.pending_reads import LaterGets
from rag.schemas import Article, Chunk, Filters
from rag.sentence_vectors import pack, unpack
from rag.stored_sentences import PackedCache
from rag.urls import canonical_url

# Chroma rejects larger batches; 5,000 stays well under its limit on every backend.
WRITE_BATCH = 5000
READ_PAGE = 5000
# A page of ids alone: Chroma reads a page at an offset in time growing with the offset, so
# fewer, larger pages list every id sooner (docs/benchmarks.md, "Asks after a restart").
IDS_PAGE = 100_000
# Articles whose chunks one read asks for (an `$in` filter; a few thousand chunks a read).
ARTICLES_A_READ = 500
HNSW = {"hnsw": {"space": "cosine", "ef_search": 100, "ef_construction": 100}}
REVISION_ID = "revision"
EDIT_PREFIX = "edit:"
# Article metadata a correction may change in place, and what each chunk repeats of it (what
# the filters of a dense search read; a chunk's title and url are read from its article's).
EDITABLE = ("title", "source", "published", "url", "canonical_url", "author", "path")
CHUNK_COPIES = ("source", "published")
ARTICLE_FIELDS = ("title", "url", "published")
# Chunk metadata an earlier release wrote that nothing filters on: read from there for an
# article without a layout blob (`rag.layouts`), emptied by `move_layouts`. "published" is the
# article's (its day ordinal, which the filters read, stays on the chunk).
LEGACY_CHUNK_KEYS = ("ordinal", "start", "end", "sentences", "speakers", "statements",
                     "written_at", "published")
# The article metadata key that held its MinHash signature before signatures had a store.
LEGACY_SIGNATURE = "signature"
# The chunk metadata key that held its sentence vectors (base64) before they had a store of
# their own: copied into it when a snapshot reads them, and emptied by `move_sentence_vectors`.
LEGACY_SENTENCE_VECTORS = "sentence_vectors"
# Chunks whose packed sentence vectors a store keeps in memory by default (`RAG_SENTENCE_CACHE`).
SENTENCE_CACHE: int = Settings.model_fields["sentence_cache"].default


@dataclass(frozen=True)
class ArticleFacets:
    """What the stored articles offer to filter by: outlets with their article counts, and the
    first and last publication dates."""

    outlets: dict[str, int]
    first_published: dt.date | None
    last_published: dt.date | None


# Article metadata a listing leaves out: the text before cleaning, the MinHash signature.
_NOT_LISTED = frozenset({"raw_text", "signature"})


class ArticleNotFound(NewsragError, LookupError):
    """No article with that id is stored."""

    code = "document_not_found"
    status = 404

    def __init__(self, article_id: str) -> None:
        super().__init__(f"no document with id {article_id}")
        self.article_id = article_id


def connect(settings: Settings) -> chromadb.ClientAPI:
    """An embedded `PersistentClient` under `data_dir`, or an `HttpClient` for `chroma_url`."""
    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_url:
        url = urlparse(settings.chroma_url)
        return chromadb.HttpClient(
            host=url.hostname or "127.0.0.1",
            port=url.port or (443 if url.scheme == "https" else 8000),
            ssl=url.scheme == "https",
            settings=chroma_settings,
        )
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(settings.data_dir / "chroma"),
                                     settings=chroma_settings)


class Store:
    """Articles and chunks in Chroma, with the metadata filters retrieval needs."""

    def __init__(self, client: chromadb.ClientAPI, prefix: str = "news",
                 sentences: Blobs | None = None, texts: Blobs | None = None,
                 sentence_cache: int = SENTENCE_CACHE, layouts: Blobs | None = None,
                 signatures: Blobs | None = None) -> None:
        """`sentences`, `texts`, `layouts`, `signatures`: where chunks' sentence vectors,
        articles' texts, articles' chunk layouts (`rag.layouts`) and articles' MinHash
        signatures are kept (by default collections of this client's, `<prefix>_sentences`,
        `<prefix>_texts`, `<prefix>_layouts`, `<prefix>_signatures`); `sentence_cache`: how
        many chunks' sentence vectors `packed_sentences` keeps."""
        self._client = client
        # embedding_function=None: we always pass vectors, and Chroma's default function would
        # download a model.
        self._chunks = client.get_or_create_collection(
            f"{prefix}_chunks", configuration=HNSW, embedding_function=None
        )
        # Never searched by vector: a 1-d constant each, or for an earlier release's
        # collection, until `rag migrate` moves it, the mean direction of the article's chunks.
        self._articles = ArticleRecords(client, prefix)
        # One record, never searched; Chroma wants a vector for it, so it gets a 1-d one.
        self._meta = client.get_or_create_collection(f"{prefix}_meta", embedding_function=None)
        self._prefix = prefix
        self._feed_collection: chromadb.Collection | None = None
        self.generation = 0  # bumped on every write in this process; the lexical index follows
        # True while no orphan can be in the store: set by a sweep (or `assume_swept`) when this
        # handle is the store's one writer (`sole_writer`: an embedded store), cleared while one
        # of its own writes is under way.
        self.sole_writer = False
        self._swept = False
        # Every article id, in the order stored, kept by the store's one writer once read, and
        # the revision token they were read at (`article_ids`); None when not read yet, or
        # while a write is under way.
        self._ids: dict[str, None] | None = None
        self._ids_at = ""
        self.sentences = sentences or ChromaBlobs(client, f"{prefix}_sentences")
        self.texts = texts or ChromaBlobs(client, f"{prefix}_texts")
        self.layouts = layouts or ChromaBlobs(client, f"{prefix}_layouts")
        self.signatures = signatures or ChromaBlobs(client, f"{prefix}_signatures")
        self.sentence_cache = PackedCache(self.sentences.get, sentence_cache,
                                          self.sentences.get_later)
        # `existing_ids_later`'s requests (to the records' collection, wherever it moved).
        self._article_gets = LaterGets(client, lambda: self._articles.collection, READ_PAGE)

    @property
    def identity(self) -> str:
        """What tells this store from another kept at the same place (its chunk collection's
        id: a store deleted and created anew gets a new one)."""
        return str(self._chunks.id)

    @classmethod
    def open(cls, settings: Settings) -> Store:
        """The configured store: on a Chroma server with texts, layouts, signatures and
        sentence vectors in collections beside the chunks; embedded with them in
        `blob_path(settings)`."""
        client = connect(settings)
        if settings.chroma_url:
            return cls(client, settings.collection, sentence_cache=settings.sentence_cache)
        path = blob_path(settings)
        store = cls(client, settings.collection, SqliteBlobs(path, "sentence_vectors"),
                    SqliteBlobs(path, "article_texts"), settings.sentence_cache,
                    SqliteBlobs(path, "chunk_layouts"), SqliteBlobs(path, "article_signatures"))
        store.sole_writer = True  # one process's (rag/ownership.py)
        return store

    # ---- writes -------------------------------------------------------------------------

    def add_article(self, article: Article, chunks: list[Chunk], vectors: np.ndarray) -> None:
        """Store an article's chunks, then its record (the commit marker)."""
        self.add_articles([(article, chunks, vectors)])

    def add_articles(self, batch: list[tuple[Article, list[Chunk], np.ndarray]],
                     sentences: Sequence[np.ndarray] | None = None) -> None:
        """Store several articles: all their chunks, then all their records.

        Records still come after every chunk they vouch for, so each article is whole or
        absent; writing a group in two Chroma calls instead of two per article is what makes
        ingestion and the benchmark stores fast. `sentences`: each
        chunk's sentence vectors, in the order of the batch's chunks (`rag.sentence_vectors`),
        kept beside the chunks (`rag.blobs`).
        """
        if not batch:
            return
        if any(len(chunks) != len(vectors) for _, chunks, vectors in batch):
            raise ValueError("one vector per chunk")
        chunks = [c for _, article_chunks, _ in batch for c in article_chunks]
        swept = self._swept  # a write that stops halfway leaves orphans: not swept then
        known, self._ids = self._ids, None  # and leaves the ids to be read again
        self.texts.put([(article.id, _compressed(article.text)) for article, _, _ in batch])
        self.signatures.put([(article.id, _signature_bytes(article.signature))
                             for article, _, _ in batch if article.signature])
        self.write_chunks(chunks, np.concatenate([v for _, _, v in batch]), sentences)
        for begin in range(0, len(batch), WRITE_BATCH):
            part = batch[begin : begin + WRITE_BATCH]
            self._articles.put(ids=[article.id for article, _, _ in part],
                               metadatas=[_article_metadata(a, len(c)) for a, c, _ in part],
                               chunk_vectors=[v for _, _, v in part])
        self._swept = swept
        token = self._changed()
        if known is not None:
            known.update(dict.fromkeys(article.id for article, _, _ in batch))
            self._ids, self._ids_at = known, token

    def write_chunks(self, chunks: Sequence[Chunk], vectors: np.ndarray,
                     sentences: Sequence[np.ndarray] | None = None) -> None:
        """The first half of `add_articles`: chunks with their vectors (and sentence vectors),
        never searched until their article records are written; `repair` sweeps them if that
        never happens. `chunks` holds every chunk of each of their articles (an article's
        layout is written whole). The layouts and sentence vectors are written first, so a
        chunk is never read without them. Raises `ValueError` when the counts disagree."""
        if len(vectors) != len(chunks):
            raise ValueError("one vector per chunk")
        if sentences is not None and len(sentences) != len(chunks):
            raise ValueError("one set of sentence vectors per chunk")
        self._swept = False  # chunks without their records until `add_articles` writes them
        self.sentence_cache.forget([c.id for c in chunks])
        by_article: dict[str, list[tuple[int, ChunkLayout]]] = {}
        for c in chunks:
            by_article.setdefault(c.article_id, []).append((c.ordinal, layouts.layout_of(c)))
        written = time.time()  # lets repair() tell a write in flight from a crashed one
        self.layouts.put([(a, layouts.pack(rows, written)) for a, rows in by_article.items()])
        if sentences is not None:
            self.sentences.put([(c.id, pack(s)) for c, s in zip(chunks, sentences, strict=True)])
        for begin in range(0, len(chunks), WRITE_BATCH):
            end = begin + WRITE_BATCH
            self._chunks.upsert(
                ids=[c.id for c in chunks[begin:end]],
                embeddings=vectors[begin:end],
                metadatas=[_chunk_metadata(c) for c in chunks[begin:end]],
            )

    def delete_article(self, article_id: str) -> int:
        """Remove an article and every chunk of it; returns the number of chunks removed."""
        if not self.has_article(article_id):
            raise ArticleNotFound(article_id)
        swept, self._swept = self._swept, False  # the record goes first: orphans until done
        known, self._ids = self._ids, None
        self._articles.delete(ids=[article_id])
        removed = self._delete_chunks_of(article_id)
        self.signatures.delete([article_id])
        self.texts.delete([article_id])  # the last of its blobs (see `_sweep`)
        self._meta.delete(ids=[EDIT_PREFIX + article_id])
        self._swept = swept
        token = self._changed()
        if known is not None:
            known.pop(article_id, None)
            self._ids, self._ids_at = known, token
        return removed

    def update_metadata(self, article_id: str, changes: dict[str, Any]) -> None:
        """Correct a stored article's metadata (fields of `EDITABLE`; None removes one) without
        re-embedding it: its record and each of its chunks are updated in place.

        Search snapshots hold chunk metadata too; the article's `edit:` record gets a new token,
        so every process's next refresh re-reads that article (`edits()`). Raises
        `ArticleNotFound`, and `ValueError` for a field that cannot be changed.
        """
        unknown = set(changes) - set(EDITABLE)
        if unknown:
            raise ValueError(f"not editable: {', '.join(sorted(unknown))}")
        count = int(self.article_metadata(article_id).get("chunks", 0))
        record = _dated(changes)
        copied = _dated({k: v for k, v in changes.items() if k in CHUNK_COPIES})
        if "published" in copied:  # a chunk's is read from its article (a legacy copy goes)
            copied["published"] = None
        if copied:
            # Chunk ids are `<article id>:<ordinal>` (index/chunk.py), so none is looked up.
            ids = [f"{article_id}:{n}" for n in range(count)]
            for begin in range(0, len(ids), WRITE_BATCH):
                part = ids[begin : begin + WRITE_BATCH]
                self._chunks.update(ids=part, metadatas=[copied] * len(part))
        self._articles.update(ids=[article_id], metadatas=[record])
        self._meta.upsert(ids=[EDIT_PREFIX + article_id], embeddings=[[1.0]],
                          metadatas=[{"kind": "edit", "token": uuid.uuid4().hex}])
        self._changed()

    def edits(self) -> dict[str, str]:
        """Each article corrected in place since it was stored, with its latest correction's
        token: a snapshot re-reads the articles whose token differs from the one it holds."""
        found: dict[str, str] = {}
        for page in _pages(self._meta, ["metadatas"], where={"kind": "edit"}):
            found.update((i.removeprefix(EDIT_PREFIX), str(m.get("token", "")))
                         for i, m in zip(page["ids"], page["metadatas"], strict=True))
        return found

    # ---- feed subscriptions ------------------------------------------------------------

    @property
    def _feeds(self) -> chromadb.Collection:
        """`<prefix>_feeds`: one record a subscription, its fields as metadata (never
        searched: a 1-d vector, as `_meta`'s). Opened on first use."""
        if self._feed_collection is None:
            self._feed_collection = self._client.get_or_create_collection(
                f"{self._prefix}_feeds", embedding_function=None)
        return self._feed_collection

    def put_feed(self, feed_id: str, fields: dict[str, Any]) -> None:
        """Write a subscription's record whole (None values are left out)."""
        self._feeds.upsert(ids=[feed_id], embeddings=[[1.0]],
                           metadatas=[_without_none(fields)])

    def feed(self, feed_id: str) -> dict[str, Any] | None:
        """A subscription's fields, or None when there is none with that id."""
        got = self._feeds.get(ids=[feed_id], include=["metadatas"])
        return {**got["metadatas"][0], "id": feed_id} if got["ids"] else None

    def feeds(self) -> list[dict[str, Any]]:
        """Every subscription's fields, oldest first."""
        found = [{**m, "id": i} for page in _pages(self._feeds, ["metadatas"])
                 for i, m in zip(page["ids"], page["metadatas"], strict=True)]
        return sorted(found, key=lambda f: (str(f.get("added", "")), f["id"]))

    def feed_count(self) -> int:
        return self._feeds.count()

    def delete_feed(self, feed_id: str) -> bool:
        """Remove a subscription (its articles stay); False when there was none."""
        if self.feed(feed_id) is None:
            return False
        self._feeds.delete(ids=[feed_id])
        return True

    def _changed(self) -> str:
        """Record a write: for this process (`generation`) and for every other (`revision`);
        returns the new revision token.

        The token is random rather than a counter: Chroma has no atomic increment, and two
        writers replacing it at once must still leave a value that differs from the old one.
        """
        self.generation += 1
        token = uuid.uuid4().hex
        self._meta.upsert(ids=[REVISION_ID], embeddings=[[1.0]],
                          metadatas=[{"token": token, "at": time.time()}])
        return token

    def _token(self) -> str:
        got = self._meta.get(ids=[REVISION_ID], include=["metadatas"])
        return str(got["metadatas"][0].get("token", "")) if got["ids"] else ""

    def revision(self) -> tuple[str, int, int]:
        """A fingerprint of the store's content, cheap to read (three small round trips).

        It changes after every write by any process: the revision token, plus the article and
        chunk counts (which also catch a writer killed between its write and the token).
        """
        return self._token(), self._articles.count(), self._chunks.count()

    def revision_since(self, known: tuple[str, int, int] | None) -> tuple[str, int, int]:
        """The store's `revision()`, or `known` itself when this is a sole writer's store and
        its token is still `known`'s: there every write of every handle changes the token, and
        no other process can leave a write without it, so the counts (a scan of each
        collection) are not read."""
        if known is not None and self.sole_writer and self._token() == known[0]:
            return known
        return self.revision()

    def _delete_chunks_of(self, article_id: str) -> int:
        ids = self._chunks.get(where={"article_id": article_id}, include=[])["ids"]
        if ids:
            self._chunks.delete(ids=ids)
            self.sentences.delete(ids)
            self.sentence_cache.forget(ids)
        self.layouts.delete([article_id])
        return len(ids)

    def repair(self, grace_seconds: float = 0.0) -> int:
        """Delete chunks whose article record is missing (an interrupted write); returns count.

        With `grace_seconds`, orphans written more recently than that are left alone: on a
        shared server they may belong to another process's write still in flight (its record
        comes next). Orphans are invisible to search meanwhile (see `committed_pages`). The
        store's one writer skips the sweep, which reads every article record, when it swept
        since its last write that stopped halfway.
        """
        if self.sole_writer and self._swept:
            return 0
        removed = self._sweep(grace_seconds)
        self._swept = self.sole_writer and not grace_seconds
        return removed

    def assume_swept(self) -> None:
        """Take it as known that the store holds no orphan (a snapshot saved for its revision
        held every chunk: `rag.snapshot.holds_every_chunk`)."""
        self._swept = self.sole_writer

    def _sweep(self, grace_seconds: float) -> int:
        records = self.article_chunk_counts()
        committed = set(records)
        if not grace_seconds:
            # Texts and sentence vectors are written before their chunks and records: a write
            # killed in between leaves some that no committed article has.
            if self.sentences.count() > sum(records.values()):
                self.sentences.delete([i for i in self.sentences.ids()
                                       if _article_of(i) not in committed])
            # An article's text is written first and deleted last of its blobs, so without
            # a text no committed article has, no layout or signature is left over either.
            if self.texts.count() > len(records):
                for blobs in (self.texts, self.layouts, self.signatures):
                    blobs.delete([i for i in blobs.ids() if i not in committed])
        # Records are written after their chunks and deleted before them, so when the chunk
        # count equals what the records vouch for there is no orphan: skip the sweep, which
        # pages through every chunk's metadata (most of a re-index's time, docs/benchmarks.md).
        if sum(records.values()) == self._chunks.count():
            return 0
        cutoff = time.time() - grace_seconds
        newest: dict[str, float] = {}
        for meta in self._iter_chunk_metadata():
            if meta["article_id"] not in committed:
                written = float(meta.get("written_at", 0.0))
                newest[meta["article_id"]] = max(newest.get(meta["article_id"], 0.0), written)
        for article_id, layout in self._layouts(sorted(newest)).items():
            newest[article_id] = max(newest[article_id], layout.written_at)
        stale = [a for a, written in newest.items() if written <= cutoff]
        removed = sum(self._delete_chunks_of(a) for a in stale)
        if removed:
            self._changed()
        return removed

    def article_chunk_counts(self, article_ids: list[str] | None = None) -> dict[str, int]:
        """Each committed article's id (every one, or those of `article_ids` that are
        committed) with the chunk count its record states.

        Reading metadata is what costs here (far more than ids), so callers that know which
        articles they need name them.
        """
        if article_ids is None:
            pages = self._all_article_pages()
        else:
            pages = (self._articles.get(ids=article_ids[begin : begin + READ_PAGE],
                                        include=["metadatas"])
                     for begin in range(0, len(article_ids), READ_PAGE))
        counts: dict[str, int] = {}
        for page in pages:
            counts.update((i, int(m.get("chunks", 0)))
                          for i, m in zip(page["ids"], page["metadatas"], strict=True))
        return counts

    def _all_article_pages(self) -> Iterator[dict]:
        return _pages(self._articles, ["metadatas"])

    # ---- reads --------------------------------------------------------------------------

    def existing_ids(self, article_ids: list[str]) -> set[str]:
        """Which of these article ids are stored (one round trip for a whole batch)."""
        found: set[str] = set()
        for begin in range(0, len(article_ids), READ_PAGE):
            batch = article_ids[begin : begin + READ_PAGE]
            found.update(self._articles.get(ids=batch, include=[])["ids"])
        return found

    def existing_ids_later(self, article_ids: list[str]) -> Callable[[], set[str]]:
        """`existing_ids`, the question sent now and its answer read by the returned function,
        so that several servers can be asked at once from one thread (rag/router.py). On a
        Chroma server the request goes out over a connection of its own
        (`rag.pending_reads.LaterGets`); one that cannot be sent or answered is asked again
        through Chroma's client, which raises what it raises. An embedded store answers at
        once."""
        asked = set(article_ids)
        return self._article_gets.later(article_ids, [], lambda got: asked.intersection(got["ids"]),
                                        lambda: self.existing_ids(article_ids))

    def has_article(self, article_id: str) -> bool:
        return bool(self._articles.get(ids=[article_id], include=[])["ids"])

    def get_article(self, article_id: str) -> Article:
        got = self._articles.get(ids=[article_id], include=["documents", "metadatas"])
        if not got["ids"]:
            raise ArticleNotFound(article_id)
        text = self._texts_of([article_id], got["documents"]).get(article_id, "")
        return _article_from(article_id, text, got["metadatas"][0])

    def article_texts(self, article_ids: list[str]) -> dict[str, str]:
        """The cleaned text of those of these articles that are stored, a page a read."""
        found: dict[str, str] = {}
        for begin in range(0, len(article_ids), ARTICLES_A_READ):
            got = self._articles.get(ids=article_ids[begin : begin + ARTICLES_A_READ],
                                     include=["documents"])
            found.update(self._texts_of(got["ids"], got["documents"]))
        return found

    def _texts_of(self, article_ids: Sequence[str], documents: Sequence[str | None] | None
                  ) -> dict[str, str]:
        """These stored articles' texts: from the text store, or for an article written
        before it, its record's document (`documents`, in the order of `article_ids`)."""
        held = self.texts.get(article_ids)
        documents = documents or [None] * len(article_ids)
        return {a: _decompressed(held[a]) if a in held else (d or "")
                for a, d in zip(article_ids, documents, strict=True)}

    def _chunks_from(self, ids: Sequence[str], documents: Sequence[str | None] | None,
                     metadatas: Sequence[Any]) -> list[Chunk]:
        """Chunks from what Chroma gave back of them: their layouts read from their articles'
        layout blobs (or, for an article written before those, from the chunks' metadata), the
        texts cut from their articles', the title, url and date read from their article
        records (which win over the copies chunks written by earlier releases carry)."""
        wanted = sorted({str(m["article_id"]) for m in metadatas})
        held = self._layouts(wanted)
        shapes = [_chunk_layout(i, m, held.get(str(m["article_id"])))
                  for i, m in zip(ids, metadatas, strict=True)]
        texts = self._chunk_texts(metadatas, documents, [shape for _, shape in shapes])
        articles = {a: {k: m[k] for k in ARTICLE_FIELDS if m.get(k) is not None}
                    for a, m in self.stored_metadata(wanted).items()}
        return [_chunk_from(i, t, {**m, **articles.get(str(m["article_id"]), {})}, *shape)
                for i, t, m, shape in zip(ids, texts, metadatas, shapes, strict=True)]

    def _layouts(self, article_ids: Sequence[str]) -> dict[str, Layout]:
        """The chunk layouts of those of these articles that have a layout blob."""
        return {a: layouts.unpack(b) for a, b in self.layouts.get(article_ids).items()}

    def _chunk_texts(self, metadatas: Sequence[Any], documents: Sequence[str | None] | None,
                     shapes: Sequence[ChunkLayout]) -> list[str]:
        """Each chunk's text: its article's text from its layout's `start` to `end`, or for a
        chunk written before the text store, its document."""
        documents = documents or [None] * len(metadatas)
        wanted = sorted({str(m["article_id"]) for m, d in zip(metadatas, documents, strict=True)
                         if not d})
        held = {a: _decompressed(b) for a, b in self.texts.get(wanted).items()} if wanted else {}
        return [d or held.get(str(m["article_id"]), "")[shape.start:shape.end]
                for m, d, shape in zip(metadatas, documents, shapes, strict=True)]

    def article_signatures(self, article_ids: list[str]) -> dict[str, str]:
        """The MinHash signatures (`index.stories.pack`) of those of these articles stored
        with one: from the signature store or, for an article written before it, from its
        record's metadata."""
        found = {a: _signature_text(b) for a, b in self.signatures.get(article_ids).items()}
        missing = [a for a in article_ids if a not in found]
        if missing:
            found.update((a, str(m[LEGACY_SIGNATURE])) for a, m in
                         self.stored_metadata(missing).items() if m.get(LEGACY_SIGNATURE))
        return found

    def article_metadata(self, article_id: str) -> dict[str, Any]:
        got = self._articles.get(ids=[article_id], include=["metadatas"])
        if not got["ids"]:
            raise ArticleNotFound(article_id)
        return dict(got["metadatas"][0])

    def article_ids(self, path: str | None = None) -> list[str]:
        """Every stored article id, or those ingested from one file path. The store's one
        writer reads every id once and keeps them up to date with its own writes; they are
        read again when the revision token shows a write by another handle."""
        where = {"path": path} if path is not None else None
        if path is not None or not self.sole_writer:
            return [i for page in _pages(self._articles, [], where=where) for i in page["ids"]]
        token, known = self._token(), self._ids
        if known is not None and token == self._ids_at:
            return list(known)
        ids = [i for page in _pages(self._articles, [], where=where) for i in page["ids"]]
        self._ids, self._ids_at = dict.fromkeys(ids), token
        return ids

    def article_ids_by_url(self, canonical_urls: list[str]) -> dict[str, list[str]]:
        """The stored articles of each of these canonical URLs (none: left out)."""
        found: dict[str, list[str]] = {}
        for begin in range(0, len(canonical_urls), READ_PAGE):
            batch = canonical_urls[begin : begin + READ_PAGE]
            got = self._articles.get(where={"canonical_url": {"$in": batch}},
                                     include=["metadatas"])
            for article_id, meta in zip(got["ids"], got["metadatas"], strict=True):
                found.setdefault(str(meta["canonical_url"]), []).append(article_id)
        return found

    def story_carriers(self, story_id: str) -> list[dict[str, Any]]:
        """Every stored article of a story (its copies; the first copy's id is the story's
        own, stored with a `story_id` or, stored before stories were kept, without), each as
        its metadata with its id, earliest published first (the undated last)."""
        got = self._articles.get(where={"story_id": story_id}, include=["metadatas"])
        rows = {i: dict(m) for i, m in zip(got["ids"], got["metadatas"], strict=True)}
        if story_id not in rows and (first := self.stored_metadata([story_id])):
            rows.update(first)
        found = [{**{k: v for k, v in m.items() if k not in _NOT_LISTED}, "id": i}
                 for i, m in rows.items()]
        return sorted(found, key=lambda m: (str(m.get("published") or "9999"),
                                            m["id"] != story_id, m["id"]))

    def article_paths(self) -> dict[str, str]:
        """Every article stored from a file, with that file's path as it was recorded."""
        paths: dict[str, str] = {}
        for page in self._all_article_pages():
            paths.update((i, str(m["path"])) for i, m in
                         zip(page["ids"], page["metadatas"], strict=True) if m.get("path"))
        return paths

    def stored_metadata(self, article_ids: list[str]) -> dict[str, dict[str, Any]]:
        """The metadata of those of these articles that are stored."""
        found: dict[str, dict[str, Any]] = {}
        for begin in range(0, len(article_ids), READ_PAGE):
            got = self._articles.get(ids=article_ids[begin : begin + READ_PAGE],
                                     include=["metadatas"])
            found.update((i, dict(m)) for i, m in
                         zip(got["ids"], got["metadatas"], strict=True))
        return found

    def list_articles(self, offset: int = 0, limit: int = 100) -> tuple[list[dict], int]:
        """A page of article summaries (metadata without text), and the total count."""
        page = self._articles.get(include=["metadatas"], limit=limit, offset=offset)
        rows = [{"id": i, **{k: v for k, v in m.items() if k not in _NOT_LISTED}}
                for i, m in zip(page["ids"], page["metadatas"], strict=True)]
        return rows, self._articles.count()

    def article_count(self) -> int:
        return self._articles.count()

    def facets(self) -> ArticleFacets:
        """Every outlet with its article count, and the span of publication dates, over all
        stored articles (reads every article's metadata)."""
        outlets: Counter[str] = Counter()
        dates: list[dt.date] = []
        for page in self._all_article_pages():
            for meta in page["metadatas"]:
                if meta.get("source"):
                    outlets[str(meta["source"])] += 1
                if meta.get("published"):
                    dates.append(dt.date.fromisoformat(str(meta["published"])[:10]))
        return ArticleFacets(outlets=dict(outlets), first_published=min(dates, default=None),
                             last_published=max(dates, default=None))

    def chunk_count(self) -> int:
        return self._chunks.count()

    def chunks_of(self, article_id: str) -> list[Chunk]:
        got = self._chunks.get(where={"article_id": article_id},
                               include=["documents", "metadatas"])
        chunks = self._chunks_from(got["ids"], got["documents"], got["metadatas"])
        return sorted(chunks, key=lambda c: c.ordinal)

    def iter_chunks(self) -> Iterator[Chunk]:
        """Every stored chunk, paged."""
        for page in _pages(self._chunks, ["documents", "metadatas"]):
            yield from self._chunks_from(page["ids"], page["documents"], page["metadatas"])

    def committed_pages(self) -> Iterator[tuple[list[Chunk], np.ndarray]]:
        """Every chunk of a committed article with its vector, a page at a time: what the
        search snapshot is built from (`rag.snapshot`), without every chunk in memory at once.
        Sentence vectors are not read (`packed_sentences` reads a question's).

        The committed article ids are read first (ids only), then their chunks by article,
        so chunks whose article record is missing (a write in flight or interrupted) are never
        read, and no read pages past an offset (which Chroma answers in time growing with the
        offset). An article added meanwhile is skipped (its write changes `revision()`, so the
        next refresh picks it up); one deleted meanwhile may be read in part, which is
        harmless: search checks its results against the stored articles (`Retriever`), and
        the delete also changes `revision()`.
        """
        committed = self.article_ids()
        for begin in range(0, len(committed), ARTICLES_A_READ):
            chunks, vectors = self.committed_chunks(committed[begin : begin + ARTICLES_A_READ])
            if chunks:
                yield chunks, vectors

    def committed_chunks(self, article_ids: list[str], counts: Mapping[str, int] | None = None
                         ) -> tuple[list[Chunk], np.ndarray]:
        """The chunks of these committed articles with their vectors, article by article in
        the given order, each article's in reading order: what a snapshot is built from.

        Read by a filter on their article id; with `counts` (the chunk count each article
        record states), by chunk id (`<article id>:<ordinal>`) instead, which Chroma answers
        in time that does not grow with the store, and by the filter only for an article
        whose chunks are not all found so (docs/benchmarks.md, "Costs beside the asks").
        Sentence vectors an earlier release kept in a chunk's metadata are copied into the
        sentence store on the way (`packed_sentences` reads only that; `rag migrate` empties
        the metadata)."""
        by_article: dict[str, list[tuple[Chunk, np.ndarray]]] = {a: [] for a in article_ids}
        for begin in range(0, len(article_ids), ARTICLES_A_READ):
            batch = article_ids[begin : begin + ARTICLES_A_READ]
            missing = batch
            if counts is not None:
                wanted = [f"{a}:{k}" for a in batch for k in range(counts.get(a, 0))]
                if wanted:
                    self._read_chunks(by_article, ids=wanted)
                missing = [a for a in batch if len(by_article[a]) != counts.get(a, 0)]
                for article_id in missing:
                    by_article[article_id] = []
            if missing:
                self._read_chunks(by_article, where={"article_id": {"$in": missing}})
        rows = [row for a in article_ids
                for row in sorted(by_article[a], key=lambda row: row[0].ordinal)]
        if not rows:
            return [], np.zeros((0, 0), dtype=np.float32)
        return [c for c, _ in rows], np.asarray([v for _, v in rows], dtype=np.float32)

    def _read_chunks(self, into: dict[str, list[tuple[Chunk, np.ndarray]]],
                     **selection: Any) -> None:
        """Add the chunks Chroma's `get` finds for `selection` (ids or a filter), with their
        vectors, to their articles' lists in `into`."""
        got = self._chunks.get(**selection, include=["documents", "metadatas", "embeddings"])
        legacy = [(i, packed) for i, m in zip(got["ids"], got["metadatas"], strict=True)
                  if (packed := _legacy_packed(m))]
        if legacy:
            self.sentences.put(legacy)
            self.sentence_cache.forget([i for i, _ in legacy])
        chunks = self._chunks_from(got["ids"], got["documents"], got["metadatas"])
        for chunk, vector in zip(chunks, got["embeddings"], strict=True):
            if chunk.article_id in into:
                into[chunk.article_id].append((chunk, vector))

    def packed_sentences(self, chunk_ids: Sequence[str]) -> dict[str, bytes]:
        """These chunks' packed sentence vectors (`rag.sentence_vectors.pack`) from the
        sentence store, the chunks read last kept in memory (`sentence_cache`); a chunk stored
        without them, or not stored (deleted since), is left out. Safe across threads."""
        return self.sentence_cache.get(chunk_ids)

    def packed_sentences_later(self, chunk_ids: Sequence[str]
                               ) -> Callable[[], dict[str, bytes]]:
        """`packed_sentences`, the chunks not in memory asked for now and the returned
        function giving the answer (several stores' reads then overlap: rag/router.py)."""
        return self.sentence_cache.get_later(chunk_ids)

    def holds_sentence_vectors(self) -> bool:
        """Whether the sentence store holds any chunk's sentence vectors (one row read)."""
        return self.sentences.holds_any()

    def _iter_chunk_metadata(self) -> Iterator[dict[str, Any]]:
        for page in _pages(self._chunks, ["metadatas"]):
            yield from page["metadatas"]

    def chunk_vectors(self, chunk_ids: list[str]) -> dict[str, np.ndarray]:
        if not chunk_ids:
            return {}
        got = self._chunks.get(ids=chunk_ids, include=["embeddings"])
        return {i: np.asarray(v, dtype=np.float32)
                for i, v in zip(got["ids"], got["embeddings"], strict=True)}

    def sentence_vectors(self, chunk_ids: list[str]) -> dict[str, np.ndarray | None]:
        """Each chunk's sentence vectors (float32, a row a sentence), None for a chunk stored
        without them."""
        if not chunk_ids:
            return {}
        got = self._chunks.get(ids=chunk_ids, include=["metadatas"])
        found: dict[str, np.ndarray | None] = {}
        for chunk_id, packed in zip(got["ids"], self._packed(got["ids"], got["metadatas"]),
                                    strict=True):
            codes, scales = unpack(packed) if packed else (None, None)
            found[chunk_id] = None if codes is None else codes * scales[:, None]
        return found

    def _packed(self, chunk_ids: Sequence[str], metadatas: Sequence[Any]
                ) -> list[bytes | None]:
        """Each of these chunks' packed sentence vectors (None: stored without), from the
        sentence store or, for a chunk written before it, from the chunk's metadata."""
        held = self.sentences.get(chunk_ids)
        return [held.get(i) or _legacy_packed(m) for i, m in
                zip(chunk_ids, metadatas, strict=True)]

    def move_sentence_vectors(self) -> int:
        """Move the sentence vectors that chunks written before the sentence store hold in
        their metadata into it, and empty that metadata; returns how many chunks were moved.
        Chunks of committed articles only, read by article (`_committed_chunk_pages`). Safe to
        stop and run again: a chunk keeps its metadata copy until its vectors are written to the
        sentence store."""
        legacy = [i for page in self._committed_chunk_pages(["metadatas"])
                  for i, m in zip(page["ids"], page["metadatas"], strict=True)
                  if m.get(LEGACY_SENTENCE_VECTORS)]
        moved = 0
        for begin in range(0, len(legacy), WRITE_BATCH):
            got = self._chunks.get(ids=legacy[begin : begin + WRITE_BATCH],
                                   include=["metadatas"])
            rows = [(i, packed) for i, m in zip(got["ids"], got["metadatas"], strict=True)
                    if (packed := _legacy_packed(m))]
            self.sentences.put(rows)
            self._chunks.update(ids=[i for i, _ in rows],
                                metadatas=[{LEGACY_SENTENCE_VECTORS: None}] * len(rows))
            moved += len(rows)
        return moved

    def move_texts(self) -> int:
        """Move the texts that records written before the text store hold as Chroma documents
        into it (articles), and empty those documents (articles and chunks, whose texts are
        their articles'; chunks of committed articles only); returns how many articles were
        moved. Safe to stop and run again: a document is emptied only once its article's text is
        in the text store."""
        moved = 0
        for collection in (self._articles, self._chunks):
            pages = (_pages(collection, ["documents"]) if collection is self._articles
                     else self._committed_chunk_pages(["documents"]))
            legacy = [i for page in pages
                      for i, d in zip(page["ids"], page["documents"] or [], strict=True) if d]
            for begin in range(0, len(legacy), WRITE_BATCH):
                got = collection.get(ids=legacy[begin : begin + WRITE_BATCH],
                                     include=["documents", "embeddings", "metadatas"])
                if collection is self._articles:
                    self.texts.put([(i, _compressed(d)) for i, d in
                                    zip(got["ids"], got["documents"], strict=True)])
                    moved += len(got["ids"])
                else:
                    held = set(self.texts.get(sorted({str(m["article_id"])
                                                      for m in got["metadatas"]})))
                    got = {k: [v for v, m in zip(got[k], got["metadatas"], strict=True)
                               if m["article_id"] in held]
                           for k in ("ids", "embeddings", "metadatas")}
                if not got["ids"]:
                    continue
                # Chroma embeds what it is given without a vector: the stored ones go along.
                collection.update(ids=got["ids"], embeddings=got["embeddings"],
                                  documents=[""] * len(got["ids"]))
        return moved

    def _committed_chunk_pages(self, include: list[str]) -> Iterator[dict[str, Any]]:
        """The chunks of every committed article, `ARTICLES_A_READ` articles a read: read by
        article, never by offset (which Chroma answers in time growing with the offset, so
        that paging a large store's chunks that way takes time growing with its square)."""
        committed = self.article_ids()
        for begin in range(0, len(committed), ARTICLES_A_READ):
            batch = committed[begin : begin + ARTICLES_A_READ]
            yield self._chunks.get(where={"article_id": {"$in": batch}}, include=include)

    def move_layouts(self) -> int:
        """Move the chunk layouts (offsets, sentence spans, speakers, statements) that chunks
        written before layout blobs hold in their metadata into one blob an article, and empty
        that metadata (`LEGACY_CHUNK_KEYS`); returns how many chunks were moved. Committed
        articles only (an orphan is read as it is until `repair` sweeps it). Safe to stop and
        run again: a chunk's metadata is emptied only once its article's layout is held."""
        moved = 0
        for got in self._committed_chunk_pages(["metadatas"]):
            legacy = [(i, m) for i, m in zip(got["ids"], got["metadatas"], strict=True)
                      if any(k in m for k in LEGACY_CHUNK_KEYS)]
            if not legacy:
                continue
            articles = {str(m["article_id"]) for _, m in legacy}
            unheld = articles - set(self.layouts.get(sorted(articles)))
            by_article: dict[str, list[tuple[str, dict[str, Any]]]] = {}
            for i, m in zip(got["ids"], got["metadatas"], strict=True):
                if str(m["article_id"]) in unheld:
                    by_article.setdefault(str(m["article_id"]), []).append((i, m))
            self.layouts.put([(a, _legacy_layout([i for i, _ in rows], [m for _, m in rows]))
                              for a, rows in by_article.items()])
            emptied = dict.fromkeys(LEGACY_CHUNK_KEYS)
            ids = [i for i, _ in legacy]
            for start in range(0, len(ids), WRITE_BATCH):
                part = ids[start : start + WRITE_BATCH]
                self._chunks.update(ids=part, metadatas=[emptied] * len(part))
            moved += len(ids)
        return moved

    def move_signatures(self) -> int:
        """Move the MinHash signatures that article records written before the signature
        store hold in their metadata into it, and empty that metadata; returns how many
        articles were moved. Safe to stop and run again."""
        legacy = [(i, str(m[LEGACY_SIGNATURE])) for page in self._all_article_pages()
                  for i, m in zip(page["ids"], page["metadatas"], strict=True)
                  if m.get(LEGACY_SIGNATURE)]
        for begin in range(0, len(legacy), WRITE_BATCH):
            part = legacy[begin : begin + WRITE_BATCH]
            self.signatures.put([(i, _signature_bytes(packed)) for i, packed in part])
            self._articles.update(ids=[i for i, _ in part],
                                  metadatas=[{LEGACY_SIGNATURE: None}] * len(part))
        return len(legacy)

    def move_article_records(self) -> int:
        """Move the article records an earlier release kept with 384-dimension vectors to a
        collection of 1-d constants (`ArticleRecords.move`: ids, documents and metadata kept,
        safe to stop and run again); returns how many records moved (0: none to move)."""
        return self._articles.move()

    @property
    def article_collection(self) -> str:
        """The name of the Chroma collection the article records are kept in."""
        return self._articles.name

    def nearest(self, vector: np.ndarray, n: int,
                filters: Filters | None = None) -> list[tuple[str, float]]:
        """The ids of the `n` chunks nearest to `vector` by Chroma's HNSW index, with their
        cosine similarity, within the filters.

        Ids and distances only: search holds every chunk's text and metadata in memory, and
        having Chroma return documents and metadata as well made this query several times
        slower.
        """
        # Chroma returns what it has when asked for more (nothing from an empty collection),
        # so no count() round trip is needed first.
        result = self._chunks.query(query_embeddings=[vector], n_results=n,
                                    where=chroma_where(filters), include=["distances"])
        return [(i, 1.0 - float(d))
                for i, d in zip(result["ids"][0], result["distances"][0], strict=True)]


def chroma_where(filters: Filters | None) -> dict[str, Any] | None:
    """Translate API filters into a Chroma `where` clause (dates compare as day ordinals)."""
    if filters is None:
        return None
    clauses: list[dict[str, Any]] = []
    if sources := filters.sources():
        clauses.append({"source": {"$in": sources}})
    if filters.published_from:
        clauses.append({"published_day": {"$gte": filters.published_from.toordinal()}})
    if filters.published_to:
        clauses.append({"published_day": {"$lte": filters.published_to.toordinal()}})
    if filters.article_ids:
        clauses.append({"article_id": {"$in": list(filters.article_ids)}})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def _dated(changes: dict[str, Any]) -> dict[str, Any]:
    """Metadata changes as stored: a date as ISO text beside its day ordinal (the filters')."""
    stored = dict(changes)
    if "published" in changes:
        published = changes["published"]
        stored["published"] = published.isoformat() if published else None
        stored["published_day"] = published.toordinal() if published else None
    return stored


def _without_none(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def blob_path(settings: Settings) -> Path:
    """Where an embedded store keeps what nothing searches (article texts, sentence vectors)."""
    return settings.data_dir / "blobs" / f"{settings.collection}.sqlite3"


def _compressed(text: str) -> bytes:
    return zlib.compress(text.encode("utf-8"), 6)


def _decompressed(stored: bytes) -> str:
    return zlib.decompress(stored).decode("utf-8")


def _legacy_packed(meta: Any) -> bytes | None:
    """The sentence vectors a chunk written before the sentence store holds in its metadata."""
    text = meta.get(LEGACY_SENTENCE_VECTORS) if meta else None
    return base64.b64decode(text) if text else None


def _article_of(chunk_id: str) -> str:
    """A chunk id's article id (chunk ids are `<article id>:<ordinal>`, index/chunk.py)."""
    return chunk_id.rpartition(":")[0]


def _chunk_metadata(chunk: Chunk) -> dict[str, Any]:
    """What a chunk's Chroma record holds beside its vector: what filters and article reads
    use (the rest is its article's layout blob, `rag.layouts`)."""
    return _without_none({
        "article_id": chunk.article_id, "source": chunk.source,
        "published_day": chunk.published.toordinal() if chunk.published else None,
        "story_id": chunk.story_id,
    })


def _chunk_layout(chunk_id: str, meta: dict[str, Any], held: Layout | None
                  ) -> tuple[int, ChunkLayout]:
    """A chunk's ordinal and layout: from its article's layout blob, or for a chunk written
    before those, from its metadata. Raises `ValueError` for a chunk that has neither."""
    ordinal = int(chunk_id.rpartition(":")[2]) if held else int(meta["ordinal"])
    if held is not None and ordinal in held.chunks:
        return ordinal, held.chunks[ordinal]
    if "start" not in meta:
        raise ValueError(f"chunk {chunk_id} has no layout")
    return ordinal, ChunkLayout(
        int(meta["start"]), int(meta["end"]), _spans(meta.get("sentences", "")),
        tuple(json.loads(meta["speakers"])) if meta.get("speakers") else (),
        tuple(json.loads(meta["statements"])) if meta.get("statements") else ())


def _legacy_layout(chunk_ids: Sequence[str], metadatas: Sequence[dict[str, Any]]
                   ) -> bytes:
    """One article's chunk layouts packed from what an earlier release wrote in its chunks'
    metadata (`LEGACY_CHUNK_KEYS`)."""
    rows = [_chunk_layout(i, m, None) for i, m in zip(chunk_ids, metadatas, strict=True)]
    written = max((float(m.get("written_at", 0.0)) for m in metadatas), default=0.0)
    return layouts.pack(sorted(rows, key=lambda row: row[0]), written)


def _signature_bytes(packed: str) -> bytes:
    """A signature as `index.stories.pack` writes it ("<size>:<base64>") with its values as
    raw bytes: "<size>:" then the bytes."""
    size, _, encoded = packed.partition(":")
    return f"{size}:".encode("ascii") + base64.b64decode(encoded)


def _signature_text(stored: bytes) -> str:
    """What `_signature_bytes` turned into bytes, as `index.stories.pack` wrote it."""
    size, _, values = stored.partition(b":")
    return f"{size.decode('ascii')}:{base64.b64encode(values).decode('ascii')}"


def _article_metadata(article: Article, chunk_count: int) -> dict[str, Any]:
    return _without_none({
        "title": article.title, "source": article.source,
        "published": article.published.isoformat() if article.published else None,
        "published_day": article.published.toordinal() if article.published else None,
        "url": article.url, "canonical_url": canonical_url(article.url),
        "author": article.author, "path": article.path, "filename": article.filename,
        "chunks": chunk_count, "chars": len(article.text),
        "story_id": article.story_id,
        "raw_text": article.raw_text if article.raw_text != article.text else None,
        "ingested_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    })


def _date(value: Any) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def _chunk_from(chunk_id: str, text: str, meta: dict[str, Any], ordinal: int,
                shape: ChunkLayout) -> Chunk:
    return Chunk(
        id=chunk_id, article_id=meta["article_id"], ordinal=ordinal, text=text,
        start=shape.start, end=shape.end, title=meta.get("title"),
        source=meta.get("source"), published=_date(meta.get("published")), url=meta.get("url"),
        sentences=shape.sentences, speakers=shape.speakers, statements=shape.statements,
        story_id=meta.get("story_id"),
    )


def _spans(encoded: str) -> tuple[tuple[int, int], ...]:
    """Sentence spans stored as "start-end,start-end" (Chroma metadata holds no lists)."""
    pairs = (item.split("-") for item in encoded.split(",") if item)
    return tuple((int(start), int(end)) for start, end in pairs)


def _article_from(article_id: str, text: str, meta: dict[str, Any]) -> Article:
    return Article(
        id=article_id, text=text, title=meta.get("title"), source=meta.get("source"),
        published=_date(meta.get("published")), url=meta.get("url"),
        author=meta.get("author"), path=meta.get("path"), filename=meta.get("filename"),
        raw_text=meta.get("raw_text"), story_id=meta.get("story_id"),
    )


def _pages(collection: chromadb.Collection | ArticleRecords, include: list[str],
           where: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
    """Every record of a collection (within `where`), a page of `READ_PAGE` at a time, or of
    `IDS_PAGE` when only ids are read (`include` empty)."""
    size = READ_PAGE if include else IDS_PAGE
    offset = 0
    while True:
        page = collection.get(where=where, include=include, limit=size, offset=offset)
        yield page
        if len(page["ids"]) < size:
            return
        offset += size
