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
from pathlib import Path

from bench.common import Server
from bench.scale import commit

RECORD_COLLECTIONS = ("news_articles", "news_article_records")


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, required=True, help="the unmigrated copy")
    parser.add_argument("--after", type=Path, required=True, help="the migrated copy")
    parser.add_argument("--turns", type=int, default=3)
    args = parser.parse_args()
    found: dict[str, list[tuple[float, float, float]]] = {"before": [], "after": []}
    loads: list[float] = []
    print(f"commit {commit()}")
    for turn in range(args.turns):
        for label, data_dir in (("before", args.before), ("after", args.after)):
            loads.append(os.getloadavg()[0])
            seconds, rss, anon = restart(data_dir.resolve())
            found[label].append((seconds, rss, anon))
            print(f"turn {turn + 1} {label}: ready {seconds:.2f} s, VmRSS {rss:,.0f} MiB, "
                  f"RssAnon {anon:,.0f} MiB, load {loads[-1]:.2f}", flush=True)
    for label, data_dir in (("before", args.before), ("after", args.after)):
        runs = found[label]
        print(f"{label}: restart median {statistics.median(r[0] for r in runs):.2f} s, "
              f"VmRSS median {statistics.median(r[1] for r in runs):,.0f} MiB, RssAnon median "
              f"{statistics.median(r[2] for r in runs):,.0f} MiB, records' index "
              f"{records_index_bytes(data_dir) / 2**20:.1f} MiB")
    print(f"load average (1 min) {min(loads):.2f}-{max(loads):.2f}")


if __name__ == "__main__":
    main()
