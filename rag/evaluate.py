"""Scoring a labelled question set: retrieval, citations, grounding, abstention, latency, and for a
statements set who said what. Reads the project's JSONL, MultiHop-RAG's query file and CLAP-NQ
records into `EvalItem`s (docs/evaluation.md, its summary and "Who said what").
"""

from __future__ import annotations

import json
import re
import statistics
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from rag.errors import NewsragError

RETRIEVAL_DEPTH = 10


class EvalItem(BaseModel):
    """One labelled question."""

    id: str
    question: str
    answerable: bool
    evidence: list[str] = Field(default_factory=list)
    answer: str | None = None
    question_type: str | None = None
    speaker: str | None = Field(None, description="A statements row: who the answer must quote.")
    gold: list[str] | None = Field(None, description="A statements row: phrases of that "
                                                     "speaker's statements the answer must quote.")

    @property
    def is_statement(self) -> bool:
        return self.gold is not None


class QuestionResult(BaseModel):
    """How one answer scored."""

    id: str
    question_type: str | None
    answerable: bool
    abstained: bool
    hits_at_4: float | None = None
    hits_at_10: float | None = None
    mrr_at_10: float | None = None
    map_at_10: float | None = None
    citations: int = 0
    citations_with_evidence: int = 0
    grounding: float | None = None
    answer_correct: bool | None = None
    gold_phrases: int = 0  # statements rows: gold phrases, and how many the quotes hold
    gold_quoted: int = 0
    quotes: int = 0  # statements rows: cited quotes, and how many are the asked speaker's
    quotes_by_speaker: int = 0
    is_statement: bool = False
    latency_ms: float


def squash(text: str) -> str:
    """Text as MultiHop-RAG compares it: no spaces, no newlines."""
    return text.replace(" ", "").replace("\n", "")


def holds_evidence(text: str, evidence: Iterable[str]) -> bool:
    flat = squash(text)
    return any(squash(e) in flat for e in evidence if e.strip())


def retrieval_metrics(passages: list[str], evidence: list[str]) -> dict[str, float]:
    """Hits@4, Hits@10, MRR@10 and MAP@10 of one ranked passage list, as MultiHop-RAG scores.

    MAP@10 credits each passage with the gold facts it finds first (over its rank), summed and
    divided by min(number of facts, 10): a list that surfaces every fact early scores 1.
    """
    gold = [squash(e) for e in evidence if e.strip()]
    found: set[str] = set()
    first: int | None = None
    precision_sum = 0.0
    hits_at_4 = False
    for rank, passage in enumerate(passages[:RETRIEVAL_DEPTH], start=1):
        flat = squash(passage)
        matched = [g for g in gold if g in flat]
        if not matched:
            continue
        first = first or rank
        hits_at_4 = hits_at_4 or rank <= 4
        new = [g for g in matched if g not in found]
        found.update(new)
        precision_sum += len(new) / rank
    return {
        "hits@4": float(hits_at_4),
        "hits@10": float(first is not None),
        "mrr@10": 1.0 / first if first else 0.0,
        "map@10": precision_sum / min(len(gold), RETRIEVAL_DEPTH) if gold else 0.0,
    }


def normalise_answer(text: str) -> str:
    return " ".join("".join(ch for ch in text.lower() if ch.isalnum() or ch.isspace()).split())


def score(item: EvalItem, response: dict[str, Any], latency_ms: float) -> QuestionResult:
    """Score one `/v1/ask` response (as JSON) against its labels."""
    abstained = bool(response.get("abstained"))
    result = QuestionResult(id=item.id, question_type=item.question_type,
                            answerable=item.answerable, abstained=abstained,
                            latency_ms=latency_ms, is_statement=item.is_statement)
    if item.is_statement:
        _score_statements(item, response, result)
    if not item.answerable:
        return result
    passages = [c["text"] for c in response.get("contexts", [])]
    if item.evidence:
        metrics = retrieval_metrics(passages, item.evidence)
        result.hits_at_4, result.hits_at_10 = metrics["hits@4"], metrics["hits@10"]
        result.mrr_at_10, result.map_at_10 = metrics["mrr@10"], metrics["map@10"]
    if abstained:
        return result
    citations = response.get("citations", [])
    result.citations = len(citations)
    result.citations_with_evidence = sum(holds_evidence(c["text"], item.evidence)
                                         for c in citations)
    grounding = response.get("grounding") or {}
    result.grounding = grounding.get("score")
    if item.answer and len(item.answer.split()) <= 5:  # short gold answers only
        result.answer_correct = (normalise_answer(item.answer)
                                 in normalise_answer(response.get("answer", "")))
    return result


def _score_statements(item: EvalItem, response: dict[str, Any], result: QuestionResult) -> None:
    """Fill in a statements row's counts (see the module docstring)."""
    gold = [squash(g) for g in item.gold or [] if g.strip()]
    quotes = [] if result.abstained else response.get("citations", [])
    flat = [squash(c.get("quote") or c.get("text", "")) for c in quotes]
    result.gold_phrases = len(gold) if item.answerable else 0
    result.gold_quoted = sum(any(g in q for q in flat) for g in gold) if item.answerable else 0
    result.quotes = len(quotes)
    result.quotes_by_speaker = sum(
        any(g in q for g in gold) or speaker_matches(item.speaker, c.get("speaker"))
        for c, q in zip(quotes, flat, strict=True))


_PARENTHESES = re.compile(r"\s*\((?P<inner>[^)]*)\)")


def speaker_matches(gold: str | None, cited: str | None) -> bool:
    """Whether a citation's speaker is the gold speaker: a statements set names a speaker once
    ("Khawaja Muhammad Asif", "Pakistan Tehreek-e-Insaf (PTI)"); a citation may give the
    same family name, the acronym in parentheses, or the name without it."""
    if not gold or not cited:
        return False
    names = {_PARENTHESES.sub("", gold).strip().lower()}
    names |= {m["inner"].strip().lower() for m in _PARENTHESES.finditer(gold)}
    wanted = {_PARENTHESES.sub("", cited).strip().lower()}
    wanted |= {m["inner"].strip().lower() for m in _PARENTHESES.finditer(cited)}
    return bool(names & wanted) or any(a.split()[-1] == b.split()[-1]
                                       for a in names for b in wanted if a and b)


def run(items: list[EvalItem], ask: Callable[[str], dict[str, Any]],
        progress: Callable[[Iterable[EvalItem]], Iterable[EvalItem]] = iter,
        keep: Callable[[EvalItem, dict[str, Any]], None] | None = None,
        ) -> list[QuestionResult]:
    """Ask every question through `ask` (in process or over HTTP) and score the answers;
    `keep`, if given, is handed each question and its response as they come."""
    results = []
    for item in progress(items):
        began = time.perf_counter()
        response = ask(item.question)
        results.append(score(item, response, (time.perf_counter() - began) * 1000))
        if keep is not None:
            keep(item, response)
    return results


# ---- records for evaluation libraries (Ragas' names) -----------------------------------------

def reference_of(item: EvalItem) -> str | None:
    """The reference answer: the set's answer, else its first evidence phrase (the project's
    sets list other spellings of one fact as further phrases); None when unanswerable."""
    if not item.answerable:
        return None
    return item.answer or next((e for e in item.evidence if e.strip()), None)


def gold_passages(items: Iterable[EvalItem], passages: Iterable[str]) -> dict[str, list[str]]:
    """For each question with evidence, the stored passages holding any of its evidence
    phrases (matched as `holds_evidence` does), in the order given, each once."""
    wanted = {item.id: [squash(e) for e in item.evidence if e.strip()] for item in items
              if item.answerable and item.evidence}
    found: dict[str, list[str]] = {key: [] for key in wanted}
    for text in dict.fromkeys(passages):
        flat = squash(text)
        for key, phrases in wanted.items():
            if any(phrase in flat for phrase in phrases):
                found[key].append(text)
    return found


def ragas_record(item: EvalItem, response: dict[str, Any],
                 reference_contexts: list[str] | None) -> dict[str, Any]:
    """One question as the record Ragas (and libraries reading its names) evaluate:
    `user_input`, `response`, `retrieved_contexts`, `reference`, `reference_contexts` (None
    when not known), with our `id`, `answerable` and `abstained` beside them."""
    return {"user_input": item.question, "response": response.get("answer", ""),
            "retrieved_contexts": [c["text"] for c in response.get("contexts", [])],
            "reference": reference_of(item),
            "reference_contexts": reference_contexts if item.answerable else None,
            "id": item.id, "answerable": item.answerable,
            "abstained": bool(response.get("abstained"))}


def _mean(values: list[float]) -> float | None:
    return round(statistics.fmean(values), 4) if values else None


def _percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(share * len(ordered)))], 2)


def summarise(results: list[QuestionResult], grounding_method: str = "") -> dict[str, Any]:
    """The aggregate figures over a list of results."""
    answerable = [r for r in results if r.answerable]
    unanswerable = [r for r in results if not r.answerable]
    with_evidence = [r for r in answerable if r.hits_at_10 is not None]
    answered = [r for r in answerable if not r.abstained]
    cited = sum(r.citations for r in answered)
    latencies = [r.latency_ms for r in results]
    return {
        "questions": len(results),
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        "hits@4": _mean([r.hits_at_4 for r in with_evidence]),
        "hits@10": _mean([r.hits_at_10 for r in with_evidence]),
        "mrr@10": _mean([r.mrr_at_10 for r in with_evidence]),
        "map@10": _mean([r.map_at_10 for r in with_evidence]),
        "citation_precision": round(sum(r.citations_with_evidence for r in answered) / cited, 4)
        if cited else None,
        "citation_recall": _mean([float(r.citations_with_evidence > 0) for r in answered
                                  if r.hits_at_10 is not None]),
        "grounding": _mean([r.grounding for r in answered if r.grounding is not None]),
        "grounding_method": grounding_method,
        "abstention_accuracy": _mean([float(r.abstained) for r in unanswerable]),
        "false_abstention": _mean([float(r.abstained) for r in answerable]),
        "answer_accuracy": _mean([float(r.answer_correct) for r in answered
                                  if r.answer_correct is not None]),
        **_statement_figures([r for r in results if r.is_statement]),
        "latency_p50_ms": _percentile(latencies, 0.50),
        "latency_p95_ms": _percentile(latencies, 0.95),
        "latency_p99_ms": _percentile(latencies, 0.99),
    }


def _statement_figures(results: list[QuestionResult]) -> dict[str, float | None]:
    """Statement recall and precision (pooled over phrases and quotes) and abstention on
    no-statement rows; None for each when the set has no statements rows."""
    phrases = sum(r.gold_phrases for r in results)
    quotes = sum(r.quotes for r in results if r.answerable and not r.abstained)
    return {
        "statement_recall": round(sum(r.gold_quoted for r in results) / phrases, 4)
        if phrases else None,
        "statement_precision": round(sum(r.quotes_by_speaker for r in results
                                         if r.answerable and not r.abstained) / quotes, 4)
        if quotes else None,
        "statement_abstention": _mean([float(r.abstained) for r in results
                                       if not r.answerable]),
    }


# ---- datasets -------------------------------------------------------------------------------

class DatasetError(NewsragError, ValueError):
    """A dataset that cannot be read; the message names the file, the line and the problem."""

    code = "invalid_dataset"
    status = 422
    exit_status = 2


def load_dataset(path: Path) -> list[EvalItem]:
    """Read a dataset in any of the three supported shapes (see the module docstring).

    Raises `DatasetError` for a file that cannot be read or a row of the wrong shape.
    """
    text = _read(path)
    if path.suffix == ".json":
        rows = _json(text, path)
        if not isinstance(rows, list):
            raise DatasetError(f"{path}: not a list of MultiHop-RAG queries")
        return [_item(f"{path} query {i + 1}", _multihop_item, i, row)
                for i, row in enumerate(rows)]
    return [_item(where, _jsonl_item, row) for where, row in _json_lines(text, path)]


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as error:
        raise DatasetError(f"cannot read {path}: {error.strerror or error}") from error
    except UnicodeDecodeError as error:
        raise DatasetError(f"{path}: not UTF-8 text") from error


def _json(text: str, where: str | Path) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise DatasetError(f"{where}: invalid JSON: {error.msg} at line {error.lineno}, "
                           f"column {error.colno}") from error
    except RecursionError as error:
        raise DatasetError(f"{where}: invalid JSON: nested too deeply") from error


def _json_lines(text: str, path: Path) -> Iterable[tuple[str, Any]]:
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            where = f"{path} line {number}"
            yield where, _json(line, where)


def _item(where: str, make: Callable[..., EvalItem], *row: Any) -> EvalItem:
    """`make(*row)`, any problem with the row's shape raised as a `DatasetError` at `where`."""
    try:
        return make(*row)
    except KeyError as error:
        raise DatasetError(f"{where}: no field {error.args[0]!r}") from error
    except ValidationError as error:
        first = error.errors(include_url=False)[0]
        field = ".".join(str(part) for part in first["loc"]) or "row"
        raise DatasetError(f"{where}: {field}: {first['msg']}") from error
    except (TypeError, AttributeError, IndexError) as error:
        raise DatasetError(f"{where}: not a question object of a known shape") from error


def _jsonl_item(row: dict[str, Any]) -> EvalItem:
    return _clapnq_item(row) if "input" in row else EvalItem.model_validate(row)


def _multihop_item(position: int, row: dict[str, Any]) -> EvalItem:
    kind = row["question_type"]
    return EvalItem(id=str(row.get("id", position)), question=row["query"],
                    answerable=kind != "null_query", question_type=kind,
                    evidence=[e["fact"] for e in row.get("evidence_list", [])],
                    answer=row.get("answer"))


def _clapnq_item(row: dict[str, Any]) -> EvalItem:
    output = (row.get("output") or [{}])[0]
    answer = output.get("answer", "")
    return EvalItem(id=str(row["id"]), question=row["input"], answerable=bool(answer),
                    evidence=list(output.get("selected_sentences") or []),
                    question_type="clapnq_answerable" if answer else "clapnq_unanswerable")


def clapnq_passages(path: Path) -> list[dict[str, str]]:
    """The passages CLAP-NQ records carry, as article records to index before asking.

    Raises `DatasetError` as `load_dataset` does.
    """
    passages = {}
    for where, row in _json_lines(_read(path), path):
        for passage in _item(where, _passages_of, row):
            passages[passage["text"]] = passage
    return list(passages.values())


def _passages_of(row: dict[str, Any]) -> list[dict[str, str]]:
    return [{"title": passage.get("title"), "text": str(passage["text"]), "source": "Wikipedia"}
            for passage in row.get("passages", [])]
