"""`make bench`: every benchmark in turn, each writing JSON (and the performance ones a markdown
table) under bench/results/.

    python -m bench.run [--quick] [--data-dir DIR] [--only NAME ...] [--scale-sizes SIZE ...]

The first run embeds the MultiHop-RAG corpus into DIR; later runs reuse it.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

QUALITY = ("bench.multihop_retrieval", "bench.abstention", "bench.question_encoder")
PERFORMANCE = ("bench.latency", "bench.ingestion", "bench.cold_start", "bench.refresh",
               "bench.chunking", "bench.scale")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--data-dir", default="var/bench-multihop")
    parser.add_argument("--only", nargs="+", metavar="NAME",
                        help="run only these (e.g. latency ingestion)")
    parser.add_argument("--scale-sizes", nargs="+", default=["10k", "100k"], metavar="SIZE",
                        help="the stores bench.scale measures (--quick: 10k only)")
    args = parser.parse_args()
    quick = ["--quick"] if args.quick else []
    scale = ["--sizes", *(["10k"] if args.quick else args.scale_sizes)]
    env = {**os.environ, "BENCH_SOURCE_STORE": args.data_dir}
    for module in QUALITY + PERFORMANCE:
        if args.only and module.removeprefix("bench.") not in args.only:
            continue
        extra = ["--data-dir", args.data_dir] if module in QUALITY else []
        options = scale if module == "bench.scale" else [*extra, *quick]
        print(f"\n## {module}", flush=True)
        subprocess.run([sys.executable, "-m", module, *options], check=True, env=env)


if __name__ == "__main__":
    main()
