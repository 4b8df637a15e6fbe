"""Grade any answer against numbered sources with the judge that verifies LLM answers
(rag/cite.py): what `POST /v1/grounding` and `rag grounding` return, sentence by sentence.

An answer with `[n]` markers is held to them: a sentence is supported when the sources it
cites state what it says (`no_citation` when it cites none, `wrong_citation` when only another
source does). An answer without any marker (as Ragas-style records hold them) is read the way
a reader would: a sentence is supported when some source states it.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from rag.cite import Verifier, split_answer, verdict
from rag.embeddings import Encoder
from rag.errors import NewsragError
from rag.judge import Attribute
from rag.lexical import LexicalView
from rag.schemas import Hit, SentenceVerdict


class InvalidCitation(NewsragError, ValueError):
    """The answer cites a source number the request does not hold; the message says which."""

    code = "unknown_source"
    status = 422
    exit_status = 2


class GroundingReport(BaseModel):
    """How much of an answer its sources state, sentence by sentence."""

    sentences: list[SentenceVerdict]
    supported: int = Field(description="Sentences the sources support.")
    total: int = Field(description="Sentences judged.")
    score: float = Field(description="supported / total (1.0 for an answer with no sentence).")
    method: str


def grade(answer: str, passages: list[Hit], ids: list[int], encoder: Encoder,
          lexical: LexicalView, attribute: Attribute | None = None) -> GroundingReport:
    """Judge each sentence of `answer` against `passages`, which its markers number `ids`
    (`[ids[i]]` cites `passages[i]`). Raises `InvalidCitation` for a marker to no source."""
    position = {source_id: i + 1 for i, source_id in enumerate(ids)}
    sentences = split_answer(answer)
    unknown = sorted({n for s in sentences for n in s.cited} - set(position))
    if unknown:
        held = ", ".join(str(i) for i in ids) or "none"
        raise InvalidCitation(f"the answer cites {', '.join(f'[{n}]' for n in unknown)}, but "
                              f"the sources are numbered {held}")
    verifier = Verifier(passages, encoder, lexical, attribute=attribute)
    marked = any(s.cited for s in sentences)
    verdicts = []
    for sentence in sentences:
        judgement = verifier.judge(sentence.claim, [position[n] for n in sentence.cited])
        found = verdict(verifier, sentence, judgement, strict=marked)
        verdicts.append(found.model_copy(update={
            "supported_by": [ids[n - 1] for n in found.supported_by]}))
    supported = sum(v.supported for v in verdicts)
    return GroundingReport(sentences=verdicts, supported=supported, total=len(verdicts),
                           score=round(supported / len(verdicts), 4) if verdicts else 1.0,
                           method=verifier.method)
