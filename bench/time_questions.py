"""Range accuracy of time in questions: each question of bench/data/time_questions.jsonl read
by `rag.timespan.read_time` against its gold range, order or none, anchored on the newest
publication date of its corpus.

    python -m bench.time_questions [--out bench/results/time_questions.json]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from pathlib import Path

from index.clean import clean_text
from index.load import SUPPORTED_SUFFIXES, read_file
from rag.timespan import read_time

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bench" / "data" / "time_questions.jsonl"
MULTIHOP = ROOT.parent / "shared" / "bench" / "multihop_rag" / "corpus.json"
EXAMPLES = ROOT / "examples" / "articles"


def multihop_anchor(path: Path = MULTIHOP) -> dt.date:
    """The newest publication date of MultiHop-RAG's corpus (its `published_at`, UTC)."""
    return max(dt.date.fromisoformat(row["published_at"][:10])
               for row in json.loads(path.read_text()))


def examples_anchor(folder: Path = EXAMPLES) -> dt.date:
    """The newest publication date ingestion gives the example articles (a record's own date,
    else the date line of its text)."""
    days = []
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() not in SUPPORTED_SUFFIXES:
            continue
        for document in read_file(path):
            found = [c.published for c in clean_text(document.text)] if (
                document.published is None) else [document.published]
            days += [day for day in found if day]
    return max(days)


def reading(question: str, anchor: dt.date) -> dict | None:
    """What the reader makes of a question, in the gold's shape."""
    span = read_time(question, anchor)
    if span is None:
        return None
    return {"published_from": span.start and span.start.isoformat(),
            "published_to": span.end and span.end.isoformat(),
            "newest_first": span.newest_first}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--out", type=Path, default=Path("bench/results/time_questions.json"))
    args = parser.parse_args()

    anchors = {"multihop": multihop_anchor(), "examples": examples_anchor()}
    rows = [json.loads(line) for line in args.data.open() if line.strip()]
    results = []
    for row in rows:
        read = reading(row["question"], anchors[row["corpus"]])
        results.append({"id": row["id"], "question": row["question"], "gold": row["gold"],
                        "read": read, "right": read == row["gold"]})

    def accuracy(subset: list[dict]) -> float:
        return round(sum(r["right"] for r in subset) / len(subset), 3) if subset else 0.0

    scoped = [r for r in results if r["gold"] is not None]
    plain = [r for r in results if r["gold"] is None]
    summary = {"anchors": {k: v.isoformat() for k, v in anchors.items()},
               "questions": len(results), "time_scoped": len(scoped),
               "range_accuracy": accuracy(scoped), "no_time_accuracy": accuracy(plain),
               "all_accuracy": accuracy(results),
               "by_corpus": {c: accuracy([r for r, row in zip(results, rows, strict=True)
                                          if row["corpus"] == c]) for c in anchors}}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"summary": summary, "rows": results}, indent=2))
    print(json.dumps(summary, indent=2))
    for r in results:
        if not r["right"]:
            print(f"MISS {r['id']}: {r['question']}\n  gold {r['gold']}\n  read {r['read']}")


if __name__ == "__main__":
    main()
