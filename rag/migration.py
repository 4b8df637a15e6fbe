"""Bring a store written by an earlier release to the current layout: sentence vectors move out
of chunk metadata into their own store, and an embedded store's database gives the freed space
back (docs/operations.md, "Migrating a store").
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from rag.config import Settings
from rag.errors import NewsragError
from rag.store import Store

VACUUM_TIMEOUT_SECONDS = 3600


class MigrationFailed(NewsragError, RuntimeError):
    """The store's database could not be compacted after the move."""

    code = "migration_failed"
    status = 500


@dataclass(frozen=True)
class Migration:
    """What a migration did: chunks whose sentence vectors moved, and the embedded database's
    size before and after (None on a Chroma server)."""

    moved: int
    bytes_before: int | None
    bytes_after: int | None


def migrate(store: Store, settings: Settings) -> Migration:
    """Move `store`'s legacy sentence vectors into its sentence store; on an embedded store
    that moved any, compact its database with Chroma's own `chroma vacuum`. Safe to run again
    (a second run moves nothing). Raises `MigrationFailed` when the compaction fails."""
    database = settings.data_dir / "chroma" / "chroma.sqlite3"
    embedded = settings.chroma_url is None
    before = _size(database) if embedded else None
    moved = store.move_sentence_vectors()
    if embedded and moved:
        _vacuum(database.parent)
    return Migration(moved, before, _size(database) if embedded else None)


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
