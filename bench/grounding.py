"""Score the grounding judge on the labelled claims of `bench/data/grounding_claims*.jsonl`, each
file apart and all together, against the judge of before, with the time to judge a claim;
results go to `bench/results/grounding.json` (docs/citation-verification.md, "The labelled
claims, and the figures").
`python -m bench.grounding [--data-dir DIR] [--split held_out|fit|all]`
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

from api.attribution import attribute
from index.pipeline import Ingestor
from rag.cite import Verifier, numbers_in
from rag.config import Settings
from rag.embeddings import Encoder
from rag.engine import Engine
from rag.lexical import LexicalIndex
from rag.schemas import Chunk, Hit
from rag.sentences import sentence_spans

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
CLAIMS = ROOT / "bench" / "data" / "grounding_claims.jsonl"
ADDED_CLAIMS = ROOT / "bench" / "data" / "grounding_claims_added.jsonl"
MORE_CLAIMS = ROOT / "bench" / "data" / "grounding_claims_more.jsonl"
CLAPNQ = SHARED / "bench" / "clapnq" / "clapnq_dev_answerable.jsonl"
CLAPNQ_UNANSWERABLE = SHARED / "bench" / "clapnq" / "clapnq_dev_unanswerable.jsonl"
DEV_GROUNDING = SHARED / "corpus" / "dev_grounding.jsonl"
KINDS = ("paraphrase", "negation", "antonym", "speaker", "entity", "place", "date", "number",
         "quantifier", "modality")


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def inline_chunk(key: str, text: str, title: str | None = None) -> Chunk:
    """A passage sent inline: one chunk, its sentences split now, no speakers stored."""
    return Chunk(id=f"{key}:0", article_id=key, ordinal=0, text=text, start=0, end=len(text),
                 title=title, sentences=tuple(sentence_spans(text)))


def passages_for(claims: list[dict], engine: Engine) -> dict[str, Chunk]:
    """Each claim's passage, by claim id."""
    chunks = engine.retriever.lexical.chunks
    records = {r["id"]: r for path in (CLAPNQ, CLAPNQ_UNANSWERABLE) for r in read_jsonl(path)}
    dev = {r["id"]: r for r in read_jsonl(DEV_GROUNDING)}
    found = {}
    for claim in claims:
        source = claim["source"]
        if source.startswith("shared/clapnq/"):
            passage = records[source.rsplit("/", 1)[1]]["passages"][0]
            found[claim["id"]] = inline_chunk(source, passage["text"], passage["title"])
        elif source.startswith("shared/dev_grounding/"):
            key = source.rsplit("/", 1)[1]
            found[claim["id"]] = inline_chunk(source, dev[key]["passage"])
        else:
            found[claim["id"]] = next(c for c in chunks if claim["evidence"] in c.text)
    return found


# The judge of before this change: term share >= 0.65, every digit present, cosine >= 0.59
# by the documents' encoder (all-MiniLM-L6-v2 as shipped) to the passage's nearest sentence.
OLD_LEXICAL, OLD_EMBEDDING = 0.65, 0.59


class OldJudge:
    """The judge of before (term share, digits present, cosine), on the same pairs."""

    def __init__(self, encoder: Encoder) -> None:
        self._encoder = encoder
        self._sentences: dict[str, np.ndarray] = {}

    def kept(self, verifier: Verifier, claim: str) -> bool:
        chunk = verifier.passages[0].chunk
        if chunk.id not in self._sentences:
            self._sentences[chunk.id] = self._encoder.embed(verifier._texts[0])
        cosine = float((self._sentences[chunk.id] @ self._encoder.embed([claim])[0]).max())
        lexical = verifier.supports(claim)[0].lexical
        digits = numbers_in(claim) - numbers_in(" ".join(verifier._texts[0]) + " "
                                                + (chunk.title or ""))
        return not digits and lexical >= OLD_LEXICAL and cosine >= OLD_EMBEDDING


def run(claims: list[dict], passages: dict[str, Chunk], engine: Engine) -> list[dict]:
    """Each claim judged as an LLM sentence citing its passage would be, timed; and, for the
    time only, judged again with the claim and passage embedded by the documents' encoder
    (the judge's encoder before it was the int8 one), in the same run."""
    lexical = LexicalIndex.of_chunks(list({c.id: c for c in passages.values()}.values()))
    verifiers: dict[str, Verifier] = {}
    baseline: dict[str, Verifier] = {}
    old = OldJudge(engine.encoder)
    rows = []
    for claim in claims:
        chunk = passages[claim["id"]]
        began = time.perf_counter()
        if chunk.id not in verifiers:
            verifiers[chunk.id] = Verifier([Hit(chunk=chunk, score=1.0)],
                                           engine.claim_encoder, lexical,
                                           attribute=attribute)
            verifiers[chunk.id].facts(1)
        prepared = time.perf_counter()
        verifier = verifiers[chunk.id]
        judgement = verifier.judge(claim["claim"], [1])
        judged = time.perf_counter()
        rows.append({**claim, "kept": judgement.reason == "supported",
                     "reason": judgement.reason,
                     "detail": judgement.checked.detail if judgement.checked else "",
                     "judge_ms": (judged - prepared) * 1000,
                     "prepare_ms": (prepared - began) * 1000})
    # The other models run in passes of their own: alternating two models claim by claim
    # slows both (each run finds the other's weights in the caches).
    for row in rows:
        chunk = passages[row["id"]]
        if chunk.id not in baseline:
            baseline[chunk.id] = Verifier([Hit(chunk=chunk, score=1.0)], engine.encoder,
                                          lexical, attribute=attribute)
            baseline[chunk.id].facts(1)
        began = time.perf_counter()
        baseline[chunk.id].judge(row["claim"], [1])
        row["documents_encoder_judge_ms"] = (time.perf_counter() - began) * 1000
    for row in rows:
        row["old_kept"] = old.kept(verifiers[passages[row["id"]].id], row["claim"])
    return rows


def summarise(rows: list[dict]) -> dict:
    """Kept / rejected share per kind, reasons, and the old judge's figures."""
    by_kind: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_kind[row["kind"]].append(row)
    kinds = {}
    for kind in KINDS:
        group = by_kind.get(kind, [])
        if not group:
            continue
        want_kept = kind == "paraphrase"
        right = sum(r["kept"] == want_kept for r in group)
        old_right = sum(r["old_kept"] == want_kept for r in group)
        kinds[kind] = {"claims": len(group), "right": right, "rate": round(right / len(group), 3),
                       "old_right": old_right,
                       "old_rate": round(old_right / len(group), 3),
                       "reasons": dict(Counter(r["reason"] for r in group).most_common())}
    faithful = by_kind.get("paraphrase", [])
    fabricated = [r for r in rows if r["kind"] != "paraphrase"]
    return {
        "claims": len(rows),
        "faithful_kept": _share(faithful, True, "kept"),
        "fabrications_rejected": _share(fabricated, False, "kept"),
        "old_faithful_kept": _share(faithful, True, "old_kept"),
        "old_fabrications_rejected": _share(fabricated, False, "old_kept"),
        "kinds": kinds,
    }


def _share(rows: list[dict], value: bool, key: str) -> float | None:
    return round(sum(r[key] == value for r in rows) / len(rows), 3) if rows else None


def timing(rows: list[dict]) -> dict:
    judge = sorted(r["judge_ms"] for r in rows)
    prepare = sorted(r["prepare_ms"] for r in rows if r["prepare_ms"] > 0.5)
    baseline = [r["documents_encoder_judge_ms"] for r in rows]
    return {"judge_p50_ms": round(statistics.median(judge), 2),
            "judge_p95_ms": round(judge[int(0.95 * (len(judge) - 1))], 2),
            "documents_encoder_judge_p50_ms": round(statistics.median(baseline), 2),
            "passage_prepare_p50_ms": round(statistics.median(prepare), 2) if prepare else None}


def table(summary: dict) -> str:
    lines = ["| kind | claims | want | now | before |", "|---|---|---|---|---|"]
    for kind, k in summary["kinds"].items():
        want = "kept" if kind == "paraphrase" else "rejected"
        reasons = ", ".join(f"{r} {n}" for r, n in k["reasons"].items())
        lines.append(f"| {kind} | {k['claims']} | {want} | {k['right']}/{k['claims']} "
                     f"({reasons}) | {k['old_right']}/{k['claims']} |")
    lines.append(f"| **all fabrications** | | rejected | {summary['fabrications_rejected']:.3f} "
                 f"| {summary['old_fabrications_rejected']:.3f} |")
    lines.append(f"| **faithful** | | kept | {summary['faithful_kept']:.3f} | "
                 f"{summary['old_faithful_kept']:.3f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path("var/bench-grounding"))
    parser.add_argument("--split", choices=("fit", "held_out", "all"), default="all")
    parser.add_argument("--out", type=Path, default=Path("bench/results/grounding.json"))
    parser.add_argument("--show", action="store_true", help="print every claim's verdict")
    args = parser.parse_args()

    engine = Engine(Settings(data_dir=args.data_dir, _env_file=None))
    Ingestor(engine.store, engine.encoder, engine.settings).ingest_paths(
        [ROOT / "examples" / "articles", SHARED / "corpus"])
    engine.retriever.refresh()
    engine.claim_encoder.embed(["a first run loads the encoder"])
    splits = ("fit", "held_out") if args.split == "all" else (args.split,)
    original = [c for c in read_jsonl(CLAIMS) if c["split"] in splits]
    added = [c for c in read_jsonl(ADDED_CLAIMS) if c["split"] in splits]
    more = [c for c in read_jsonl(MORE_CLAIMS) if c["split"] in splits]
    claims = original + added + more
    rows = run(claims, passages_for(claims, engine), engine)
    ids = {name: {c["id"] for c in chosen}
           for name, chosen in (("original", original), ("added", added), ("more", more))}
    sets = {name: [r for r in rows if r["id"] in ids[name]] for name in ids}
    sets["enlarged"] = [r for r in rows if r["id"] not in ids["more"]]
    sets["all"] = rows
    results = {"timing": timing(sets["original"]), "timing_enlarged": timing(sets["enlarged"]),
               "timing_all": timing(rows), "encoder": engine.claim_encoder.name}
    for split in splits:
        for name, chosen in sets.items():
            chosen = [r for r in chosen if r["split"] == split]
            summary = summarise(chosen)
            if name == "original":
                results[split] = summary
            else:
                results.setdefault(name, {})[split] = summary
            print(f"\n### {split}, {name} claims ({len(chosen)})\n\n{table(summary)}")
        if args.show:
            for r in (r for r in rows if r["split"] == split):
                ok = r["kept"] == (r["kind"] == "paraphrase")
                print(f"{'  ' if ok else 'XX'} {r['id']:8} {r['kind']:10} {r['reason']:20} "
                      f"{r['claim'][:90]} | {r['detail'][:80]}")
    print(f"\njudging one claim against its prepared passage: p50 "
          f"{results['timing']['judge_p50_ms']} ms, p95 {results['timing']['judge_p95_ms']} ms "
          f"(the documents' encoder in the same run: p50 "
          f"{results['timing']['documents_encoder_judge_p50_ms']} ms; "
          f"passage preparation p50 {results['timing']['passage_prepare_p50_ms']} ms; "
          f"all {len(rows)} claims: p50 {results['timing_all']['judge_p50_ms']} ms)")
    if args.split == "all":
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
