"""`make bench`: every benchmark in turn, each writing its JSON under bench/results/.

    python -m bench.run [--quick] [--data-dir DIR]

The first run embeds the MultiHop-RAG corpus into DIR (about 20 minutes on 2 cores); later
runs reuse it, since ingestion skips unchanged articles.
"""

from __future__ import annotations

import argparse
import subprocess
import sys


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--data-dir", default="var/bench-multihop")
    args = parser.parse_args()
    extra = ["--data-dir", args.data_dir] + (["--quick"] if args.quick else [])
    for module in ("bench.multihop_retrieval", "bench.abstention"):
        print(f"\n## {module}", flush=True)
        subprocess.run([sys.executable, "-m", module, *extra], check=True)


if __name__ == "__main__":
    main()
