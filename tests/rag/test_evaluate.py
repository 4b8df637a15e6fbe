"""Metric code on small hand-made cases whose right values are worked out by hand."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.evaluate import (
    EvalItem,
    QuestionResult,
    gold_passages,
    load_dataset,
    ragas_record,
    retrieval_metrics,
    run,
    score,
    summarise,
)


def test_first_hit_at_rank_one_with_a_second_fact_later() -> None:
    passages = ["a fact one here", "nothing", "fact two and fact one", "x", "y"]
    metrics = retrieval_metrics(passages, ["fact one", "fact two"])
    # rank 1 finds "fact one" (1/1); rank 3 finds the new "fact two" (1/3); 2 gold facts.
    assert metrics == pytest.approx({"hits@4": 1.0, "hits@10": 1.0, "mrr@10": 1.0,
                                     "map@10": (1 + 1 / 3) / 2})


def test_first_hit_at_rank_five() -> None:
    passages = ["a", "b", "c", "d", "the evidence", "f"]
    assert retrieval_metrics(passages, ["the evidence"]) == pytest.approx(
        {"hits@4": 0.0, "hits@10": 1.0, "mrr@10": 0.2, "map@10": 0.2})


def test_hits_beyond_rank_ten_do_not_count() -> None:
    passages = ["miss"] * 10 + ["the evidence"]
    assert retrieval_metrics(passages, ["the evidence"]) == {
        "hits@4": 0.0, "hits@10": 0.0, "mrr@10": 0.0, "map@10": 0.0}


def test_spaces_and_newlines_are_ignored_like_multihop_rag() -> None:
    assert retrieval_metrics(["New\nYork  City"], ["New York City"])["hits@4"] == 1.0


def test_score_and_summary_by_hand() -> None:
    answerable = EvalItem(id="a", question="q", answerable=True, evidence=["gold"],
                          answer="Paris")
    unanswerable = EvalItem(id="u", question="q", answerable=False)
    good = {"abstained": False, "answer": "It is Paris [1].",
            "contexts": [{"text": "no"}, {"text": "the gold fact"}],
            "citations": [{"text": "the gold fact"}, {"text": "other"}],
            "grounding": {"score": 1.0}}
    results = [
        score(answerable, good, 10.0),
        score(answerable, {"abstained": True, "contexts": []}, 20.0),
        score(unanswerable, {"abstained": True}, 30.0),
        score(unanswerable, {"abstained": False}, 40.0),
    ]
    assert results[0].mrr_at_10 == 0.5 and results[0].answer_correct is True
    summary = summarise(results, "extractive")
    assert summary["hits@10"] == 0.5            # one of the two answerable lists holds gold
    assert summary["citation_precision"] == 0.5  # 1 of 2 citations holds evidence
    assert summary["citation_recall"] == 1.0     # the one answered question is covered
    assert summary["abstention_accuracy"] == 0.5
    assert summary["false_abstention"] == 0.5
    assert summary["answer_accuracy"] == 1.0
    assert summary["latency_p50_ms"] == 30.0


def test_run_asks_every_question() -> None:
    items = [EvalItem(id=str(i), question=f"q{i}", answerable=False) for i in range(3)]
    asked: list[str] = []

    def ask(question: str) -> dict:
        asked.append(question)
        return {"abstained": True}

    results = run(items, ask)
    assert asked == ["q0", "q1", "q2"] and all(isinstance(r, QuestionResult) for r in results)


def test_the_three_dataset_shapes(tmp_path: Path) -> None:
    own = tmp_path / "own.jsonl"
    own.write_text(json.dumps({"id": "d1", "question": "Q?", "answerable": True,
                               "evidence": ["e"]}) + "\n")
    multihop = tmp_path / "queries.json"
    multihop.write_text(json.dumps([
        {"query": "M?", "answer": "Yes", "question_type": "inference_query",
         "evidence_list": [{"fact": "f1"}, {"fact": "f2"}]},
        {"query": "N?", "answer": "Insufficient information.", "question_type": "null_query",
         "evidence_list": []}]))
    clapnq = tmp_path / "clap.jsonl"
    clapnq.write_text(json.dumps({"id": "c1", "input": "C?", "passages": [],
                                  "output": [{"answer": "", "selected_sentences": []}]}))
    assert load_dataset(own)[0].evidence == ["e"]
    first, null = load_dataset(multihop)
    assert (first.evidence, first.answerable, null.answerable) == (["f1", "f2"], True, False)
    assert load_dataset(clapnq)[0].answerable is False


def test_statement_figures_by_hand() -> None:
    asked = EvalItem(id="s1", question="What did Asif say?", answerable=True,
                     speaker="Khawaja Muhammad Asif", gold=["dirty work", "unimpeachable"])
    silent = EvalItem(id="s2", question="What did Bajwa say?", answerable=False, gold=[])
    answer = {"abstained": False, "citations": [
        {"quote": "We have been doing this dirty\nwork", "text": "", "speaker": None},  # gold
        {"quote": "Terrorism is conducted from there.", "text": "", "speaker": "Asif"},  # his
        {"quote": "Imran Khan backed the Taliban.", "text": "",
         "speaker": "Ataullah Tarar"}]}  # not his
    results = [score(asked, answer, 1.0), score(silent, {"abstained": True}, 1.0),
               score(silent, {"abstained": False, "citations": [{"quote": "x"}]}, 1.0)]
    summary = summarise(results)
    assert summary["statement_recall"] == 0.5  # "unimpeachable" is not quoted
    assert summary["statement_precision"] == round(2 / 3, 4)
    assert summary["statement_abstention"] == 0.5


def test_statement_speakers_match_by_family_name_or_acronym() -> None:
    from rag.evaluate import speaker_matches

    assert speaker_matches("Khawaja Muhammad Asif", "Khwaja M Asif")
    assert speaker_matches("Pakistan Tehreek-e-Insaf (PTI)", "PTI")
    assert speaker_matches("Kabul (Afghan authorities)", "Kabul")
    assert not speaker_matches("Khawaja Muhammad Asif", "Imran Khan")
    assert not speaker_matches("Khawaja Muhammad Asif", None)


def test_gold_passages_are_the_stored_passages_holding_the_evidence() -> None:
    items = [EvalItem(id="a", question="q", answerable=True,
                      evidence=["National Counter Terrorism Center, Pabbi", "NCTC Pabbi"]),
             EvalItem(id="b", question="q", answerable=True, evidence=["since 1995"]),
             EvalItem(id="c", question="q", answerable=False)]
    passages = ["Held at the National Counter\nTerrorism Center, Pabbi, in Punjab.",
                "Elsewhere.", "The NCTC Pabbi drills ran since 1995.", "Elsewhere."]
    assert gold_passages(items, passages) == {
        "a": [passages[0], passages[2]], "b": [passages[2]]}


def test_a_ragas_record_in_its_names() -> None:
    item = EvalItem(id="a", question="Where?", answerable=True, evidence=["in Pabbi", "Pabbi"])
    response = {"answer": "In Pabbi. [1]", "abstained": False,
                "contexts": [{"text": "Drills in Pabbi."}, {"text": "Other."}]}
    assert ragas_record(item, response, ["Drills in Pabbi."]) == {
        "user_input": "Where?", "response": "In Pabbi. [1]",
        "retrieved_contexts": ["Drills in Pabbi.", "Other."], "reference": "in Pabbi",
        "reference_contexts": ["Drills in Pabbi."], "id": "a", "answerable": True,
        "abstained": False}
    unanswerable = EvalItem(id="u", question="Who?", answerable=False)
    record = ragas_record(unanswerable, {"answer": "No.", "abstained": True, "contexts": []},
                          None)
    assert record["reference"] is None and record["reference_contexts"] is None
    assert record["retrieved_contexts"] == [] and record["abstained"] is True
