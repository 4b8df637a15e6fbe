"""The `rag` command, run in-process on a store of its own."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from api.cli import main
from scripted_llm import Reply, ScriptedLLM
from support import EXAMPLES


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("RAG_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("RAG_API_KEY", raising=False)
    return tmp_path / "var"


def test_index_ask_list_show_delete(data_dir: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["index", str(EXAMPLES), "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert len(first["added"]) == 12 and first["chunks_added"] > 0 and not first["skipped"]

    assert main(["index", str(EXAMPLES)]) == 0
    assert "0 added (0 chunks), 12 unchanged" in capsys.readouterr().out

    assert main(["ask", "How many dockworkers walked off the job at Port Averin?"]) == 0
    out = capsys.readouterr().out
    assert "2,400" in out and "[1]" in out and "Northwind Wire" in out

    assert main(["ask", "What did the mayor say about the moon landing?", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["abstained"] is True

    assert main(["docs", "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    strike = next(r for r in rows if "Port Averin" in r["title"] and "walk" in r["title"])
    assert main(["docs", "show", strike["id"]]) == 0
    assert "2,400" in json.loads(capsys.readouterr().out)["text"]

    assert main(["docs", "delete", strike["id"]]) == 0
    assert f"deleted {strike['id']}" in capsys.readouterr().out
    assert main(["docs", "show", strike["id"]]) == 1
    assert "no document" in capsys.readouterr().err


def test_missing_path_and_blank_question_fail_clearly(data_dir: Path,
                                                      capsys: pytest.CaptureFixture) -> None:
    assert main(["index", "does/not/exist"]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["ask", "   "]) == 2
    assert "empty" in capsys.readouterr().err


def test_eval_writes_results_table_and_chart(data_dir: Path, tmp_path: Path,
                                             capsys: pytest.CaptureFixture) -> None:
    assert main(["index", str(EXAMPLES), "--quiet"]) == 0
    out = tmp_path / "eval.json"
    assert main(["eval", str(EXAMPLES.parent / "qa.jsonl"), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "| hits@10 |" in printed
    report = json.loads(out.read_text())
    summary = report["summary"]
    assert summary["questions"] == 18 and summary["answerable"] == 9
    assert summary["hits@10"] == 1.0
    assert summary["false_abstention"] == 0.0
    assert report["by_type"]["off_topic"]["abstention_accuracy"] == 1.0
    assert report["by_type"]["near_miss"]["unanswerable"] == 6
    assert summary["citation_recall"] == 1.0
    assert out.with_suffix(".png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_ask_through_a_failing_llm(data_dir: Path, capsys: pytest.CaptureFixture,
                                   monkeypatch: pytest.MonkeyPatch,
                                   llm_server: ScriptedLLM) -> None:
    assert main(["index", str(EXAMPLES / "01_port_strike.txt"), "--json"]) == 0
    capsys.readouterr()
    monkeypatch.setenv("RAG_LLM_BASE_URL", llm_server.url)
    monkeypatch.setenv("RAG_LLM_RETRIES", "0")
    question = "How many dockworkers walked off the job at Port Averin?"

    llm_server.script(Reply(status=500, text="the model crashed"))
    assert main(["ask", question]) == 0  # the fallback answers, and says why on stderr
    out, err = capsys.readouterr()
    assert "2,400" in out and "answered extractively" in err

    monkeypatch.setenv("RAG_LLM_FALLBACK", "false")
    llm_server.script(Reply(status=500, text="the model crashed"))
    assert main(["ask", question]) == 1
    assert "llm_error" in capsys.readouterr().err
