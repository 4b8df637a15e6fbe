"""How chunking one article scales with its size: 1, 2, 4 and 8 MB of real news text, or one
paragraph with `--one-line`, timed with the size limit lifted (docs/benchmarks.md, section 6).
`python -m bench.chunking [--quick] [--sizes 1 2 4 8] [--one-line] [--name NAME]`
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import subprocess
import time

from bench.common import MULTIHOP, ROOT, markdown_table, write_results
from index.chunk import chunk_article
from rag.schemas import Article, article_id_for

MB = 1_000_000


def _bodies() -> list[str]:
    corpus = MULTIHOP / "corpus.json"
    if corpus.is_file():
        return [row["body"] for row in json.loads(corpus.read_text())]
    return [p.read_text() for p in sorted((ROOT / "examples" / "articles").glob("*.txt"))]


def article_of(size: int, bodies: list[str], separator: str) -> Article:
    """An article of about `size` characters made of whole bodies (cut at `size`)."""
    parts: list[str] = []
    length = 0
    while length < size:
        for body in bodies:
            text = " ".join(body.split()) if separator == " " else body.strip()
            parts.append(text)
            length += len(text) + len(separator)
            if length >= size:
                break
    text = separator.join(parts)[:size].strip()
    return Article(id=article_id_for(text), text=text, title="Long", source="Bench")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=None, metavar="MB",
                        help="article sizes (default 1 2 4 8; --quick: 1 2 4)")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--one-line", action="store_true", help="one paragraph, no line breaks")
    parser.add_argument("--name", default=None, help="result file name (default: chunking)")
    args = parser.parse_args()
    args.sizes = args.sizes or ([1, 2, 4] if args.quick else [1, 2, 4, 8])
    separator = " " if args.one_line else "\n\n"
    bodies = _bodies()
    chunk_article(article_of(20_000, bodies, separator))  # warm-up: imports, tokenizer
    rows, runs = [], []
    for size in args.sizes:
        article = article_of(size * MB, bodies, separator)
        began = time.perf_counter()
        try:
            chunks = len(chunk_article(article, **_no_limit(article)))
            error = None
        except Exception as failure:  # the old chunker's punkt timeout, recorded as a result
            chunks, error = None, f"{type(failure).__name__}: {failure}"[:120]
        seconds = time.perf_counter() - began
        runs.append({"mb": size, "chars": len(article.text), "chunks": chunks,
                     "seconds": round(seconds, 2), "error": error})
        print(runs[-1], flush=True)
    base = runs[0]["seconds"] / runs[0]["mb"]
    for run in runs:
        rows.append([run["mb"], run["chunks"] if run["error"] is None else run["error"],
                     run["seconds"], round(run["seconds"] / run["mb"], 2),
                     round(run["seconds"] / base / runs[0]["mb"], 2)])
    table = markdown_table(["MB", "chunks", "s", "s/MB", "time / 1 MB time"], rows)
    layout = "one-line" if args.one_line else "paragraphs"
    write_results(args.name or f"chunking-{layout}",
                  {"layout": layout, "load_average": os.getloadavg(), "runs": runs,
                   "commit": _commit()}, table)


def _no_limit(article: Article) -> dict:
    """The size limit lifted for the measurement (the chunker before it had none)."""
    if "max_chars" in inspect.signature(chunk_article).parameters:
        return {"max_chars": len(article.text)}
    return {}


def _commit() -> str | None:
    """The commit measured (with "+" when the work tree differs from it)."""
    try:
        head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "diff", "--quiet", "HEAD", "--",
                                "index", "rag"], check=False).returncode
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ("+" if dirty else "")


if __name__ == "__main__":
    main()
