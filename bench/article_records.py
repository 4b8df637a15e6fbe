"""What the article records' vectors cost a replica: two copies of one store, one with its
article records as an earlier release kept them (384-d) and one after `rag migrate` (1-d),
restarted in turns; restart time, resident memory when ready and the records' index folder
(docs/benchmarks.md, section 10, "Article records without their vectors").

    python -m bench.article_records --before var/old --after var/new [--turns 3]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sqlite3
import statistics
import subprocess
import sys
from pathlib import Path

from bench.common import Server
from bench.scale import commit

RECORD_COLLECTIONS = ("news_articles", "news_article_records")
# A process that opens the store and reads the chunks' collection, then the article records':
# the growth of its anonymous memory with the second read is what the records' index holds.
READS = """
import sys
import time
from pathlib import Path
from rag.config import Settings
from rag.store import Store

def anon():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssAnon"):
            return int(line.split()[1]) / 1024

store = Store.open(Settings(data_dir=Path(sys.argv[1]), _env_file=None))
store.chunk_count(), store.chunk_vectors(store._chunks.get(limit=1, include=[])["ids"])
before, started = anon(), time.perf_counter()
store.article_count(), store._articles.get(limit=1, include=["metadatas"])
print(time.perf_counter() - started, anon() - before)
"""


def records_index_bytes(data_dir: Path) -> int:
    """The size of the folder of the article records' vector index (Chroma's segment)."""
    database = data_dir / "chroma" / "chroma.sqlite3"
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
        rows = db.execute(
            "SELECT s.id FROM segments s JOIN collections c ON s.collection = c.id "
            f"WHERE s.scope = 'VECTOR' AND c.name IN ({','.join('?' * len(RECORD_COLLECTIONS))})",
            RECORD_COLLECTIONS).fetchall()
    folders = [data_dir / "chroma" / str(row[0]) for row in rows]
    return sum(f.stat().st_size for folder in folders if folder.is_dir()
               for f in folder.rglob("*") if f.is_file())


def restart(data_dir: Path) -> tuple[float, float, float]:
    """One start of `rag serve` over `data_dir`: seconds to ready, VmRSS and RssAnon (MiB)."""
    with Server(data_dir, log=data_dir.parent / f"{data_dir.name}-server.log") as server:
        seconds = server.wait_ready(timeout=600)
        return seconds, server.memory_mb("VmRSS"), server.memory_mb("RssAnon")


def first_records_read(data_dir: Path) -> tuple[float, float]:
    """A process's first read of the article records, after the chunks' (Chroma loads a
    collection's index on its first read): its seconds, and how much the process's anonymous
    memory grows with it (MiB)."""
    done = subprocess.run([sys.executable, "-c", READS, str(data_dir)], capture_output=True,
                          text=True, check=True,
                          env={**os.environ, "ANONYMIZED_TELEMETRY": "False"})
    seconds, grown = done.stdout.strip().splitlines()[-1].split()
    return float(seconds), float(grown)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, required=True, help="the unmigrated copy")
    parser.add_argument("--after", type=Path, required=True, help="the migrated copy")
    parser.add_argument("--turns", type=int, default=3)
    args = parser.parse_args()
    found: dict[str, list[tuple[float, float, float]]] = {"before": [], "after": []}
    grown: dict[str, list[tuple[float, float]]] = {"before": [], "after": []}
    loads: list[float] = []
    print(f"commit {commit()}")
    for turn in range(args.turns):
        for label, data_dir in (("before", args.before), ("after", args.after)):
            loads.append(os.getloadavg()[0])
            seconds, rss, anon = restart(data_dir.resolve())
            found[label].append((seconds, rss, anon))
            grown[label].append(first_records_read(data_dir.resolve()))
            print(f"turn {turn + 1} {label}: ready {seconds:.2f} s, VmRSS {rss:,.0f} MiB, "
                  f"RssAnon {anon:,.0f} MiB, load {loads[-1]:.2f}; first read of the records "
                  f"{grown[label][-1][0] * 1000:.0f} ms, {grown[label][-1][1]:+.1f} MiB",
                  flush=True)
    for label, data_dir in (("before", args.before), ("after", args.after)):
        runs = found[label]
        print(f"{label}: restart median {statistics.median(r[0] for r in runs):.2f} s, "
              f"VmRSS median {statistics.median(r[1] for r in runs):,.0f} MiB, RssAnon median "
              f"{statistics.median(r[2] for r in runs):,.0f} MiB, first read of the records "
              f"{statistics.median(g[0] for g in grown[label]) * 1000:.0f} ms and "
              f"{statistics.median(g[1] for g in grown[label]):+.1f} MiB, records' index "
              f"{records_index_bytes(data_dir) / 2**20:.1f} MiB")
    print(f"load average (1 min) {min(loads):.2f}-{max(loads):.2f}")


if __name__ == "__main__":
    main()
