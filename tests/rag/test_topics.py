"""What a statement says without its attribution: the text its meaning is read from."""

from __future__ import annotations

import pytest

from rag.schemas import Statement
from rag.statements import Said
from rag.topics import content_of


def said(text: str, speaker: str, cue: str, kind: str = "reported",
         roles: tuple[str, ...] = ()) -> Said:
    record = Statement(start=0, end=len(text), speaker=speaker, kind=kind, cue=cue, roles=roles)
    return Said(statement=record, position=0, sentence=0, previous=-1, chunk_id="a:0",
                article_id="a", text=text, title=None, source=None, published=None, url=None)


@pytest.mark.parametrize(("text", "speaker", "cue", "kind", "content"), [
    ("The Harbour Workers' Union of Veltara said its members would stay out for at least 72 "
     "hours.", "Harbour Workers' Union of Veltara", "said", "reported",
     "its members would stay out for at least 72 hours."),
    ('"We have been patient for eighteen months, and patience has not paid a single bill," '
     "union secretary Ilse Brandvold told a rally outside the East Gate terminal.",
     "Ilse Brandvold", "told", "direct",
     "We have been patient for eighteen months, and patience has not paid a single bill"),
    ("Solberg told reporters that freight services on the line would start in early 2026.",
     "Hanne Solberg", "told", "reported",
     "freight services on the line would start in early 2026."),
    ("Passwords and full card numbers were not taken, it said.", "Lumenfield Systems", "said",
     "reported", "Passwords and full card numbers were not taken"),
    ("Investigators believe the fire started near a power line, Mirov said, adding that it was "
     "too early to determine the cause.", "Elena Mirov", "said", "reported",
     "Investigators believe the fire started near a power line; it was too early to determine "
     "the cause"),
    ('Right now every aircraft counts," Wainright-Osei told Northwind Wire.',
     "Tobias Wainright-Osei", "told", "direct", "Right now every aircraft counts"),
])
def test_the_content_is_the_statement_without_who_said_it(text: str, speaker: str, cue: str,
                                                         kind: str, content: str) -> None:
    assert content_of(said(text, speaker, cue, kind)) == content
