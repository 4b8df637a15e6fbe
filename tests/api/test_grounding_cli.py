"""`rag grounding FILE.jsonl`, run in-process: records in Ragas' field names (either
generation), graded with the judge, a table, the JSON results and a chart; bad lines reported
without stopping the run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from api.cli import main

STORY = ("Harbour minister Lena Okafor said on Tuesday that the port of Vessby would not raise "
         "its fees this year. Union leader Tomas Brandt criticised the plan, saying dock crews "
         "had not been consulted.")
TRAFFIC = "The port handled 4.2 million containers in 2024, up 6 percent from a year earlier."
RECORDS = [
    {"question": "What did the minister say?",
     "answer": "Lena Okafor said Vessby would not raise its fees this year. Union leader "
               "Tomas Brandt praised the plan.",
     "contexts": [STORY]},
    {"user_input": "How did container traffic change?",
     "response": "The port handled 4.2 million containers in 2024, up 6 percent from a "
                 "year earlier [2].",
     "retrieved_contexts": [STORY, TRAFFIC]},
    {"question": "Cited beyond its contexts", "answer": "Fees stay [3].", "contexts": [STORY]},
    {"question": "No contexts", "answer": "Fees stay.", "contexts": []},
]


def test_grounding_grades_a_file_of_records(tmp_path: Path,
                                            capsys: pytest.CaptureFixture) -> None:
    records = tmp_path / "records.jsonl"
    records.write_text("\n".join(json.dumps(r) for r in RECORDS) + "\n{not json\n")
    out = tmp_path / "grounding.json"
    assert main(["grounding", str(records), "--out", str(out)]) == 0
    printed = capsys.readouterr()
    assert "| grounding | 0.6667 |" in printed.out
    assert "| not supported: contradiction | 1 |" in printed.out
    assert "line 3: the answer cites [3]" in printed.err
    assert "line 4: contexts must be a non-empty list" in printed.err
    assert "line 5: not JSON" in printed.err

    report = json.loads(out.read_text())
    summary = report["summary"]
    assert (summary["records"], summary["graded"], summary["errors"]) == (5, 2, 3)
    assert (summary["sentences"], summary["supported"]) == (3, 2)
    assert summary["fully_supported_records"] == 0.5
    first, second = report["results"][:2]
    assert [s["reason"] for s in first["sentences"]] == ["supported", "contradiction"]
    assert first["sentences"][0]["supported_by"] == [1]
    assert [s["supported_by"] for s in second["sentences"]] == [[2]]
    assert out.with_suffix(".png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_grounding_of_a_missing_file_fails_clearly(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture) -> None:
    assert main(["grounding", str(tmp_path / "nothing.jsonl")]) == 2
    assert "no such file" in capsys.readouterr().err
