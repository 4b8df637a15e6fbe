"""The labelled who-said-what questions over the sample corpus: well formed, their gold
phrases verbatim in the articles, and split into a fit and a held-out half by the rule
docs/evaluation.md states (each kind's rows in the order of their question's SHA-256,
alternately fit and held out), so no row moves between the halves unseen."""

from __future__ import annotations

import hashlib
import json

import pytest

from rag.evaluate import load_dataset
from support import EXAMPLES

SETS = EXAMPLES.parent
HALVES = {"fit": SETS / "statements_fit.jsonl", "held_out": SETS / "statements_heldout.jsonl"}


def article_texts() -> str:
    """Every article's text, JSON strings decoded (quotation marks unescaped)."""
    texts = []
    for path in sorted(EXAMPLES.iterdir()):
        raw = path.read_text(encoding="utf-8")
        if path.suffix == ".json":
            texts.extend(str(v) for v in json.loads(raw).values())
        elif path.suffix == ".jsonl":
            texts.extend(str(v) for line in raw.splitlines() if line.strip()
                         for v in json.loads(line).values())
        else:
            texts.append(raw)
    return "\n".join(texts)


@pytest.fixture(scope="module")
def halves() -> dict[str, list]:
    return {name: load_dataset(path) for name, path in HALVES.items()}


def test_the_rows_are_many_of_every_kind_and_their_ids_are_unique(halves: dict) -> None:
    rows = [item for items in halves.values() for item in items]
    assert len(rows) >= 40 and len({r.id for r in rows}) == len(rows)
    kinds = {r.question_type for r in rows}
    assert {"organisation", "paraphrase", "who_said", "role", "not_a_speaker", "no_statement",
            "ordinary"} <= kinds
    for row in rows:
        if row.question_type == "ordinary":
            assert row.gold is None and row.evidence  # scored as any question
        else:
            assert row.gold is not None and bool(row.gold) == row.answerable
            assert (row.speaker is None) == (not row.answerable)


def test_every_gold_phrase_is_in_the_articles(halves: dict) -> None:
    flat = " ".join(article_texts().split())
    for item in (i for items in halves.values() for i in items):
        for phrase in [*(item.gold or []), *item.evidence]:
            assert " ".join(phrase.split()) in flat, (item.id, phrase)


def test_the_halves_are_split_by_the_stated_rule(halves: dict) -> None:
    rows = [item for items in halves.values() for item in items]
    expected: dict[str, set[str]] = {"fit": set(), "held_out": set()}
    for kind in {r.question_type for r in rows}:
        ordered = sorted((r for r in rows if r.question_type == kind),
                         key=lambda r: hashlib.sha256(r.question.encode()).hexdigest())
        for position, row in enumerate(ordered):
            expected["fit" if position % 2 == 0 else "held_out"].add(row.id)
    assert {name: {r.id for r in items} for name, items in halves.items()} == expected
