"""Who may open an embedded store: one process at a time, by an inter-process file lock.

`claim(settings, command)` takes the store's `filelock` lock under `RAG_DATA_DIR` and records
who holds it; it raises `StoreServed` when `rag serve` holds it (send work through its API) and
`StoreBusy` when another command does. A Chroma server store needs no claim. Why:
docs/operations.md, "What may run at the same time".
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from filelock import FileLock, Timeout

from rag.config import Settings
from rag.errors import NewsragError

LOCK_FILE = "store.lock"
OWNER_FILE = "store.owner.json"
# How often a waiting process looks again (and re-reads who holds the store).
POLL_SECONDS = 0.5


@dataclass(frozen=True)
class Owner:
    """The process holding a store: `url` is set when it serves the API."""

    pid: int
    command: str
    url: str | None = None
    since: float = 0.0

    def describe(self) -> str:
        where = f" at {self.url}" if self.url else ""
        return f"{self.command} (pid {self.pid}){where}"


class StoreBusy(NewsragError, RuntimeError):
    """Another process holds the store and did not let go in time."""

    code = "store_busy"
    status = 503

    def __init__(self, owner: Owner | None, waited: float) -> None:
        self.owner = owner
        holder = owner.describe() if owner else "another process"
        super().__init__(f"the store is in use by {holder}"
                         + (f" (waited {waited:.0f} s)" if waited else ""))


class StoreServed(NewsragError, RuntimeError):
    """A running server holds the store: send the work to it (`owner.url`)."""

    code = "store_served"
    status = 409

    def __init__(self, owner: Owner) -> None:
        self.owner = owner
        super().__init__(f"the store is served by {owner.describe()}")


@dataclass
class _Held:
    lock: FileLock
    owner: Owner
    claims: int = 1


# The claims this process holds, by lock file: a process claims a store once, however many of
# its parts (the command line, the app's start-up) ask for it.
_held: dict[Path, _Held] = {}
_held_guard = threading.Lock()


def lock_path(settings: Settings) -> Path:
    return settings.data_dir / LOCK_FILE


def claim(settings: Settings, command: str, url: str | None = None,
          wait_seconds: float | None = None,
          on_wait: Callable[[Owner | None], None] | None = None) -> Claim:
    """Hold the embedded store for this process (a no-op for a Chroma server store).

    `wait_seconds`: how long to wait while another command holds it (None: as long as it
    takes); `on_wait` is called once, with the holder, when waiting begins. Raises
    `StoreServed` at once when a server holds it (its work should go to `owner.url`), and
    `StoreBusy` when the wait runs out.
    """
    if settings.chroma_url:
        return Claim(None)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    path = lock_path(settings).resolve()
    with _held_guard:
        if path in _held:
            _held[path].claims += 1
            if url and not _held[path].owner.url:
                _held[path].owner = _write_owner(settings, command, url)
            return Claim(path)
    lock = FileLock(path, timeout=0, thread_local=False)
    began = time.monotonic()
    told = False
    while True:
        try:
            lock.acquire(timeout=0 if not told else POLL_SECONDS)
            break
        except Timeout:
            holder = _read_owner(settings)
            if holder is not None and holder.url:
                raise StoreServed(holder) from None
            waited = time.monotonic() - began
            if wait_seconds is not None and waited >= wait_seconds:
                raise StoreBusy(holder, waited) from None
            if not told and on_wait is not None:
                on_wait(holder)
            told = True
    owner = _write_owner(settings, command, url)
    with _held_guard:
        _held[path] = _Held(lock, owner)
    return Claim(path)


class Claim:
    """A held claim on a store; `release()` (or leaving a `with` block) gives it back."""

    def __init__(self, path: Path | None) -> None:
        self._path = path

    def release(self) -> None:
        if self._path is None:
            return
        path, self._path = self._path, None
        with _held_guard:
            held = _held.get(path)
            if held is None:
                return
            held.claims -= 1
            if held.claims:
                return
            del _held[path]
        with contextlib.suppress(OSError):
            (path.parent / OWNER_FILE).unlink()
        held.lock.release()

    def __enter__(self) -> Claim:
        return self

    def __exit__(self, *_: object) -> None:
        self.release()


def _write_owner(settings: Settings, command: str, url: str | None) -> Owner:
    owner = Owner(pid=os.getpid(), command=command, url=url, since=time.time())
    target = settings.data_dir / OWNER_FILE
    temporary = target.with_name(f".{OWNER_FILE}.{os.getpid()}")
    temporary.write_text(json.dumps(asdict(owner)))
    temporary.replace(target)  # atomic: a reader sees the old holder or the new one
    return owner


def _read_owner(settings: Settings) -> Owner | None:
    """The holder's note, if it has written one yet (and it is not left from a dead one)."""
    try:
        data = json.loads((settings.data_dir / OWNER_FILE).read_text())
        owner = Owner(pid=int(data["pid"]), command=str(data["command"]),
                      url=data.get("url") or None, since=float(data.get("since", 0.0)))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return owner if _alive(owner.pid) else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
