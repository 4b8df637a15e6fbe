"""Canonical URLs: the form under which two spellings of one page's address compare equal."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from courlan import normalize_url


def canonical_url(url: str | None) -> str | None:
    """The page's address with scheme and host in lower case, the default port, tracking
    parameters (`utm_*`, `fbclid` ...), the fragment and a trailing slash dropped, and the
    query sorted (courlan's normalisation); None for anything but an http(s) URL with a host.
    """
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            return None
        normalised = normalize_url(url.strip(), trailing_slash=False)
    except ValueError:  # a malformed port or address
        return None
    return urlunsplit(urlsplit(normalised)._replace(fragment=""))
