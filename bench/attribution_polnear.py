"""Who-said-what attribution (`index/speakers.py`) scored sentence by sentence against PolNeAR's
hand annotations: detection, speaker, cue, and direct or reported. Only the train and dev
compartments are read (docs/evaluation.md, "Attribution on PolNeAR (train and dev)").
`python -m bench.attribution_polnear /path/to/PolNeAR/data [--splits train dev] [--out FILE]`
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from index.speakers import attribute_speakers
from rag.sentences import sentence_spans

ALLOWED_SPLITS = ("train", "dev")
# Verbs of saying, by stem: a gold cue holding one is a speech attribution.
SPEECH_STEMS = (
    "say", "said", "tell", "told", "according", "add", "note", "writ", "wrote", "tweet", "stat",
    "claim", "argu", "ask", "explain", "announc", "repl", "respond", "warn", "insist", "acknowledg",
    "admit", "den", "call", "declar", "assert", "report", "told", "remark", "comment", "suggest",
    "conclud", "continu", "describ", "urg", "promis", "pledg", "vow", "stress", "emphasi",
    "recall", "testif", "confirm", "accus", "criticiz", "criticis", "condemn", "prais", ":",
)
_QUOTES = re.compile(r"[\"“”]")
_PRONOUNS = {"he", "she", "it", "they", "we", "i", "you", "his", "her", "their", "its", "who"}


@dataclass
class Gold:
    source: str
    cue: str
    cue_spans: list[tuple[int, int]]
    content_spans: list[tuple[int, int]]
    direct: bool
    speech: bool


@dataclass
class Tally:
    counts: Counter = field(default_factory=Counter)

    def rate(self, hit: str, total: str) -> float | None:
        return round(self.counts[hit] / self.counts[total], 4) if self.counts[total] else None


def read_annotations(path: Path, text: str) -> list[Gold]:
    """The attributions of one `.ann` file (brat standoff)."""
    spans: dict[str, tuple[str, list[tuple[int, int]], str]] = {}
    relations: list[dict[str, str]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if line.startswith("T") and len(parts) >= 3:
            kind, _, ranges = parts[1].partition(" ")
            found = [tuple(map(int, r.split())) for r in ranges.split(";") if r.strip()]
            spans[parts[0]] = (kind, found, parts[2])
        elif line.startswith("E") and len(parts) >= 2:
            relations.append(dict(item.split(":", 1) for item in parts[1].split()
                                  if ":" in item))
    golds = []
    for relation in relations:
        cue = spans.get(relation.get("Cue", ""))
        content = spans.get(relation.get("Content", ""))
        if cue is None or content is None:
            continue
        source = spans.get(relation.get("Source", ""))
        content_text = "".join(text[a:b] for a, b in content[1])
        golds.append(Gold(
            source=source[2] if source else "", cue=cue[2].lower(), cue_spans=cue[1],
            content_spans=content[1], direct=_mostly_quoted(text, content[1], content_text),
            speech=any(stem in word for word in re.findall(r"[\w:]+", cue[2].lower())
                       for stem in SPEECH_STEMS if word.startswith(stem) or stem == ":")
            or ":" in cue[2],
        ))
    return golds


def _mostly_quoted(text: str, spans: list[tuple[int, int]], content: str) -> bool:
    """Whether most of the content lies between quotation marks (the marks may sit just
    outside the annotated span)."""
    inside = 0
    for start, end in spans:
        opened = text[max(0, start - 2):start].rstrip().endswith(("\"", "“"))
        for char in text[start:end]:
            if char in "“”\"":
                opened = char == "“" or (char == "\"" and not opened)
            elif opened:
                inside += 1
    return inside > 0.5 * max(len(content.strip()), 1)


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> int:
    return max(0, min(a[1], b[1]) - max(a[0], b[0]))


def gold_of(sentence: tuple[int, int], golds: list[Gold]) -> Gold | None:
    """The gold attribution a sentence belongs to: its cue is inside, else it is mostly the
    attribution's content."""
    for gold in golds:
        if any(_overlap(sentence, span) for span in gold.cue_spans):
            return gold
    length = sentence[1] - sentence[0]
    for gold in golds:
        if sum(_overlap(sentence, span) for span in gold.content_spans) >= 0.5 * length:
            return gold
    return None


def _named(source: str) -> list[str]:
    """The capitalised words of a gold source ("Sen. Ted Cruz (R-Texas)"), pronouns aside."""
    words = re.findall(r"[A-Z][\w’'-]+", source)
    return [w for w in words if w.lower() not in _PRONOUNS]


def score_article(text: str, golds: list[Gold], tally: Tally) -> None:
    sentences = sentence_spans(text)
    found = {(a.start, a.end): a for a in attribute_speakers(text, sentences)}
    counts = tally.counts
    for sentence in sentences:
        gold = gold_of(sentence, golds)
        ours = found.get(sentence)
        counts["gold"] += gold is not None
        counts["gold_speech"] += gold is not None and gold.speech
        counts["ours"] += ours is not None
        if ours is None or gold is None:
            continue
        counts["agree"] += 1
        counts["agree_speech"] += gold.speech
        names = _named(gold.source)
        if names:
            counts["speaker_total"] += 1
            last = ours.speaker.split()[-1].lower().strip("’'")
            counts["speaker_right"] += any(last == n.lower().removesuffix("’s")
                                           .removesuffix("'s") for n in names)
        if any(_overlap(sentence, span) for span in gold.cue_spans) and ours.cue:
            counts["cue_total"] += 1
            counts["cue_right"] += ours.cue.lower() in gold.cue
        kind = getattr(ours, "kind", None)
        if kind is not None:
            counts["kind_total"] += 1
            counts["kind_right"] += (kind == "direct") == gold.direct


def articles(data: Path, split: str) -> list[tuple[Path, Path]]:
    """(text, first annotation) pairs of a split; an article annotated twice counts once."""
    pairs = []
    for text in sorted((data / split / "text").glob("*.txt")):
        annotations = sorted((data / split / "attributions").glob(f"{text.stem}_*.ann"))
        if annotations:
            pairs.append((text, annotations[0]))
    return pairs


def evaluate(data: Path, split: str) -> dict[str, object]:
    tally = Tally()
    began = time.perf_counter()
    chars = 0
    pairs = articles(data, split)
    for text_path, ann_path in pairs:
        text = text_path.read_text(encoding="utf-8")
        chars += len(text)
        score_article(text, read_annotations(ann_path, text), tally)
    seconds = time.perf_counter() - began
    counts = tally.counts
    return {
        "split": split, "articles": len(pairs), "sentences_gold": counts["gold"],
        "sentences_ours": counts["ours"],
        "precision": tally.rate("agree", "ours"),
        "recall_all": tally.rate("agree", "gold"),
        "recall_speech": tally.rate("agree_speech", "gold_speech"),
        "speaker_accuracy": tally.rate("speaker_right", "speaker_total"),
        "speaker_scored": counts["speaker_total"],
        "cue_accuracy": tally.rate("cue_right", "cue_total"),
        "direct_reported_agreement": tally.rate("kind_right", "kind_total"),
        "ms_per_1000_chars": round(1000 * seconds / max(chars, 1) * 1000, 3),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="PolNeAR's data directory")
    parser.add_argument("--splits", nargs="+", default=list(ALLOWED_SPLITS),
                        choices=ALLOWED_SPLITS)
    parser.add_argument("--out", type=Path, default=None, help="write the figures as JSON")
    args = parser.parse_args(argv)
    results = [evaluate(args.data, split) for split in args.splits]
    for result in results:
        print(json.dumps(result))
    if args.out:
        args.out.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
