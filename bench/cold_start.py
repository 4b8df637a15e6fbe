"""Cold start: seconds from `rag serve` process start to /readyz, and peak memory.

    python -m bench.cold_start [--quick]

At 10k and 100k chunks: each size started once without a saved snapshot, then several times
with it (the median quoted). Method: docs/benchmarks.md, "Cold start".
"""

from __future__ import annotations

import argparse
import compileall
import shutil
import statistics
from pathlib import Path

import httpx

from bench.common import (
    Server,
    build_store,
    markdown_table,
    questions,
    settings_for,
    write_results,
)
from rag.snapshot import root_for

SIZES = {"10k": 10_000, "100k": 100_000}


def one_start(data_dir: Path, asked: list[str]) -> tuple[float, float, float]:
    """(seconds to ready, peak MB when ready, peak MB after answering `asked`)."""
    with Server(data_dir) as server:
        ready = server.wait_ready()
        at_ready = server.peak_memory_mb()
        with httpx.Client(timeout=60) as client:
            for question in asked:
                client.post(f"{server.url}/v1/ask",
                            json={"question": question, "mode": "extractive"}).raise_for_status()
        return ready, at_ready, server.peak_memory_mb()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10k only, two restarts")
    parser.add_argument("--store-dir", type=Path, default=Path("var"))
    args = parser.parse_args()
    sizes = ["10k"] if args.quick else list(SIZES)
    restarts = 2 if args.quick else 3
    asked = questions(20)
    # An installed package has its modules' bytecode; an editable checkout under
    # PYTHONDONTWRITEBYTECODE=1 (this sandbox) would compile them on every start (~0.1 s).
    for package in ("rag", "api", "index"):
        compileall.compile_dir(package, quiet=1)
    results, rows = {}, []
    for size in sizes:
        data_dir = args.store_dir / f"bench-store-{size}"
        chunks = build_store(SIZES[size], data_dir)
        shutil.rmtree(root_for(settings_for(data_dir)), ignore_errors=True)
        first = one_start(data_dir, asked)
        runs = [one_start(data_dir, asked) for _ in range(restarts)]
        ready = [r[0] for r in runs]
        results[size] = {"chunks": chunks, "first_start_s": round(first[0], 2),
                         "first_start_peak_mb_at_ready": first[1],
                         "first_start_peak_mb_after_queries": first[2],
                         "restart_s": [round(s, 2) for s in ready],
                         "restart_s_median": round(statistics.median(ready), 2),
                         "restart_peak_mb_at_ready": max(r[1] for r in runs),
                         "restart_peak_mb_after_queries": max(r[2] for r in runs)}
        r = results[size]
        rows.append([size, chunks, r["first_start_s"], r["first_start_peak_mb_after_queries"],
                     r["restart_s_median"], f"{min(ready):.2f}-{max(ready):.2f}",
                     r["restart_peak_mb_at_ready"], r["restart_peak_mb_after_queries"]])
    table = markdown_table(["size", "chunks", "first start to /readyz s (snapshot built)",
                            "its peak MB", "restart to /readyz s (median)", "min-max",
                            "restart peak MB at ready", f"peak MB after {len(asked)} asks"],
                           rows)
    write_results("cold_start", {"restarts": restarts, "results": results}, table)


if __name__ == "__main__":
    main()
