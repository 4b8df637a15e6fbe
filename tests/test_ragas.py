"""`rag eval --export` on the seed corpus's dev questions, read by Ragas (the `eval` extra):
its metrics that need no LLM (context precision and recall against the reference passages,
string similarity of answer and reference) run on the exported records."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from api.cli import main
from rag.evaluate import load_dataset, squash
from support import SHARED_CORPUS, needs_shared

DEV_QA = SHARED_CORPUS / "dev_qa.jsonl"

pytestmark = needs_shared
needs_ragas = pytest.mark.skipif(importlib.util.find_spec("ragas") is None,
                                 reason="ragas is not installed: pip install -e '.[eval]' "
                                        "(make test installs it)")


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory, model_cache: Path
             ) -> tuple[list[dict], dict]:
    """The dev questions asked of a store of the seed corpus: the export's records and the
    `rag eval` summary of the same run."""
    folder = tmp_path_factory.mktemp("ragas")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RAG_DATA_DIR", str(folder / "data"))
        patch.chdir(folder)  # no project .env file is read
        articles = sorted(str(path) for path in SHARED_CORPUS.glob("*.txt"))
        assert main(["index", *articles, "--quiet"]) == 0
        assert main(["eval", str(DEV_QA), "--out", str(folder / "eval.json"),
                     "--export", str(folder / "export.jsonl")]) == 0
    records = [json.loads(line) for line in
               (folder / "export.jsonl").read_text(encoding="utf-8").splitlines()]
    return records, json.loads((folder / "eval.json").read_text())


def test_the_export_holds_a_record_per_question_in_ragas_names(
        exported: tuple[list[dict], dict]) -> None:
    records, evaluation = exported
    items = load_dataset(DEV_QA)
    assert [r["id"] for r in records] == [i.id for i in items]
    results = {r["id"]: r for r in evaluation["results"]}
    for item, record in zip(items, records, strict=True):
        assert {"user_input", "response", "retrieved_contexts", "reference",
                "reference_contexts"} <= set(record)
        assert record["user_input"] == item.question and record["response"]
        assert 1 <= len(record["retrieved_contexts"]) <= 10
        assert record["abstained"] == results[item.id]["abstained"]
        if not item.answerable:
            assert record["reference"] is None and record["reference_contexts"] is None
            continue
        assert record["reference"] == item.evidence[0]
        phrases = [squash(e) for e in item.evidence]
        for passage in record["reference_contexts"]:
            assert any(p in squash(passage) for p in phrases)


def test_an_export_through_a_server_has_no_reference_contexts(live_url: str,
                                                               tmp_path: Path) -> None:
    """Over HTTP the stored passages are not at hand: the records say so with nulls."""
    export = tmp_path / "export.jsonl"
    assert main(["eval", str(DEV_QA), "--url", live_url, "--limit", "3", "--out",
                 str(tmp_path / "eval.json"), "--export", str(export)]) == 0
    records = [json.loads(line) for line in export.read_text(encoding="utf-8").splitlines()]
    assert len(records) == 3
    assert all(r["reference_contexts"] is None and r["reference"] for r in records)
    assert all(r["retrieved_contexts"] and r["response"] for r in records)


def test_an_export_that_cannot_be_written_is_refused_before_any_question(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "no" / "export.jsonl"
    assert main(["eval", str(DEV_QA), "--url", "http://127.0.0.1:9", "--out",
                 str(tmp_path / "eval.json"), "--export", str(missing)]) == 2
    assert f"cannot write {missing}" in capsys.readouterr().err


@needs_ragas
def test_ragas_metrics_that_need_no_llm(exported: tuple[list[dict], dict],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAGAS_DO_NOT_TRACK", "true")
    from ragas import EvaluationDataset, evaluate
    from ragas.metrics import (
        NonLLMContextPrecisionWithReference,
        NonLLMContextRecall,
        NonLLMStringSimilarity,
    )

    records, evaluation = exported
    scored = [r for r in records if r["answerable"] and r["reference_contexts"]]
    assert len(scored) >= 8
    dataset = EvaluationDataset.from_list(scored)
    result = evaluate(dataset, metrics=[NonLLMContextPrecisionWithReference(),
                                        NonLLMContextRecall(), NonLLMStringSimilarity()],
                      show_progress=False, raise_exceptions=True)
    rows = result.to_pandas().to_dict("records")
    assert len(rows) == len(scored)
    for row, record in zip(rows, scored, strict=True):
        found = [p in record["retrieved_contexts"] for p in record["reference_contexts"]]
        # A reference passage retrieved verbatim is recalled (similarity 1).
        assert row["non_llm_context_recall"] >= sum(found) / len(found) - 1e-9, row
        assert 0.0 <= row["non_llm_context_precision_with_reference"] <= 1.0
        assert 0.0 < row["non_llm_string_similarity"] <= 1.0
    recall = sum(r["non_llm_context_recall"] for r in rows) / len(rows)
    # Every dev question's evidence is within the ten passages (`rag eval`'s hits@10).
    assert evaluation["summary"]["hits@10"] == 1.0
    assert recall >= 0.9
