"""`rag eval`'s output: the readable table and the PNG chart of an evaluation summary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from api.charts import RATE_COLOUR, rate_chart

RATE_METRICS = ("hits@4", "hits@10", "mrr@10", "map@10", "citation_precision",
                "citation_recall", "grounding", "abstention_accuracy", "false_abstention",
                "answer_accuracy", "statement_recall", "statement_precision",
                "statement_abstention")


def table(summary: dict[str, Any], by_type: dict[str, dict[str, Any]]) -> str:
    """A markdown table: one row per metric, one column for all and for each question type."""
    columns = {"all": summary, **by_type}
    lines = ["| metric | " + " | ".join(columns) + " |",
             "|---|" + "---|" * len(columns)]
    for metric in (*RATE_METRICS, "latency_p50_ms", "latency_p95_ms", "latency_p99_ms",
                   "questions"):
        cells = ["—" if c.get(metric) is None else str(c[metric]) for c in columns.values()]
        lines.append(f"| {metric} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def chart(summary: dict[str, Any], title: str, path: Path) -> None:
    """A horizontal bar chart of the rate metrics (latency is in the table)."""
    rate_chart([(m, summary[m], RATE_COLOUR) for m in RATE_METRICS if summary.get(m) is not None],
               title, path)
