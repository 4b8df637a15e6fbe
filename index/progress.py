"""Progress of a long ingestion: tqdm's bar on a terminal, plain lines in a log or a pipe.

A bar redrawn in place is unreadable in a log file, so when stderr is not a terminal progress
comes as one line every `LINE_SECONDS` ("embedding: 1200/48000 chunks (2%) [01:10<45:30,
17.1 chunks/s]"), formatted by tqdm; a run shorter than that prints nothing.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from types import TracebackType
from typing import Protocol, TextIO, TypeVar

from tqdm import tqdm

LINE_SECONDS = 10.0
_WITH_TOTAL = ("{desc}: {n_fmt}/{total_fmt} {unit} ({percentage:.0f}%) "
               "[{elapsed}<{remaining}, {rate_fmt}]")
_WITHOUT_TOTAL = "{desc}: {n_fmt} {unit} [{elapsed}, {rate_fmt}]"

T = TypeVar("T")


class Progress(Protocol):
    """What the pipeline reports progress to (tqdm's interface)."""

    def update(self, n: float = 1) -> object: ...
    def close(self) -> None: ...
    def __enter__(self) -> Progress: ...
    def __exit__(self, *exc: object) -> object: ...


def progress_bar(total: int | None, desc: str, unit: str, enabled: bool = True) -> Progress:
    """A progress display for `total` units of work (None: unknown), on stderr when `enabled`."""
    if enabled and not sys.stderr.isatty():
        return PlainLines(total, desc, unit)
    return tqdm(total=total, desc=desc, unit=unit, disable=not enabled)


def track(items: Iterable[T], bar: Progress) -> Iterator[T]:
    """`items`, counting each on `bar`, which is closed at the end."""
    with bar:
        for item in items:
            yield item
            bar.update(1)


class PlainLines:
    """Progress as a plain line every `interval` seconds, and a last line if any was written."""

    def __init__(self, total: int | None, desc: str, unit: str, interval: float = LINE_SECONDS,
                 file: TextIO | None = None) -> None:
        self.total, self.desc, self.unit, self.interval = total, desc, unit, interval
        self.file = file or sys.stderr
        self.n = 0
        self._began = self._last = time.monotonic()
        self._written = False
        self._written_n = 0

    def update(self, n: int = 1) -> None:
        self.n += n
        now = time.monotonic()
        if now - self._last >= self.interval:
            self._write(now)

    def close(self) -> None:
        if self._written and self.n != self._written_n:
            self._write(time.monotonic())

    def __enter__(self) -> PlainLines:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()

    def _write(self, now: float) -> None:
        line = tqdm.format_meter(
            self.n, self.total, now - self._began, prefix=self.desc, unit=self.unit,
            bar_format=_WITH_TOTAL if self.total else _WITHOUT_TOTAL)
        self.file.write(line + "\n")
        self.file.flush()
        self._last, self._written, self._written_n = now, True, self.n
