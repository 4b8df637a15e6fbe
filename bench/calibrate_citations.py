"""Calibrate citation verification's thresholds (rag/cite.py `Thresholds`) on labelled
claim-passage pairs, with the grounding judge's meaning checks (rag/judge.py) on; results go to
bench/results/citation_calibration.json. The pairs, the grid and how a point is chosen:
docs/citation-verification.md, "The labelled claims, and the figures".
`python -m bench.calibrate_citations [--data-dir DIR] [--fit-only]`
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from api.attribution import attribute
from bench.grounding import ADDED_CLAIMS, passages_for
from bench.grounding import CLAIMS as GROUNDING_CLAIMS
from index.pipeline import Ingestor
from rag.cite import Thresholds, Verifier, passage_sentences, split_answer
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
# Term shares are fractions of a few words (2/3, 7/10), so they are searched finely too.
LEXICAL_GRID = np.round(np.arange(0.30, 0.8001, 0.01), 2)
EMBEDDING_GRID = np.round(np.arange(0.45, 0.7001, 0.01), 2)
PARAPHRASE_EMBEDDING_GRID = np.round(np.arange(0.60, 0.9501, 0.01), 2)
# The groups the thresholds are fitted on, and whether each should be accepted as supported.
# Hand-written claims on a passage are pooled (the development paraphrases and fabrications
# with the fit half of the grounding claims): as groups of their own, each of the 20
# development pairs weighed three times a grounding claim (docs/citation-verification.md).
FITTED_GROUPS = {"written_faithful_fit": True, "written_fabricated_fit": False,
                 "other_retrieved": False, "clapnq_own_fit": True, "clapnq_other_fit": False}
POOLED = {"written_faithful_fit": ("paraphrase", "grounding_faithful_fit"),
          "written_fabricated_fit": ("fabrication", "grounding_fabricated_fit")}
SUPPORTED_GROUPS = {"verbatim", "paraphrase", "clapnq_own_fit", "clapnq_own_held_out",
                    "grounding_faithful_fit", "grounding_faithful_held_out",
                    "added_faithful_held_out", "written_faithful_fit"}

Pairs = list[tuple[str, Chunk]]
# One row a pair: (term share, cosine to the aligned sentences, 1.0 if the passage holds every
# number the claim states, 1.0 if the meaning checks find nothing against it).
Signals = np.ndarray


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


class CachedEncoder:
    """The verifier's encoder with every text's vector kept: the judge runs once for each
    cosine threshold over the same claims (the int8 encoder embeds one text a run, so a
    vector does not depend on what it was embedded with)."""

    def __init__(self, encoder: Encoder) -> None:
        self.name, self.dimensions = encoder.name, encoder.dimensions
        self._encoder = encoder
        self._vectors: dict[str, np.ndarray] = {}

    def embed(self, texts: list[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self._vectors]
        if missing:
            self._vectors.update(zip(missing, self._encoder.embed(missing), strict=True))
        return np.array([self._vectors[t] for t in texts], dtype=np.float32).reshape(
            len(texts), self.dimensions)


def score(pairs: Pairs, encoder: Encoder, lexical: LexicalIndex, embedding: float) -> Signals:
    """The verifier's signals for each (claim, passage) pair at this cosine threshold: the
    term thresholds are zero, so the meaning checks judge every pair whatever its term share."""
    thresholds = Thresholds(lexical=0.0, embedding=embedding, paraphrase_lexical=0.0)
    verifiers: dict[str, Verifier] = {}
    rows = []
    for claim, chunk in pairs:
        if chunk.id not in verifiers:  # embeds the passage's sentences once
            verifiers[chunk.id] = Verifier([Hit(chunk=chunk, score=1.0)], encoder, lexical,
                                           thresholds, attribute=attribute)
        support = verifiers[chunk.id].supports(claim)[0]
        rows.append((support.lexical, support.cosine, float(not support.missing_numbers),
                     float(support.reason in ("supported", "low_overlap"))))
    return np.array(rows, dtype=np.float64).reshape(len(rows), 4)


def development_pairs(engine: Engine) -> dict[str, Pairs]:
    """The labelled groups built from our development questions and the claims file."""
    questions = {row["id"]: row for path in QUESTIONS for row in read_jsonl(path)}
    chunks = engine.retriever.lexical.chunks
    groups: dict[str, Pairs] = {"verbatim": [], "paraphrase": [], "fabrication": [],
                                "other_retrieved": [], "unrelated": []}
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
    return groups


def grounding_pairs(engine: Engine, splits: tuple[str, ...]) -> dict[str, Pairs]:
    """The labelled grounding claims against their passages, by split: faithful paraphrases
    (supported) and fabrications (unsupported). The fit halves of both files are fitted on
    together; the held-out halves are reported apart (`added_` for the added claims)."""
    groups: dict[str, Pairs] = {}
    for path, prefix in ((GROUNDING_CLAIMS, "grounding"), (ADDED_CLAIMS, "added")):
        claims = read_jsonl(path)
        passages = passages_for(claims, engine)
        for split in splits:
            name_of = "grounding" if split == "fit" else prefix
            for kind, faithful in (("faithful", True), ("fabricated", False)):
                groups.setdefault(f"{name_of}_{kind}_{split}", []).extend(
                    (c["claim"], passages[c["id"]]) for c in claims
                    if c["split"] == split and (c["kind"] == "paraphrase") == faithful)
    return groups


def clapnq_pairs(limit: int, splits: tuple[str, ...]) -> dict[str, Pairs]:
    """CLAP-NQ answer sentences against their own and the next record's passage; records of
    even position are fitted on, odd ones held out."""
    records = read_jsonl(CLAPNQ)[:limit]
    passages = [_chunk(i, r["passages"][0]) for i, r in enumerate(records)]
    groups = {}
    for split in splits:
        own, other = [], []
        for i in range(0 if split == "fit" else 1, len(records), 2):
            for sentence in split_answer(records[i]["output"][0]["answer"]):
                own.append((sentence.claim, passages[i]))
                other.append((sentence.claim, passages[(i + 1) % len(passages)]))
        groups[f"clapnq_own_{split}"], groups[f"clapnq_other_{split}"] = own, other
    return groups


def _chunk(number: int, passage: dict) -> Chunk:
    text = passage["text"]
    return Chunk(id=f"clapnq{number}:0", article_id=f"clapnq{number}", ordinal=0, text=text,
                 start=0, end=len(text), title=passage["title"],
                 sentences=tuple(sentence_spans(text)))


def accepted(rows: Signals, limits: Thresholds) -> float:
    """Share of pairs the verifier accepts at these thresholds (rows scored at its
    `embedding`)."""
    lexical, cosine, numbers, meaning = rows.T
    worded = (lexical >= limits.lexical) | ((lexical >= limits.paraphrase_lexical)
                                             & (cosine >= limits.paraphrase_embedding))
    return float((worded & (cosine >= limits.embedding) & (numbers > 0) & (meaning > 0)).mean())


def accepted_grid(rows: Signals, embedding: float) -> np.ndarray:
    """`accepted` at every (lexical, paraphrase_lexical, paraphrase_embedding) of the grids,
    the cosine threshold being `embedding` (rows scored at it)."""
    lexical, cosine, numbers, meaning = rows.T
    ok = (cosine >= embedding) & (numbers > 0) & (meaning > 0)
    enough = lexical[None, :] >= LEXICAL_GRID[:, None]
    near = cosine[None, :] >= PARAPHRASE_EMBEDDING_GRID[:, None]
    worded = enough[:, None, None, :] | (enough[None, :, None, :] & near[None, None, :, :])
    return (worded & ok).mean(axis=-1)


def pooled(signals: dict[str, Signals]) -> dict[str, Signals]:
    """The groups with the `POOLED` ones added."""
    return signals | {name: np.vstack([signals[g] for g in parts])
                      for name, parts in POOLED.items()}


def fit(by_embedding: dict[float, dict[str, Signals]]) -> tuple[Thresholds, float]:
    """The best thresholds by balanced accuracy over the fitted groups (a paraphrase share
    above the term share, or a paraphrase cosine below the cosine, are left out); among
    equals, the one nearest their centre, each threshold measured in steps of its grid."""
    lex, low, near = np.meshgrid(LEXICAL_GRID, LEXICAL_GRID, PARAPHRASE_EMBEDDING_GRID,
                                 indexing="ij")
    scores = {}
    for embedding, signals in by_embedding.items():
        score = np.mean([accepted_grid(signals[g], embedding) if keep
                         else 1 - accepted_grid(signals[g], embedding)
                         for g, keep in FITTED_GROUPS.items()], axis=0)
        score[(low > lex) | (near < embedding)] = -1.0
        scores[embedding] = score
    best = max(float(score.max()) for score in scores.values())
    points = np.array([(lex[i] / 0.01, embedding / 0.01, low[i] / 0.01, near[i] / 0.01)
                       for embedding, score in scores.items()
                       for i in zip(*np.nonzero(np.isclose(score, best)), strict=True)])
    chosen = points[np.argmin(((points - points.mean(axis=0)) ** 2).sum(axis=1))]
    return Thresholds(*(round(float(step) * 0.01, 2) for step in chosen)), best


def summary(rows: Signals, limits: Thresholds) -> dict[str, float]:
    return {"pairs": len(rows), "accepted": round(accepted(rows, limits), 3),
            "numbers_missing": int((rows[:, 2] == 0).sum()),
            "lexical_median": round(float(np.median(rows[:, 0])), 3),
            "cosine_median": round(float(np.median(rows[:, 1])), 3),
            "cosine_p10": round(float(np.percentile(rows[:, 1], 10)), 3),
            "cosine_p90": round(float(np.percentile(rows[:, 1], 90)), 3)}


def score_all(engine: Engine, clapnq: int,
              splits: tuple[str, ...]) -> dict[float, dict[str, Signals]]:
    """Every group scored at every cosine threshold of `EMBEDDING_GRID`."""
    Ingestor(engine.store, engine.encoder, engine.settings).ingest_paths(
        [ROOT / "examples" / "articles", SHARED / "corpus"])
    engine.retriever.refresh()
    groups = (development_pairs(engine) | grounding_pairs(engine, splits)
              | clapnq_pairs(clapnq, splits))
    lexical = LexicalIndex.of_chunks(list({c.id: c for pairs in groups.values()
                                 for _, c in pairs}.values()))
    encoder = CachedEncoder(engine.claim_encoder)
    by_embedding = {}
    for embedding in EMBEDDING_GRID:
        by_embedding[float(embedding)] = {name: score(pairs, encoder, lexical, float(embedding))
                                          for name, pairs in groups.items()}
        print(f"scored at cosine {embedding:.2f}", flush=True)
    return by_embedding


def load_signals(path: Path) -> dict[float, dict[str, Signals]]:
    """Scored pairs kept by `--signals`."""
    by_embedding: dict[float, dict[str, Signals]] = {}
    with np.load(path) as saved:
        for key in saved.files:
            embedding, name = key.split("/", 1)
            by_embedding.setdefault(float(embedding), {})[name] = saved[key]
    return by_embedding


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path("var/bench-citations"))
    parser.add_argument("--clapnq", type=int, default=300, help="CLAP-NQ records to check")
    parser.add_argument("--fit-only", action="store_true",
                        help="score the fitted groups only (no held-out figures)")
    parser.add_argument("--out", type=Path,
                        default=Path("bench/results/citation_calibration.json"))
    parser.add_argument("--signals", type=Path, help="keep the scored pairs in this .npz file "
                        "and fit from it when it exists (scoring takes minutes, fitting seconds)")
    args = parser.parse_args()

    engine = Engine(Settings(data_dir=args.data_dir, _env_file=None))
    if args.signals and args.signals.exists():
        by_embedding = load_signals(args.signals)
    else:
        by_embedding = score_all(engine, args.clapnq,
                                 ("fit",) if args.fit_only else ("fit", "held_out"))
        if args.signals:
            np.savez_compressed(args.signals, **{f"{e:.2f}/{name}": rows
                                                 for e, at in by_embedding.items()
                                                 for name, rows in at.items()})
    by_embedding = {e: pooled(at) for e, at in by_embedding.items()}
    limits, best = fit(by_embedding)
    signals = by_embedding[limits.embedding]

    print(f"\nchosen: term share >= {limits.lexical:.2f}, cosine >= {limits.embedding:.2f}; "
          f"term share >= {limits.paraphrase_lexical:.2f} at cosine >= "
          f"{limits.paraphrase_embedding:.2f} (balanced accuracy {best:.3f} on the fitted "
          "groups)\n")
    print("| group | pairs | should be | accepted | median term share | median cosine "
          "| numbers missing |")
    print("|---|---|---|---|---|---|---|")
    results = {}
    for name, rows in signals.items():
        results[name] = summary(rows, limits)
        r = results[name]
        print(f"| {name} | {r['pairs']} | "
              f"{'supported' if name in SUPPORTED_GROUPS else 'unsupported'} | "
              f"{r['accepted']:.3f} | {r['lexical_median']:.2f} | {r['cosine_median']:.2f} "
              f"| {r['numbers_missing']} |")
    shown = [g for g in ("paraphrase", "fabrication", "grounding_faithful_fit",
                         "grounding_fabricated_fit", "grounding_faithful_held_out",
                         "grounding_fabricated_held_out", "other_retrieved",
                         "clapnq_own_held_out", "clapnq_other_held_out") if g in signals]
    print("\nthe trade-off along the cosine threshold (the other thresholds as chosen):\n")
    print("| cosine >= | " + " | ".join(f"{g} accepted" for g in shown) + " |")
    print("|---" * (len(shown) + 1) + "|")
    curve = {}
    for embedding, at in by_embedding.items():
        point = Thresholds(limits.lexical, embedding, limits.paraphrase_lexical,
                           max(limits.paraphrase_embedding, embedding))
        curve[embedding] = {g: round(accepted(at[g], point), 3) for g in shown}
        print(f"| {embedding:.2f} | " + " | ".join(f"{curve[embedding][g]:.3f}" for g in shown)
              + " |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "lexical_threshold": limits.lexical, "embedding_threshold": limits.embedding,
        "paraphrase_lexical_threshold": limits.paraphrase_lexical,
        "paraphrase_embedding_threshold": limits.paraphrase_embedding,
        "encoder": engine.claim_encoder.name, "balanced_accuracy": round(best, 4),
        "groups": results, "cosine_curve": curve}, indent=2))


if __name__ == "__main__":
    main()
