"""Bring a store written by an earlier release to the current layout: article texts, sentence
vectors, chunk layouts and MinHash signatures move out of Chroma's documents and metadata into
their own stores, article records to a collection without their vectors, and an embedded
store's database gives the freed space back (docs/operations.md, "Migrating a store").
"""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

from rag.config import Settings
from rag.errors import NewsragError
from rag.store import Store

VACUUM_TIMEOUT_SECONDS = 3600
# Chroma's full-text index of documents in its SQLite file (an FTS5 table).
FULL_TEXT = "embedding_fulltext_search"


class MigrationFailed(NewsragError, RuntimeError):
    """The store's database could not be compacted after the move."""

    code = "migration_failed"
    status = 500


@dataclass(frozen=True)
class Migration:
    """What a migration did: articles whose texts moved, chunks whose sentence vectors moved,
    chunks whose layouts moved, articles whose signatures moved, article records moved to a
    collection without their vectors, and the embedded database's size before and after (None
    on a Chroma server)."""

    texts: int
    sentence_vectors: int
    layouts: int
    signatures: int
    article_records: int
    bytes_before: int | None
    bytes_after: int | None

    @property
    def moved(self) -> bool:
        """Whether anything moved."""
        return bool(self.texts or self.sentence_vectors or self.layouts or self.signatures
                    or self.article_records)


def migrate(store: Store, settings: Settings) -> Migration:
    """Move `store`'s legacy texts, sentence vectors, chunk layouts and signatures into their
    stores, then its article records (last: the moves before write to them) to a collection
    without their vectors; on an embedded store that moved any, compact its database. Safe to
    stop and run again (a second run moves nothing). Raises `MigrationFailed` when the
    compaction fails, `rag.article_records.ArticleMoveFailed` when the records' copy is not
    whole."""
    database = settings.data_dir / "chroma" / "chroma.sqlite3"
    embedded = settings.chroma_url is None
    before = _size(database) if embedded else None
    texts, vectors = store.move_texts(), store.move_sentence_vectors()
    layouts, signatures = store.move_layouts(), store.move_signatures()
    records = store.move_article_records()
    done = Migration(texts, vectors, layouts, signatures, records, before, None)
    if embedded:
        # Chroma's delete of a collection leaves its index folder (here: the earlier article
        # records'), also when a run stopped after the delete.
        _drop_unused_segments(database)
    if embedded and done.moved:
        _merge_text_index(database)
        _vacuum(database.parent)
    return Migration(texts, vectors, layouts, signatures, records, before,
                     _size(database) if embedded else None)


def _merge_text_index(database: Path) -> None:
    """Merge the segments of Chroma's full-text index, so that the emptied documents' entries
    leave it (SQLite FTS5's `optimize`; `chroma vacuum` does not do this)."""
    try:
        with contextlib.closing(sqlite3.connect(database, timeout=60.0)) as db, db:
            if db.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (FULL_TEXT,)).fetchone():
                db.execute(f"INSERT INTO {FULL_TEXT}({FULL_TEXT}) VALUES ('optimize')")
    except sqlite3.Error as error:
        raise MigrationFailed(f"could not merge Chroma's full-text index: {error}") from error


def _drop_unused_segments(database: Path) -> None:
    """Delete the folders beside Chroma's database named by a segment id that it no longer
    lists (those of dropped collections). Raises `MigrationFailed` when it cannot be read."""
    try:
        with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True,
                                                timeout=60.0)) as db:
            listed = {str(row[0]) for row in db.execute("SELECT id FROM segments")}
    except sqlite3.Error as error:
        raise MigrationFailed(f"could not read Chroma's segments: {error}") from error
    for folder in database.parent.iterdir():
        if folder.is_dir() and _is_uuid(folder.name) and folder.name not in listed:
            shutil.rmtree(folder)


def _is_uuid(name: str) -> bool:
    try:
        return str(uuid.UUID(name)) == name
    except ValueError:
        return False


def _vacuum(directory: Path) -> None:
    """Chroma's compaction of a persistent directory (it also trims Chroma's write log)."""
    chroma = shutil.which("chroma", path=str(Path(sys.executable).parent)) or "chroma"
    try:
        done = subprocess.run([chroma, "vacuum", "--path", str(directory), "--force"],
                              capture_output=True, text=True, timeout=VACUUM_TIMEOUT_SECONDS,
                              check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise MigrationFailed(f"chroma vacuum could not run: {error}") from error
    if done.returncode:
        raise MigrationFailed(f"chroma vacuum failed: {done.stderr.strip()[-300:]}")


def _size(path: Path) -> int:
    return path.stat().st_size if path.is_file() else 0
