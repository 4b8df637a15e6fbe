"""The C allocator's arena limit for a serving process: glibc gives each thread that allocates
an arena of its own (up to eight a core), and a server's worker threads keep the freed memory of
theirs; a few arenas hold far less (docs/benchmarks.md, "Serving memory at 1M chunks")."""

from __future__ import annotations

import ctypes
import os
import platform

# glibc's mallopt parameter for the arena limit (malloc.h).
M_ARENA_MAX = -8
ARENAS = 2


def limit_arenas(arenas: int = ARENAS) -> bool:
    """Cap this process's malloc arenas at `arenas`; to be called before any thread starts.
    Returns whether the cap was set: not where MALLOC_ARENA_MAX is set (glibc applied it at
    start), nor off glibc."""
    if os.environ.get("MALLOC_ARENA_MAX") or platform.libc_ver()[0] != "glibc":
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(M_ARENA_MAX, arenas))
