"""Which files `rag index` reads under the paths it is given, and reading them safely.

A directory's walk never leaves it: a symbolic link is read only when it resolves to a regular
file inside the directory, and FIFOs, sockets, devices, dangling links and unreadable
subdirectories are reported, never opened (opening a FIFO would wait for a writer forever).
Files are opened without blocking and checked to be regular files before a byte is read, and
read up to a size limit (docs/operations.md, "Ingestion limits").
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from rag.config import Settings
from rag.errors import NewsragError

# The largest file read whole, by default (RAG_MAX_FILE_BYTES).
MAX_FILE_BYTES: int = Settings.model_fields["max_file_bytes"].default

_KINDS = ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a device"),
          (stat.S_ISBLK, "a device"), (stat.S_ISDIR, "a directory"))


class UnreadableFile(NewsragError, ValueError):
    """A file that cannot be read as articles; the message says why."""

    code = "unreadable_file"
    status = 422


def iter_files(paths: Iterable[Path]) -> Iterator[tuple[Path, str | None]]:
    """(path, None) for every file to read under `paths`, or (path, reason) for an entry not read.

    A path given directly is read when it is a regular file (a symbolic link to one included).
    A directory is walked recursively in name order, hidden entries (".name") left out. Inside
    it, a symbolic link to a file is read only when the file lies inside the directory; a link
    to a directory is not followed (what it holds is read where it lies, when it lies inside).
    """
    for path in paths:
        if path.is_dir():
            yield from _walk(path)
        else:
            yield path, _not_regular(path)


def _walk(root: Path) -> Iterator[tuple[Path, str | None]]:
    real_root = root.resolve()
    errors: list[OSError] = []  # directories os.walk could not list, as it met them
    for directory, subdirectories, names in os.walk(root, onerror=errors.append):
        yield from _unlisted(errors)
        here = Path(directory)
        subdirectories.sort()  # os.walk descends into what is left, in this order
        for name in list(subdirectories):
            entry = here / name
            # Not descended into: hidden, a link (read where it leads, or reported), or unreadable.
            reason = None if name.startswith(".") else _problem(entry, real_root, directory=True)
            if name.startswith(".") or reason is not None or entry.is_symlink():
                subdirectories.remove(name)
            if reason:
                yield entry, reason
        for name in sorted(names):
            if not name.startswith("."):
                yield here / name, _problem(here / name, real_root)
    yield from _unlisted(errors)


def _unlisted(errors: list[OSError]) -> Iterator[tuple[Path, str]]:
    """The directories in `errors`, each with its reason; `errors` is emptied."""
    yield from ((Path(e.filename), f"cannot read directory: {e.strerror}") for e in errors)
    errors.clear()


def _problem(path: Path, real_root: Path, directory: bool = False) -> str | None:
    """Why a directory entry is not read, or None for a regular file (a `directory`) that is
    inside the tree, or a link to one."""
    try:
        reason = _link_problem(path, real_root) if path.is_symlink() else None
    except OSError as error:  # e.g. a path longer than the system allows
        return f"cannot read{' directory' if directory else ''}: {error.strerror or error}"
    return reason or (None if directory else _not_regular(path))


def _link_problem(link: Path, real_root: Path) -> str | None:
    try:
        target = link.resolve(strict=True)
    except FileNotFoundError:
        return "dangling symbolic link"
    except (OSError, RuntimeError):  # RuntimeError: a loop of links (Python < 3.13)
        return "symbolic link that cannot be resolved (a loop?)"
    if not target.is_relative_to(real_root):
        return f"symbolic link to {target}, outside the indexed directory"
    return None


def _not_regular(path: Path) -> str | None:
    try:
        mode = path.stat().st_mode
    except OSError as error:
        return f"cannot read: {error.strerror or error}"
    return None if stat.S_ISREG(mode) else f"not a regular file ({_kind(mode)})"


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "a special file")


def open_regular(path: Path) -> BinaryIO:
    """`path` opened for reading, only if it is a regular file (never blocks on a FIFO).

    Raises `UnreadableFile` for anything else and for files that cannot be opened.
    """
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as error:
        raise UnreadableFile(f"cannot read: {error.strerror or error}") from error
    mode = os.fstat(descriptor).st_mode
    if not stat.S_ISREG(mode):
        os.close(descriptor)
        raise UnreadableFile(f"not a regular file ({_kind(mode)})")
    os.set_blocking(descriptor, True)
    return os.fdopen(descriptor, "rb")


def read_bytes(path: Path, max_bytes: int = MAX_FILE_BYTES) -> bytes:
    """A regular file's content, refused (`UnreadableFile`) above `max_bytes`."""
    with open_regular(path) as file:
        size = os.fstat(file.fileno()).st_size
        if size > max_bytes:
            raise UnreadableFile(f"file of {too_large(size, max_bytes)}")
        try:
            data = file.read(max_bytes + 1)
        except OSError as error:
            raise UnreadableFile(f"cannot read: {error.strerror or error}") from error
    if len(data) > max_bytes:  # it grew since
        raise UnreadableFile(f"file of {too_large(len(data), max_bytes)}")
    return data


def too_large(size: int, max_bytes: int) -> str:
    """Why a file (or a line of a feed) over the size limit is not read."""
    return f"{size:,} bytes, over the limit of {max_bytes:,} (RAG_MAX_FILE_BYTES)"
