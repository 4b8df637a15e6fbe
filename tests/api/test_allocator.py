"""A serving process caps glibc's malloc arenas: threads that allocate share a few arenas instead
of each taking one (counted by glibc's own `malloc_stats`, in a fresh interpreter)."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's allocator")

# Eight threads allocating at once, then glibc's count of its arenas on stderr.
PROGRAM = """
import ctypes, sys, threading
from api.allocator import limit_arenas
print(limit_arenas() if sys.argv[1] == "capped" else "left", flush=True)
barrier = threading.Barrier(8)
def work():
    barrier.wait()
    kept = [bytearray(4096) for _ in range(2000)]
    barrier.wait()
threads = [threading.Thread(target=work) for _ in range(8)]
for t in threads: t.start()
for t in threads: t.join()
ctypes.CDLL(None).malloc_stats()
"""


def arenas(mode: str, **env: str) -> tuple[str, int]:
    environment = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"} | env
    done = subprocess.run([sys.executable, "-c", PROGRAM, mode], capture_output=True,
                          text=True, timeout=60, env=environment, check=True)
    return done.stdout.strip(), done.stderr.count("Arena ")


def test_a_capped_process_allocates_from_two_arenas_where_threads_took_more() -> None:
    said, capped = arenas("capped")
    assert said == "True" and capped <= 2
    _, left = arenas("left")
    assert left > 2


def test_an_arena_limit_set_in_the_environment_is_left_as_set() -> None:
    said, counted = arenas("capped", MALLOC_ARENA_MAX="3")
    assert said == "False" and counted <= 3
