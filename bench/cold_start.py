"""Cold start: seconds from `rag serve` process start to /readyz, and peak memory.

    python -m bench.cold_start [--quick]

At 10k and 100k chunks: each size started once without a saved snapshot, then several times
with it (the median quoted). Method: docs/benchmarks.md, "Cold start".
"""

from __future__ import annotations

import argparse
import shutil
import statistics
from pathlib import Path

from bench.common import (
    build_store,
    compile_bytecode,
    markdown_table,
    one_start,
    questions,
    settings_for,
    write_results,
)
from rag.snapshot import root_for

SIZES = {"10k": 10_000, "100k": 100_000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10k only, two restarts")
    parser.add_argument("--store-dir", type=Path, default=Path("var"))
    args = parser.parse_args()
    sizes = ["10k"] if args.quick else list(SIZES)
    restarts = 2 if args.quick else 3
    asked = questions(20)
    compile_bytecode()
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
