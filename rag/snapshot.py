"""What a search reads, derived from one revision of the store: the committed chunks as columns,
their vectors, and the BM25 index over them. Built from the store, updated after a write, or
loaded from the copy saved for that very revision under `RAG_DATA_DIR/snapshots/`; never a source
of truth (docs/operations.md, "How search follows the shared store").
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import shutil
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rag.config import Settings
from rag.corpus import Corpus
from rag.embeddings import DIMENSIONS
from rag.lexical import LexicalIndex, Tokens
from rag.rows import Rows
from rag.schemas import Chunk
from rag.segments import AppendedIndex, StackedRows, weighed_by
from rag.store import Store
from rag.stored_sentences import StoredSentences
from rag.stored_vectors import StoredVectors

# Bump when what is saved, or how chunks are analysed for BM25, changes: older snapshots are
# then never loaded, only rebuilt.
FORMAT = 7  # 2: the analysed texts are saved too (incremental updates); 3: with sentence marks;
# 4: sentence vectors, BM25 k1 and b 0.5; 5: chunks hold statement records; 6: and their story;
# 7: sentence vectors no longer saved (read from the store by chunk id)
VECTORS = "vectors.npy"
EDITS = "edits.json"
# The store a snapshot was taken of and its revision (`Snapshot.latest` reads them).
ORIGIN = "origin.json"
# Written beside a snapshot that holds every chunk its revision counts: that store had no
# chunk without its article record (nothing for `Store.repair` to sweep).
WHOLE = "whole"
# An update reading more new chunks than this share of the previous snapshot rebuilds instead:
# it would read most of the store anyway.
UPDATE_MAX_SHARE = 0.5
# Articles added since a saved snapshot are appended to it (searched beside it, nothing of it
# copied) until they hold this share of its chunks; then the snapshot is updated and saved.
APPEND_MAX_SHARE = 0.05
# Temporary directories older than this belong to a writer that died; they are removed.
STALE_SECONDS = 3600.0

log = logging.getLogger(__name__)
Revision = tuple[str, int, int]


@dataclass(frozen=True)
class Snapshot:
    """The committed chunks of one store revision, their unit vectors, their BM25 index, and a
    reader of their sentences' vectors from the store."""

    revision: Revision | None
    corpus: Corpus
    # (chunks, dimensions) float32, row i is corpus[i]'s vector; an appended snapshot's are
    # its base's and the added chunks' (`rag.segments.StackedRows`)
    vectors: np.ndarray | StackedRows | StoredVectors
    # with the analysed texts it was built from (`lexical.tokens`); an appended snapshot's
    # reads its base's and the added chunks' as one (`rag.segments.AppendedIndex`)
    lexical: LexicalIndex | AppendedIndex
    sentences: StoredSentences  # chunk i's sentence vectors, read from the store on demand
    # The metadata correction of each article corrected in place that this snapshot holds
    # (`Store.edits`): an update re-reads the articles corrected since.
    edits: Mapping[str, str] = field(default_factory=dict)
    # For a snapshot of articles appended to a saved one (`appended`): that one, and the
    # appended articles' own snapshot (weighed by the base's BM25 statistics).
    base: Snapshot | None = None
    added: Snapshot | None = None
    # The directory of the saved snapshot this one was read from (None: built in memory).
    saved_in: Path | None = None

    def saved_files(self) -> list[Path]:
        """The files of the saved snapshot this one reads in place as questions come (its
        base's, for an appended one), smallest first; none when it was made in memory."""
        directory = (self.base or self).saved_in
        if directory is None or not directory.is_dir():
            return []
        return sorted((p for p in directory.iterdir() if p.is_file()),
                      key=lambda p: p.stat().st_size)

    @classmethod
    def empty(cls) -> Snapshot:
        lexical = LexicalIndex.of_chunks()
        return cls(None, lexical.corpus, np.zeros((0, 0), dtype=np.float32), lexical,
                   StoredSentences.none())

    @classmethod
    def build(cls, store: Store, revision: Revision) -> Snapshot:
        """Read every committed chunk and vector from the store, and index them.

        `revision` must be read before this is called: a write racing with the read changes
        the store's revision afterwards, so the result is replaced at the next refresh. Pages
        are analysed as they arrive and not kept, so the peak memory of a rebuild is little
        more than the snapshot itself.
        """
        edits = store.edits()
        vectors = Rows(capacity=revision[2])
        tokens = Tokens()

        def chunks() -> Iterator[Chunk]:
            for page, page_vectors in store.committed_pages():
                vectors.add(page_vectors)
                tokens.add_chunks(page)
                yield from page

        corpus = Corpus.from_chunks(chunks())
        return cls(revision, corpus, vectors.array(), LexicalIndex.build(corpus, tokens),
                   _sentences(store, corpus), edits)

    @classmethod
    def update(cls, previous: Snapshot, store: Store, revision: Revision) -> Snapshot | None:
        """This revision's snapshot derived from `previous`: the articles committed since are
        read and analysed, those deleted since dropped, the BM25 index rebuilt from the kept
        analysed texts. None when a rebuild is the better way (most of the store is new, or
        what was read does not add up to what the article records vouch for).

        Article ids are hashes of their text, so comparing the sets of article ids finds every
        change of text; an article whose metadata was corrected in place since (its `edits`
        token differs) is dropped and read again. As in `build`, `revision` is read before
        this is called.
        """
        edits = store.edits()
        corrected = {a for a, token in edits.items() if previous.edits.get(a) != token}
        committed = store.article_ids()
        corpus = previous.corpus
        held = set(corpus.articles.tolist()) - corrected
        # Only the added articles' records are read in full: an article's chunk count never
        # changes, so the kept ones still have what the previous snapshot holds of them.
        counts = store.article_chunk_counts([a for a in committed if a not in held])
        if sum(counts.values()) > UPDATE_MAX_SHARE * max(len(corpus), 1):
            return None
        # Rows whose article is still committed (`article` holds codes into `articles`).
        kept_articles = np.flatnonzero(np.isin(corpus.articles, sorted(held & set(committed))))
        keep = np.flatnonzero(np.isin(corpus.article, kept_articles))
        new_chunks, new_vectors = store.committed_chunks(list(counts), counts)
        if len(new_chunks) != sum(counts.values()):
            return None  # a write in flight or racing this read: rebuild to be sure
        tokens = previous.lexical.tokens.select(keep.tolist())
        tokens.add_chunks(new_chunks)
        merged = Corpus.merged(corpus, keep, new_chunks)
        vectors = (StoredVectors(store.chunk_vectors, merged.ids, previous.vectors.shape[1])
                   if isinstance(previous.vectors, StoredVectors)
                   else _stacked(previous.vectors, keep, new_vectors))
        return cls(revision, merged, vectors, LexicalIndex.build(merged, tokens),
                   _sentences(store, merged), edits)

    @classmethod
    def appended(cls, previous: Snapshot, store: Store, revision: Revision) -> Snapshot | None:
        """This revision's snapshot as `previous`'s base and the articles added to it since,
        searched as one: nothing of the base is copied or re-indexed, so the work grows with
        what was added. None when articles were deleted or corrected since, or the added
        ones outgrow `APPEND_MAX_SHARE` of the base: then `update` is the way.

        As in `build`, `revision` is read before this is called."""
        base = previous.base or previous
        if base.revision is None or not len(base.corpus):
            return None
        edits = store.edits()
        if any(previous.edits.get(a) != token for a, token in edits.items()):
            return None
        committed = store.article_ids()
        held = set(previous.corpus.articles.tolist())
        if not held.issubset(committed):
            return None
        counts = store.article_chunk_counts([a for a in committed if a not in held])
        earlier = previous.added
        appended = sum(counts.values()) + (len(earlier.corpus) if earlier else 0)
        if appended > APPEND_MAX_SHARE * len(base.corpus):
            return None
        chunks, vectors = store.committed_chunks(list(counts), counts)
        if len(chunks) != sum(counts.values()):
            return None  # a write in flight or racing this read
        if earlier is None:
            tokens, corpus = Tokens(), Corpus.from_chunks(chunks)
            earlier_vectors = np.zeros((0, base.vectors.shape[1]), np.float32)
        else:
            tokens = earlier.lexical.tokens.select(range(len(earlier.corpus)))
            corpus = Corpus.appended(earlier.corpus, chunks)
            earlier_vectors = earlier.vectors
        tokens.add_chunks(chunks)
        added_vectors = (np.concatenate([earlier_vectors, vectors]) if len(vectors)
                         else earlier_vectors)
        added = cls(revision, corpus, added_vectors,
                    LexicalIndex(corpus, tokens, weighed_by(base.lexical, tokens)),
                    _sentences(store, corpus), edits)
        whole = Corpus.appended(previous.corpus, chunks)
        vectors = (StoredVectors(store.chunk_vectors, whole.ids, base.vectors.shape[1])
                   if isinstance(base.vectors, StoredVectors)
                   else StackedRows(base.vectors, added_vectors))
        return cls(revision, whole, vectors,
                   AppendedIndex(base.lexical, added.lexical, whole),
                   _sentences(store, whole), edits, base=base, added=added)

    def save(self, root: Path, store_id: str | None = None) -> Path:
        """Write this snapshot under `root` (atomically), and remove the ones it replaces;
        returns its directory. `store_id` (`Store.identity`) lets `latest` find it for a
        later revision of that store. Raises `ValueError` for an appended snapshot: its
        base is what is saved."""
        if self.base is not None:
            raise ValueError("an appended snapshot is not saved: its base is")
        root.mkdir(parents=True, exist_ok=True)
        final = root / _name(self.revision)
        temporary = root / f".tmp-{uuid.uuid4().hex}"
        temporary.mkdir()
        try:
            self.corpus.save(temporary)
            self.lexical.save(temporary)
            if not isinstance(self.vectors, StoredVectors):  # else Chroma holds them
                np.save(temporary / VECTORS, self.vectors)
            (temporary / EDITS).write_text(json.dumps(dict(self.edits)))
            (temporary / ORIGIN).write_text(json.dumps({"store": store_id,
                                                        "revision": self.revision}))
            if self.revision is not None and len(self.corpus) == self.revision[2]:
                (temporary / WHOLE).touch()
            temporary.rename(final)  # atomic; fails if another process saved it first
        except OSError:
            shutil.rmtree(temporary, ignore_errors=True)
            if not final.is_dir():
                raise
        _prune(root, keep=final.name)
        return final

    @classmethod
    def load(cls, root: Path, revision: Revision, store: Store) -> Snapshot | None:
        """The snapshot saved for exactly this revision, or None when there is none (or it
        cannot be read: it is rebuilt then); its sentence vectors are read from `store`."""
        directory = root / _name(revision)
        if not directory.is_dir():
            return None
        return cls._read(directory, revision, store)

    @classmethod
    def latest(cls, root: Path, store: Store) -> Snapshot | None:
        """The newest snapshot saved under `root` of this store (its `identity`), at
        whatever revision: what `appended` or `update` bring to the current one after a
        restart. None when there is none."""
        found = []
        for origin in root.glob(f"*/{ORIGIN}") if root.is_dir() else ():
            with contextlib.suppress(OSError, ValueError):
                saved = json.loads(origin.read_text())
                if saved.get("store") == store.identity and saved.get("revision"):
                    found.append((origin.stat().st_mtime, origin.parent, saved["revision"]))
        for _, directory, revision in sorted(found, key=lambda f: f[0], reverse=True):
            loaded = cls._read(directory, (str(revision[0]), int(revision[1]),
                                           int(revision[2])), store)
            if loaded is not None:
                return loaded
        return None

    @classmethod
    def _read(cls, directory: Path, revision: Revision, store: Store) -> Snapshot | None:
        """The snapshot saved in `directory` for `revision` (its sentence vectors read from
        `store`), or None when it cannot be read."""
        try:
            corpus = Corpus.load(directory)
            # A plain array over the mapping: numpy's memmap subclass made every indexing
            # of it slower (3% of a query's CPU time under load).
            vectors = (np.asarray(np.load(directory / VECTORS, mmap_mode="r"))
                       if (directory / VECTORS).is_file()
                       else StoredVectors(store.chunk_vectors, corpus.ids, DIMENSIONS))
            if len(vectors) != len(corpus):
                raise ValueError("vectors and chunks differ in number")
            edits = (json.loads((directory / EDITS).read_text())
                     if (directory / EDITS).is_file() else {})
            return cls(revision, corpus, vectors, LexicalIndex.load(directory, corpus),
                       _sentences(store, corpus), edits, saved_in=directory)
        except (OSError, ValueError, KeyError, TypeError) as error:
            log.warning("ignoring the saved search snapshot %s: %s", directory, error)
            return None


def holds_every_chunk(root: Path, revision: Revision) -> bool:
    """Whether a snapshot saved under `root` for exactly this revision held every chunk the
    revision counts: then the store had no orphan chunk at it, and a start can skip the
    sweep (`Store.repair`), which reads every article record."""
    name = _name(revision)
    return (root / name / WHOLE).is_file() or any(root.glob(f"*/{WHOLE}-{name}"))


def root_for(settings: Settings) -> Path:
    """Where the snapshots of the configured store are saved."""
    return settings.data_dir / "snapshots" / settings.collection


def load_or_build(store: Store, revision: Revision, root: Path,
                  previous: Snapshot | None = None, append: bool = True,
                  scanned_up_to: int | None = None) -> Snapshot:
    """The snapshot of this revision: loaded from `root` when saved there; else, from
    `previous` (or, after a restart, the newest snapshot saved of the store), the articles
    added since appended to it (`Snapshot.appended`, not saved: its base is) when `append`
    and they are few; else derived from it (`Snapshot.update`) or built, and saved for the
    next start (a failure to save is logged, never raised). A snapshot of more chunks than
    `scanned_up_to` (dense search's exact-scan limit) reads its chunk vectors from the store
    (`StoredVectors`) rather than holding and saving them."""
    if (loaded := Snapshot.load(root, revision, store)) is not None:
        return _scanned(loaded, store, scanned_up_to)
    if previous is None or previous.revision is None:
        previous = Snapshot.latest(root, store)
        if previous is not None:
            previous = _scanned(previous, store, scanned_up_to)
    snapshot = None
    if previous is not None and previous.revision is not None:
        try:
            if append and (snapshot := Snapshot.appended(previous, store, revision)):
                _vouch(root, snapshot)
                return snapshot
            snapshot = Snapshot.update(previous.base or previous, store, revision)
        except (OSError, ValueError) as error:  # a read of the store failed midway
            log.warning("rebuilding the search snapshot instead of updating it: %s", error)
    if snapshot is None:
        snapshot = Snapshot.build(store, revision)
    snapshot = _scanned(snapshot, store, scanned_up_to)
    try:
        snapshot.save(root, store.identity)
    except (OSError, ValueError) as error:
        log.warning("could not save the search snapshot under %s: %s", root, error)
        return snapshot
    # Read back memory-mapped, as a restart would: a query reads a few hundred rows of the
    # records and vectors, and held in memory they would be most of the process.
    return Snapshot.load(root, revision, store) or snapshot


def _scanned(snapshot: Snapshot, store: Store, scanned_up_to: int | None) -> Snapshot:
    """The snapshot holding its chunk vectors when dense search scans them all (at most
    `scanned_up_to` chunks), else reading them from the store; as it is when not told."""
    vectors, size = snapshot.vectors, len(snapshot.corpus)
    if scanned_up_to is None or snapshot.base is not None:
        return snapshot
    if size > scanned_up_to and isinstance(vectors, np.ndarray):
        width = vectors.shape[1] if vectors.ndim == 2 and vectors.shape[1] else DIMENSIONS
        return dataclasses.replace(snapshot, vectors=StoredVectors(
            store.chunk_vectors, snapshot.corpus.ids, width))
    if size <= scanned_up_to and isinstance(vectors, StoredVectors):
        return dataclasses.replace(snapshot, vectors=np.asarray(vectors))
    return snapshot


def _sentences(store: Store, corpus: Corpus) -> StoredSentences:
    """The corpus rows' sentence vectors, read from the store by chunk id when asked for."""
    return StoredSentences(store.packed_sentences, corpus.ids, store.holds_sentence_vectors(),
                           read_later=store.packed_sentences_later)


def _vouch(root: Path, snapshot: Snapshot) -> None:
    """Mark an appended snapshot's revision as holding every chunk when its base did: what
    it appended was checked against the article records (`holds_every_chunk`)."""
    base = snapshot.base
    if base is None or base.revision is None or snapshot.revision is None:
        return
    directory = root / _name(base.revision)
    if (directory / WHOLE).is_file():
        with contextlib.suppress(OSError):
            (directory / f"{WHOLE}-{_name(snapshot.revision)}").touch()
            for older in directory.glob(f"{WHOLE}-*"):  # only the newest revision is read
                if older.name != f"{WHOLE}-{_name(snapshot.revision)}":
                    older.unlink(missing_ok=True)


def _stacked(vectors: np.ndarray, rows: np.ndarray, added: np.ndarray) -> np.ndarray:
    """`vectors[rows]` followed by `added`, copied once (at 100k chunks a copy is 154 MB)."""
    if not len(added):
        return vectors[rows]
    if not len(rows):
        return added
    out = np.empty((len(rows) + len(added), added.shape[1]), dtype=np.float32)
    np.take(vectors, rows, axis=0, out=out[: len(rows)])
    out[len(rows):] = added
    return out


def _name(revision: Revision) -> str:
    key = json.dumps([FORMAT, *revision])
    return hashlib.sha256(key.encode()).hexdigest()[:24]


def _prune(root: Path, keep: str) -> None:
    """Remove older snapshots and abandoned temporary directories (a process still reading an
    older one keeps its memory-mapped files: unlinking does not unmap them)."""
    now = time.time()
    for entry in root.iterdir():
        if entry.name == keep or not entry.is_dir():
            continue
        with contextlib.suppress(OSError):
            if entry.name.startswith(".tmp-") and now - entry.stat().st_mtime < STALE_SECONDS:
                continue  # another process is writing it
            shutil.rmtree(entry)
