"""Abstention trade-off on MultiHop-RAG: null queries (unanswerable) against answerable ones.

    python -m bench.abstention [--quick] [--data-dir DIR]

Uses the store `bench.multihop_retrieval` builds. For every threshold it reports the share of
null queries that abstain (should be high) and of answerable queries that abstain (should be
low), fitted on even-numbered dev queries and reported on odd ones.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from tqdm import tqdm

from bench.multihop_retrieval import SHARED
from rag.config import Settings
from rag.engine import Engine


def evidence_scores(engine: Engine, queries: list[dict]) -> np.ndarray:
    """(evidence score, question coverage) of every query, as rows."""
    answers = (engine.ask(q["query"]) for q in tqdm(queries, desc="asking", leave=False))
    return np.array([(a.evidence_score, a.question_coverage) for a in answers])


def rates(null: np.ndarray, answerable: np.ndarray, threshold: float,
          min_coverage: float) -> tuple[float, float]:
    """Shares of null and of answerable queries that abstain under this rule."""
    def abstains(rows: np.ndarray) -> float:
        return float(((rows[:, 0] < threshold) | (rows[:, 1] < min_coverage)).mean())
    return abstains(null), abstains(answerable)


def plot(curve: dict[float, tuple[float, float]], current: float, path: Path) -> None:
    """Both abstention rates against the threshold, the configured one marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    thresholds = list(curve)
    figure, axes = plt.subplots(figsize=(7, 4))
    axes.plot(thresholds, [n for n, _ in curve.values()], marker="o",
              label="null queries abstained (want high)")
    axes.plot(thresholds, [a for _, a in curve.values()], marker="o",
              label="answerable queries abstained (want low)")
    axes.axvline(current, color="grey", linestyle="--", label=f"configured {current}")
    axes.set_xlabel("evidence threshold (question coverage >= RAG_MIN_QUESTION_COVERAGE)")
    axes.set_ylabel("share abstained")
    axes.set_title("Abstention trade-off, MultiHop-RAG dev (fit split)")
    axes.legend(loc="center right")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path("var/bench-multihop"))
    parser.add_argument("--quick", action="store_true", help="60 queries of each kind a split")
    parser.add_argument("--out", type=Path, default=Path("bench/results/abstention.json"))
    parser.add_argument("--chart", type=Path, default=Path("docs/abstention-tradeoff.png"))
    args = parser.parse_args()

    engine = Engine(Settings(data_dir=args.data_dir, _env_file=None))
    queries = json.loads((SHARED / "queries_dev.json").read_text())
    splits = {}
    for name, part in (("fit", queries[0::2]), ("held_out", queries[1::2])):
        null = [q for q in part if q["question_type"] == "null_query"]
        answerable = [q for q in part if q["question_type"] != "null_query"]
        if args.quick:
            null, answerable = null[:60], answerable[:60]
        splits[name] = (evidence_scores(engine, null), evidence_scores(engine, answerable))

    null, answerable = splits["fit"]
    min_coverage = engine.settings.min_question_coverage
    thresholds = np.round(np.arange(0.30, 0.70, 0.02), 2)
    curve = {float(t): rates(null, answerable, t, min_coverage) for t in thresholds}
    print(f"| threshold (coverage >= {min_coverage}) | null abstained | answerable abstained |")
    print("|---|---|---|")
    for t, (n, a) in curve.items():
        print(f"| {t:.2f} | {n:.3f} | {a:.3f} |")
    current = engine.settings.abstain_threshold
    held = rates(*splits["held_out"], current, min_coverage)
    print(f"held-out at the configured {current}: null abstained {held[0]:.3f}, "
          f"answerable abstained {held[1]:.3f}")
    plot(curve, current, args.chart)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "curve_fit": curve, "threshold": current,
        "held_out": {"null_abstained": held[0], "answerable_abstained": held[1]},
    }, indent=2))


if __name__ == "__main__":
    main()
