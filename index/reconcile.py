"""What an indexing run leaves behind: older versions of the files it read, and articles of
files that are gone (renamed, or deleted). The plan (each stored article current, stale, renamed
or missing) is computed here and applied by whoever holds the store (`Ingestor`, or `rag index`
through a running server), so both behave the same (docs/operations.md, "Article identity").
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

# The share of words two texts must have in common for a new file to count as a gone one
# renamed (and perhaps edited): git's default rename similarity.
RENAME_SIMILARITY = 0.5
# A path recorded for an upload by earlier versions ("upload:<name>"): never a file.
LEGACY_UPLOAD_PREFIX = "upload:"


@dataclass
class Plan:
    """Articles to remove, and why; `missing` ones are removed only when pruning."""

    stale: list[str] = field(default_factory=list)
    renamed: list[tuple[str, str]] = field(default_factory=list)  # (old id, new path)
    missing: list[tuple[str, str]] = field(default_factory=list)  # (recorded path, id)


def canonical_path(path: str | os.PathLike[str]) -> str:
    """The resolved real path of a file (relative paths against the working directory)."""
    return os.path.realpath(path)


def recorded_path(recorded: str) -> str | None:
    """The canonical form of a path the store recorded (earlier versions kept paths as typed,
    relative ones included), or None for what was never a file."""
    if not recorded or recorded.startswith(LEGACY_UPLOAD_PREFIX):
        return None
    return canonical_path(recorded)


def within(path: str, scopes: Iterable[str]) -> bool:
    """Whether a canonical path is one of the scopes or lies under one."""
    return any(path == scope or path.startswith(scope.rstrip(os.sep) + os.sep)
               for scope in scopes)


def plan(scopes: list[str], read_paths: set[str], produced: set[str],
         added: Mapping[str, str], stored: Mapping[str, str],
         text_of: Callable[[str], str]) -> Plan:
    """What to remove after a run.

    `scopes`: canonical paths indexed; `read_paths`: canonical paths of the files read (a file
    skipped this time keeps its articles); `produced`: ids this run added or found unchanged;
    `added`: each added article's canonical path by id (its text via `text_of` too);
    `stored`: every stored article's recorded path by id, read after the run's writes;
    `text_of(id)`: a stored article's text (read only for gone files' articles).
    """
    result = Plan()
    previously = {recorded_path(p) for i, p in stored.items() if i not in added}
    fresh = {i: p for i, p in added.items() if p not in previously}  # files new to the store
    for article_id, recorded in sorted(stored.items()):
        path = recorded_path(recorded)
        if article_id in produced or path is None or not within(path, scopes):
            continue
        if path in read_paths:
            result.stale.append(article_id)
        elif not os.path.lexists(path):
            successor = _renamed_to(text_of(article_id), fresh, text_of)
            if successor is not None:
                result.renamed.append((article_id, successor))
            else:
                result.missing.append((recorded, article_id))
    return result


def _renamed_to(text: str, fresh: Mapping[str, str], text_of: Callable[[str], str]
                ) -> str | None:
    """The path of the new file most like a gone file's text, if similar enough."""
    words = text.split()
    best, best_path = RENAME_SIMILARITY, None
    for article_id, path in fresh.items():
        matcher = difflib.SequenceMatcher(None, words, text_of(article_id).split(),
                                          autojunk=False)
        if matcher.real_quick_ratio() < best or matcher.quick_ratio() < best:
            continue
        ratio = matcher.ratio()
        if ratio >= best:
            best, best_path = ratio, path
    return best_path
