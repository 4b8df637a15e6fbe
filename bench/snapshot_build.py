"""Building the search snapshot of a store in process (a first start's main cost): seconds a
build and the process's peak resident memory, on a copy of the store so that the one given is
only read.

    python -m bench.snapshot_build --store-dir var/bench-scale-10k [--rounds 2]

Run it from two checkouts in turn to compare them on the same copy (docs/benchmarks.md,
"Sentence vectors read from the store").
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import tempfile
import time
from pathlib import Path

from rag.config import Settings
from rag.snapshot import Snapshot
from rag.store import Store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store-dir", type=Path, required=True)
    parser.add_argument("--copy-dir", type=Path, default=None,
                        help="a copy made earlier (kept); by default one is made and removed")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="snapshot-build-") as folder:
        copy = args.copy_dir or Path(folder) / "store"
        if not copy.exists():
            shutil.copytree(args.store_dir / "chroma", copy / "chroma")
            shutil.copytree(args.store_dir / "blobs", copy / "blobs")
        store = Store.open(Settings(data_dir=copy, _env_file=None))
        revision = store.revision()
        seconds = []
        for _ in range(args.rounds):
            began = time.perf_counter()
            snapshot = Snapshot.build(store, revision)
            seconds.append(round(time.perf_counter() - began, 2))
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux
        print(json.dumps({"chunks": len(snapshot.corpus), "build_s": seconds,
                          "peak_rss_mb": round(peak)}))


if __name__ == "__main__":
    main()
