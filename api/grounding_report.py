"""`rag grounding`: grade a JSONL file of `{question, answer, contexts}` records (the names Ragas
and similar tools use) with the grounding judge, and report it as a table, JSON and a chart."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from api.charts import FAILURE_COLOUR, RATE_COLOUR, rate_chart
from rag.grounding import GroundingReport, InvalidCitation

# Each field, and the other names tools give it (Ragas 0.2+: user_input, response, ...).
FIELDS = {"question": ("question", "user_input", "query"),
          "answer": ("answer", "response"),
          "contexts": ("contexts", "retrieved_contexts")}
Grade = Callable[[str, list[str]], GroundingReport]


def read_records(path: Path) -> Iterator[tuple[int, dict[str, Any] | None, str | None]]:
    """Each line's number, its record (question, answer, contexts) or None, and why not."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as error:
            yield number, None, f"not JSON: {error.msg}"
            continue
        if not isinstance(raw, dict):
            yield number, None, "not a JSON object"
            continue
        record = {name: next((raw[k] for k in keys if k in raw), None)
                  for name, keys in FIELDS.items()}
        if not isinstance(record["answer"], str) or not record["answer"].strip():
            yield number, None, "no answer"
        elif not isinstance(record["contexts"], list) or not record["contexts"] \
                or not all(isinstance(c, str) and c.strip() for c in record["contexts"]):
            yield number, None, "contexts must be a non-empty list of texts"
        else:
            yield number, record, None


def grade_records(records: Iterable[tuple[int, dict[str, Any] | None, str | None]],
                  grade: Grade) -> list[dict[str, Any]]:
    """One result a record: its report, or the error that kept it from being graded."""
    results = []
    for line, record, error in records:
        if record is None:
            results.append({"line": line, "error": error})
            continue
        try:
            report = grade(record["answer"], record["contexts"])
        except InvalidCitation as invalid:
            results.append({"line": line, "question": record["question"],
                            "error": str(invalid)})
            continue
        results.append({"line": line, "question": record["question"],
                        **report.model_dump(mode="json")})
    return results


def summarise(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Sentences supported overall and per record, and the reasons the others were not."""
    graded = [r for r in results if "error" not in r]
    sentences = [s for r in graded for s in r["sentences"]]
    supported = sum(s["supported"] for s in sentences)
    reasons = Counter(s["reason"] for s in sentences if not s["supported"])
    return {
        "records": len(results), "graded": len(graded), "errors": len(results) - len(graded),
        "sentences": len(sentences), "supported": supported,
        "grounding": round(supported / len(sentences), 4) if sentences else None,
        "record_score_mean": round(sum(r["score"] for r in graded) / len(graded), 4)
        if graded else None,
        "fully_supported_records": round(sum(r["supported"] == r["total"] for r in graded)
                                         / len(graded), 4) if graded else None,
        "unsupported_reasons": dict(reasons.most_common()),
        "method": graded[0]["method"] if graded else None,
    }


def table(summary: dict[str, Any]) -> str:
    """A markdown table: the figures, then each reason sentences were not supported for."""
    lines = ["| metric | value |", "|---|---|"]
    for key in ("records", "graded", "errors", "sentences", "supported", "grounding",
                "record_score_mean", "fully_supported_records"):
        value = summary[key]
        lines.append(f"| {key} | {'—' if value is None else value} |")
    for reason, count in summary["unsupported_reasons"].items():
        lines.append(f"| not supported: {reason} | {count} |")
    return "\n".join(lines)


def chart(summary: dict[str, Any], title: str, path: Path) -> None:
    """Horizontal bars: the grounding rates, then each reason's share of the sentences."""
    total = summary["sentences"] or 1
    bars = [("grounding (sentences supported)", summary["grounding"] or 0.0, RATE_COLOUR),
            ("records fully supported", summary["fully_supported_records"] or 0.0, RATE_COLOUR)]
    bars += [(f"not supported: {reason}", count / total, FAILURE_COLOUR)
             for reason, count in summary["unsupported_reasons"].items()]
    rate_chart(bars, title, path)
