"""A saved snapshot's files read in place: records and per-row arrays by positional reads
(`os.pread`), column arrays over one read-only memory map. Why the two ways: docs/benchmarks.md,
"Serving memory at 1M chunks".
"""

from __future__ import annotations

import mmap
import os
import struct
import weakref
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np

# How much of a file `FileBytes.find` reads at once.
SCAN_BYTES = 1 << 22
# How much of a file one readahead advice asks for (`read_ahead`).
ADVICE_BYTES = 1 << 23
_LOCAL_HEADER = struct.Struct("<4s22xHH")  # a zip member's local header: signature, name and
# extra field lengths (30 bytes)
_LOCAL_SIGNATURE = b"PK\x03\x04"


class FileBytes:
    """The bytes of a file, read a span at a time with `os.pread` (each read copies only its
    span; nothing of the file is mapped into the process). Safe across threads."""

    def __init__(self, path: Path, start: int = 0, size: int | None = None) -> None:
        """The `size` bytes of `path` from `start` (default: to its end). Raises `OSError`
        when it cannot be opened, `ValueError` when the span lies beyond its end."""
        self._fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        end = os.fstat(self._fd).st_size
        self._start = start
        self._size = end - start if size is None else size
        if start < 0 or self._size < 0 or start + self._size > end:
            os.close(self._fd)
            raise ValueError(f"{path}: {self._size} bytes from {start} exceed the file")
        weakref.finalize(self, os.close, self._fd)  # closed when no longer read

    def __len__(self) -> int:
        return self._size

    def __getitem__(self, span: slice) -> bytes:
        """The bytes of `span` (a slice with step 1; bounds clipped as a bytes slice's are)."""
        begin, end, step = span.indices(self._size)
        if step != 1:
            raise ValueError("a span is read with step 1")
        if end <= begin:
            return b""
        return self.read(begin, end - begin)

    def read(self, offset: int, size: int) -> bytes:
        """`size` bytes from `offset` (fewer where the file ends). Raises `OSError`."""
        out = os.pread(self._fd, size, self._start + offset)
        while 0 < len(out) < size:  # a positional read may stop short; read on
            more = os.pread(self._fd, size - len(out), self._start + offset + len(out))
            if not more:
                break
            out += more
        return out

    def find(self, needle: bytes, start: int = 0) -> int:
        """The first offset at or after `start` where `needle` begins, -1 when none does (read
        `SCAN_BYTES` at a time, as `bytes.find` would answer)."""
        if not needle:
            return min(max(start, 0), self._size)
        at = max(start, 0)
        while at < self._size:
            block = self.read(at, SCAN_BYTES + len(needle) - 1)
            found = block.find(needle)
            if found >= 0:
                return at + found
            at += SCAN_BYTES
        return -1

    def blocks(self) -> Iterator[bytes]:
        """Every byte, `SCAN_BYTES` at a time, in order (what saving a copy writes)."""
        return (self.read(at, SCAN_BYTES) for at in range(0, self._size, SCAN_BYTES))


def read_ahead(paths: Iterable[Path], budget: int) -> int:
    """Have the kernel read each file into its page cache, for the positional reads questions
    make (docs/benchmarks.md, "Asks after a restart"): by `posix_fadvise(WILLNEED)`, a span
    of `ADVICE_BYTES` at a time (one advice for a whole file brings in only its first
    megabytes), which copies nothing into the process and skips what is cached already; where
    that call is not offered, by reading the file through. Files are taken in order while their
    sizes add up to at most `budget` bytes; one that cannot be read is skipped. Returns the
    bytes asked for."""
    done = 0
    for path in paths:
        try:
            with path.open("rb", buffering=0) as file:
                size = os.fstat(file.fileno()).st_size
                if done + size > budget:
                    continue
                if hasattr(os, "posix_fadvise"):
                    for offset in range(0, size, ADVICE_BYTES):
                        os.posix_fadvise(file.fileno(), offset, ADVICE_BYTES,
                                         os.POSIX_FADV_WILLNEED)
                else:
                    block = bytearray(SCAN_BYTES)
                    while file.readinto(block):
                        pass
                done += size
        except OSError:
            continue
    return done


def page_cache_budget(share: float = 0.5) -> int:
    """`share` of the memory the kernel reports available (`MemAvailable` in /proc/meminfo,
    which counts the page cache it could reclaim); 0 where it reports none."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(int(line.split()[1]) * 1024 * share)
    except (OSError, ValueError, IndexError):
        pass
    return 0


class ArrayRows:
    """Slices of a one-dimensional array saved with `np.save`, each read with `os.pread` (only
    the slice's bytes are read; nothing of the file is mapped into the process)."""

    def __init__(self, path: Path) -> None:
        """Raises `OSError` when `path` cannot be read, `ValueError` when it holds no plain
        one-dimensional array."""
        with path.open("rb") as file:
            shape, _, dtype, offset = _npy_header(file)
        if len(shape) != 1 or dtype.hasobject:
            raise ValueError(f"{path}: not a one-dimensional array of plain values")
        self.dtype = dtype
        self._bytes = FileBytes(path, offset, shape[0] * dtype.itemsize)
        self._length = shape[0]

    def __len__(self) -> int:
        return self._length

    def slice(self, begin: int, end: int) -> np.ndarray:
        """Elements `begin` to `end` (a new, writable array). Raises `OSError`."""
        begin, end = max(begin, 0), min(end, self._length)
        if end <= begin:
            return np.zeros(0, dtype=self.dtype)
        size = self.dtype.itemsize
        data = self._bytes.read(begin * size, (end - begin) * size)
        return np.frombuffer(bytearray(data), dtype=self.dtype)


def mapped_npz(path: Path) -> dict[str, np.ndarray]:
    """The arrays of a `.npz` file, each an array over one read-only memory map of the file
    when it is stored uncompressed (as `np.savez` stores it) and its data lies aligned for its
    type: only the pages read are loaded. An unaligned member is read into memory with one
    read (numpy would copy it at every use); a member stored compressed, or of objects, is read
    whole as `np.load` reads it. Raises
    `OSError` and `ValueError` as `np.load` does."""
    out: dict[str, np.ndarray] = {}
    with path.open("rb") as file, zipfile.ZipFile(file) as archive:
        mapped: mmap.mmap | None = None
        for info in archive.infolist():
            name = info.filename.removesuffix(".npy")
            array = None
            if info.compress_type == zipfile.ZIP_STORED and info.file_size:
                file.seek(info.header_offset)
                signature, name_length, extra_length = _LOCAL_HEADER.unpack(file.read(30))
                if signature != _LOCAL_SIGNATURE:
                    raise ValueError(f"{path}: member {info.filename} has no local header")
                start = info.header_offset + 30 + name_length + extra_length
                file.seek(start)
                shape, fortran, dtype, offset = _npy_header(file)
                count = int(np.prod(shape, dtype=np.int64))
                if not dtype.hasobject and count and not (fortran and len(shape) > 1) and (
                        offset + count * dtype.itemsize <= start + info.file_size):
                    if offset % dtype.alignment:  # numpy would copy it at every use
                        array = np.empty(shape, dtype=dtype)
                        file.seek(offset)
                        if file.readinto(memoryview(array).cast("B")) != array.nbytes:
                            raise ValueError(f"{path}: member {info.filename} is cut short")
                    else:
                        if mapped is None:
                            mapped = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
                        array = np.ndarray(shape, dtype=dtype, buffer=mapped, offset=offset)
            if array is None:
                with archive.open(info) as member:
                    array = np.lib.format.read_array(member, allow_pickle=False)
            out[name] = array
    return out


def _npy_header(file: BinaryIO) -> tuple[tuple[int, ...], bool, np.dtype, int]:
    """The shape, Fortran order, dtype and data offset of the `.npy` array starting at
    `file`'s position. Raises `ValueError` for an unknown format version."""
    version = np.lib.format.read_magic(file)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(file)
    elif version == (2, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(file)
    else:
        raise ValueError(f"unsupported .npy format version {version}")
    return shape, fortran, np.dtype(dtype), file.tell()
