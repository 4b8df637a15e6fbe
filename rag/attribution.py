"""The attribution that opens a group of quoted sentences ("X, according to Outlet (date): "),
written and read back in one place.

Built from citation metadata only (speaker, role, outlet, date), so it adds no claim to an
extractive answer; `speakers_named(answer)` reads the speakers back for follow-up questions.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter

from rag.question import names_in

# Starts the answer, or follows the previous sentence's "[n] " marker: the speaker, maybe a
# role in parentheses and an audience ("speaking to Sky News"), then the outlet.
_ATTRIBUTED = re.compile(
    r"(?:^|(?<=\] ))(?P<speaker>[^,:()\[\]\n]{2,80}?)(?: \([^()\n]{1,120}\))?"
    r"(?:, speaking to [^,:\n]{1,80})?, according to [^:\n]+: "
)


def outlet_phrase(source: str | None, published: dt.date | None,
                  title: str | None = None) -> str | None:
    """How prose names where an article appeared: "Arab News (2024-03-17)"; with no known
    outlet, "an article of 17 March 2024, “<title>”"; None when nothing is known."""
    if source:
        return f"{source} ({published.isoformat()})" if published else source
    day = f"{published.day} {published:%B %Y}" if published else None
    if title:
        return f"an article of {day}, “{title}”" if day else f"an article, “{title}”"
    return f"an article of {day}" if day else None


def attribution_prefix(speaker: str | None, source: str | None, published: dt.date | None,
                title: str | None = None) -> str:
    """The opening of a group: who spoke (when the article says), where, and when.

    The outlet is the article's source, or its date and quoted title when the source is
    unknown (`outlet_phrase`); with neither, only the speaker is named, and with nothing known
    there is no attribution.
    """
    outlet = outlet_phrase(source, published, title)
    if speaker and outlet:
        return f"{speaker}, according to {outlet}: "
    if outlet:
        return f"According to {outlet}: "
    return f"{speaker}: " if speaker else ""


def speakers_named(answer: str) -> list[str]:
    """The speakers an answer's attributions name, most often named first (ties: first seen).

    Only names count: a quoted sentence that merely looks like an attribution ("The
    minister, according to reports: ...") names no speaker.
    """
    found = (m.group("speaker").strip() for m in _ATTRIBUTED.finditer(answer))
    counts = Counter(name for name in found if names_in(name) == [name])
    return [name for name, _ in counts.most_common()]
