"""The messages an LLM answer is asked with: the rules, then numbered sources fenced as data.

Each passage sits in its own `<source id="n" ...>` block and every "<" inside article text or
metadata is escaped, so an article cannot close its block early and speak outside it: whatever
an article says ("ignore previous instructions ...") reaches the model only as quoted source
text, which the system prompt tells it never to obey.
"""

from __future__ import annotations

import html

import prompts
from rag.schemas import Chunk, Hit

_OPENING_WORDS = 10  # of a sentence, to say which one a statement record is


def fence(number: int, hit: Hit) -> str:
    """One passage as a numbered `<source>` block that its text cannot break out of."""
    chunk = hit.chunk
    attributes = {"id": str(number), "title": chunk.title, "outlet": chunk.source,
                  "date": chunk.published.isoformat() if chunk.published else None}
    tag = " ".join(f'{name}="{html.escape(value, quote=True)}"'
                   for name, value in attributes.items() if value)
    body = chunk.text + statements_note(chunk)
    return f"<source {tag}>\n{body.replace('<', '&lt;')}\n</source>"


def statements_note(chunk: Chunk) -> str:
    """The chunk's statement records, one line each after its text: who said which sentence
    (by its opening words), in what role, directly or reported, and to whom."""
    if not chunk.statements:
        return ""
    lines = ["", "Statements in this passage (who said which sentence):"]
    for record in chunk.statements:
        sentence = chunk.text[record.start - chunk.start : record.end - chunk.start].split()
        opening = " ".join(sentence[:_OPENING_WORDS]) + (" …" if len(sentence) > _OPENING_WORDS
                                                         else "")
        details = [record.roles[0]] if record.roles else []
        details.append(f"{record.kind}, {record.cue}")
        if record.audience:
            details.append(f"to {record.audience}")
        lines.append(f"- {record.speaker} ({'; '.join(details)}): {opening}")
    return "\n".join(lines)


def answer_messages(question: str, hits: list[Hit]) -> list[dict[str, str]]:
    """The system rules and the user message: sources numbered 1..n in `hits` order."""
    sources = "\n\n".join(fence(number, hit) for number, hit in enumerate(hits, start=1))
    return [
        {"role": "system", "content": prompts.load("answer_system").strip()},
        {"role": "user", "content": prompts.load("answer_user").strip().format(
            sources=sources, question=question)},
    ]
