"""The outlet of an article whose text names none: from its URL's domain or its site's page
furniture. A file's name is never an outlet: with neither clue the outlet stays unknown (None).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

# Page furniture that only one site's article pages carry, as pasted with the story: each is
# a set of whole lines that must all be present.
SITE_FURNITURE: tuple[tuple[frozenset[str], str], ...] = (
    # arabnews.com: the short-link button and the follow button around the update time.
    (frozenset({"short url", "follow"}), "Arab News"),
)
_LINE = re.compile(r"[^\n]+")


def outlet_from_url(url: str | None) -> str | None:
    """The site an article's URL is on, without "www." ("https://www.dawn.com/news/1" ->
    "dawn.com"); None without a URL or a host name."""
    if not url:
        return None
    host = urlsplit(url if "//" in url else f"//{url}").hostname or ""
    host = host.removeprefix("www.")
    return host if "." in host else None


def outlet_from_furniture(raw_text: str) -> str | None:
    """The outlet whose page furniture the pasted text carries (`SITE_FURNITURE`), or None."""
    lines = {" ".join(line.lower().split()) for line in _LINE.findall(raw_text)}
    for furniture, outlet in SITE_FURNITURE:
        if furniture <= lines:
            return outlet
    return None


def infer_outlet(raw_text: str, url: str | None) -> str | None:
    """An outlet for an article whose text names none, or None."""
    return outlet_from_furniture(raw_text) or outlet_from_url(url)
