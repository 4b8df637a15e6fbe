"""Calibrate citation verification's two thresholds (rag/cite.py) on labelled claim-passage pairs,
with the grounding judge's meaning checks (rag/judge.py) on.

    python -m bench.calibrate_citations [--data-dir DIR]

Indexes `examples/articles` and `../shared/corpus` into DIR (idempotent), then scores pairs:
- supported: each passage sentence of `bench/data/citation_claims.jsonl` (one that answers a
  question of `../shared/corpus/dev_qa.jsonl` or `examples/qa.jsonl`) against its passage, and
  the hand-written paraphrase of that sentence against the same passage;
- unsupported: the hand-written fabrication (same people and places, a claim the passage does
  not make) against that passage; the sentence and its paraphrase against the other passages
  retrieved for the same question (other articles, none holding the question's evidence); and
  against the best passage of every other question (unrelated).
The fit half of `bench/data/grounding_claims.jsonl` (faithful paraphrases and fabrications of
every kind, bench/grounding.py) adds two groups; its held-out half is reported, never fitted.
Every (term share, cosine) pair of a grid, with the numbers test and the meaning checks always
on, is scored by balanced accuracy over the fitted groups (`FITTED_GROUPS`, each counting
equally whatever its size); among the best, the point nearest their centre is chosen.
CLAP-NQ's answerable dev records add realistic grounded answers: each sentence of a
human-written answer against its own passage (supported) and against the next record's
passage (unsupported); even-numbered records join the fit, odd ones are held out. Results go
to bench/results/citation_calibration.json.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from api.attribution import attribute
from bench.grounding import CLAIMS as GROUNDING_CLAIMS
from bench.grounding import passages_for
from index.pipeline import Ingestor
from rag.cite import Verifier, passage_sentences, split_answer
from rag.config import Settings
from rag.embeddings import Encoder
from rag.engine import Engine
from rag.lexical import LexicalIndex
from rag.schemas import Chunk, Hit
from rag.sentences import sentence_spans

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
QUESTIONS = [SHARED / "corpus" / "dev_qa.jsonl", ROOT / "examples" / "qa.jsonl"]
CLAIMS = ROOT / "bench" / "data" / "citation_claims.jsonl"
CLAPNQ = SHARED / "bench" / "clapnq" / "clapnq_dev_answerable.jsonl"
LEXICAL_GRID = np.round(np.arange(0.0, 1.0001, 0.05), 2)
EMBEDDING_GRID = np.round(np.arange(0.0, 1.0001, 0.01), 2)
# The groups the thresholds are fitted on, and whether each should be accepted as supported.
FITTED_GROUPS = {"paraphrase": True, "fabrication": False, "other_retrieved": False,
                 "clapnq_own_fit": True, "clapnq_other_fit": False,
                 "grounding_faithful_fit": True, "grounding_fabricated_fit": False}
SUPPORTED_GROUPS = {"verbatim", "paraphrase", "clapnq_own_fit", "clapnq_own_held_out",
                    "grounding_faithful_fit", "grounding_faithful_held_out"}

# (term share, cosine, 1.0 if the passage holds every number the claim states else 0.0,
#  1.0 if the meaning checks find nothing the passage contradicts or lacks else 0.0)
Pair = tuple[float, float, float, float]


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def score(claims: list[tuple[str, Chunk]], encoder: Encoder,
          lexical: LexicalIndex) -> list[Pair]:
    """The verifier's signals for each (claim, passage) pair: the meaning checks are run with
    the thresholds at zero, so they judge every pair whatever its term share and cosine."""
    verifiers: dict[str, Verifier] = {}
    pairs = []
    for claim, chunk in claims:
        if chunk.id not in verifiers:  # embeds the passage's sentences once
            verifiers[chunk.id] = Verifier([Hit(chunk=chunk, score=1.0)], encoder, lexical,
                                           lexical_threshold=0.0, embedding_threshold=-1.0,
                                           attribute=attribute)
        support = verifiers[chunk.id].supports(claim)[0]
        pairs.append((support.lexical, support.cosine, float(not support.missing_numbers),
                      float(support.reason == "supported")))
    return pairs


def development_pairs(engine: Engine) -> dict[str, list[Pair]]:
    """The labelled groups built from our development questions and the claims file."""
    questions = {row["id"]: row for path in QUESTIONS for row in read_jsonl(path)}
    chunks = engine.retriever.lexical.chunks
    groups: dict[str, list[tuple[str, Chunk]]] = {
        "verbatim": [], "paraphrase": [], "fabrication": [], "other_retrieved": [],
        "unrelated": []}
    best_passage = {qid: engine.retriever.search(q["question"], 1).hits[0].chunk
                    for qid, q in questions.items() if q["answerable"]}
    for row in read_jsonl(CLAIMS):
        own = next(c for c in chunks if row["sentence"] in c.text)
        sentence = next(c_text for c_text in (own.text[s - own.start : e - own.start]
                                              for s, e in passage_sentences(own))
                        if row["sentence"] in c_text)
        groups["verbatim"].append((sentence, own))
        groups["paraphrase"].append((row["paraphrase"], own))
        groups["fabrication"].append((row["fabrication"], own))
        question = questions[row["question"]]
        for hit in engine.retriever.search(question["question"], 8).hits:
            other = hit.chunk
            if other.article_id == own.article_id or any(
                    phrase in other.text for phrase in question["evidence"]):
                continue
            groups["other_retrieved"] += [(sentence, other), (row["paraphrase"], other)]
        for qid, passage in best_passage.items():
            if qid != row["question"] and passage.article_id != own.article_id:
                groups["unrelated"] += [(sentence, passage), (row["paraphrase"], passage)]
    lexical, encoder = engine.retriever.lexical, engine.encoder
    return {name: score(claims, encoder, lexical) for name, claims in groups.items()}


def grounding_pairs(engine: Engine) -> dict[str, list[Pair]]:
    """The labelled grounding claims against their passages, by split: faithful paraphrases
    (supported) and fabrications (unsupported)."""
    claims = read_jsonl(GROUNDING_CLAIMS)
    passages = passages_for(claims, engine)
    lexical = LexicalIndex(list({c.id: c for c in passages.values()}.values()))
    groups = {}
    for split in ("fit", "held_out"):
        chosen = [c for c in claims if c["split"] == split]
        for name, faithful in (("faithful", True), ("fabricated", False)):
            pairs = [(c["claim"], passages[c["id"]]) for c in chosen
                     if (c["kind"] == "paraphrase") == faithful]
            groups[f"grounding_{name}_{split}"] = score(pairs, engine.encoder, lexical)
    return groups


def clapnq_pairs(engine: Engine, limit: int) -> dict[str, list[Pair]]:
    """CLAP-NQ answer sentences against their own and the next record's passage; records of
    even position are fitted on, odd ones held out."""
    records = read_jsonl(CLAPNQ)[:limit]
    passages = [_chunk(i, r["passages"][0]) for i, r in enumerate(records)]
    lexical = LexicalIndex(passages)
    groups = {}
    for split, parity in (("fit", 0), ("held_out", 1)):
        own, other = [], []
        for i in range(parity, len(records), 2):
            for sentence in split_answer(records[i]["output"][0]["answer"]):
                own.append((sentence.claim, passages[i]))
                other.append((sentence.claim, passages[(i + 1) % len(passages)]))
        groups[f"clapnq_own_{split}"] = score(own, engine.encoder, lexical)
        groups[f"clapnq_other_{split}"] = score(other, engine.encoder, lexical)
    return groups


def _chunk(number: int, passage: dict) -> Chunk:
    text = passage["text"]
    return Chunk(id=f"clapnq{number}:0", article_id=f"clapnq{number}", ordinal=0, text=text,
                 start=0, end=len(text), title=passage["title"],
                 sentences=tuple(sentence_spans(text)))


def accepted(pairs: list[Pair], lexical: float, embedding: float) -> float:
    """Share of pairs the verifier would call supported at these thresholds."""
    rows = np.array(pairs)
    return float(((rows[:, 0] >= lexical) & (rows[:, 1] >= embedding) & (rows[:, 2] > 0)
                  & (rows[:, 3] > 0)).mean())


def fit(groups: dict[str, list[Pair]]) -> tuple[float, float, float]:
    """(lexical, embedding, balanced accuracy) of the best grid point nearest their centre."""
    table = np.array([[np.mean([accepted(groups[g], lex, emb) if keep
                                else 1 - accepted(groups[g], lex, emb)
                                for g, keep in FITTED_GROUPS.items()])
                       for emb in EMBEDDING_GRID] for lex in LEXICAL_GRID])
    best = table.max()
    points = np.argwhere(np.isclose(table, best))
    centre = points.mean(axis=0)
    i, j = points[np.argmin(((points - centre) ** 2).sum(axis=1))]
    return float(LEXICAL_GRID[i]), float(EMBEDDING_GRID[j]), float(best)


def summary(pairs: list[Pair], lexical: float, embedding: float) -> dict[str, float]:
    rows = np.array(pairs)
    return {"pairs": len(pairs), "accepted": round(accepted(pairs, lexical, embedding), 3),
            "numbers_missing": int((rows[:, 2] == 0).sum()),
            "lexical_median": round(float(np.median(rows[:, 0])), 3),
            "cosine_median": round(float(np.median(rows[:, 1])), 3),
            "cosine_p10": round(float(np.percentile(rows[:, 1], 10)), 3),
            "cosine_p90": round(float(np.percentile(rows[:, 1], 90)), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path("var/bench-citations"))
    parser.add_argument("--clapnq", type=int, default=300, help="CLAP-NQ records to check")
    parser.add_argument("--out", type=Path,
                        default=Path("bench/results/citation_calibration.json"))
    args = parser.parse_args()

    engine = Engine(Settings(data_dir=args.data_dir, _env_file=None))
    Ingestor(engine.store, engine.encoder, engine.settings).ingest_paths(
        [ROOT / "examples" / "articles", SHARED / "corpus"])
    engine.retriever.refresh()
    groups = (development_pairs(engine) | grounding_pairs(engine)
              | clapnq_pairs(engine, args.clapnq))
    lexical, embedding, balanced = fit(groups)

    print(f"chosen: lexical >= {lexical:.2f}, cosine >= {embedding:.2f} "
          f"(balanced accuracy {balanced:.3f} on the fitted groups)\n")
    print("| group | pairs | should be | accepted | median term share | median cosine "
          "| numbers missing |")
    print("|---|---|---|---|---|---|---|")
    results = {}
    for name, pairs in groups.items():
        results[name] = summary(pairs, lexical, embedding)
        kept = name in SUPPORTED_GROUPS
        r = results[name]
        print(f"| {name} | {r['pairs']} | {'supported' if kept else 'unsupported'} | "
              f"{r['accepted']:.3f} | {r['lexical_median']:.2f} | {r['cosine_median']:.2f} "
              f"| {r['numbers_missing']} |")
    shown = ("paraphrase", "fabrication", "grounding_faithful_held_out",
             "grounding_fabricated_held_out", "other_retrieved", "clapnq_own_held_out",
             "clapnq_other_held_out")
    print(f"\nthe trade-off along the cosine threshold (term share >= {lexical:.2f}):\n")
    print("| cosine >= | " + " | ".join(f"{g} accepted" for g in shown) + " |")
    print("|---" * (len(shown) + 1) + "|")
    curve = {}
    for emb in np.round(np.arange(0.30, 0.91, 0.05), 2):
        curve[float(emb)] = {g: round(accepted(groups[g], lexical, emb), 3) for g in shown}
        print(f"| {emb:.2f} | " + " | ".join(f"{curve[float(emb)][g]:.3f}" for g in shown)
              + " |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"lexical_threshold": lexical,
                                    "embedding_threshold": embedding,
                                    "balanced_accuracy": balanced, "groups": results,
                                    "cosine_curve": curve},
                                   indent=2))


if __name__ == "__main__":
    main()
