"""Bytes of an article file to text: the character encoding found, binary content refused.

`decode_text(data)` returns the text; content holding a NUL byte (not UTF-16 or
UTF-32 with a byte-order mark) is binary and raises. The order in which encodings are tried is
in docs/ingestion.md, "Encodings".
"""

from __future__ import annotations

import codecs
import re

from index.files import UnreadableFile

_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
         (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"))
# Where a page states its encoding: the HTML standard looks in the first 1,024 bytes.
_DECLARATION_BYTES = 4096
_DECLARED = re.compile(
    rb"<meta[^>]+charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:-]+)"
    rb"|<\?xml[^>]+encoding\s*=\s*[\"']([A-Za-z0-9_.:-]+)",
    re.IGNORECASE,
)
# Labels a browser decodes as Windows-1252 (the HTML standard's encoding table), so a page
# declaring them may use its curly quotes and dashes.
_WINDOWS_1252 = {"iso-8859-1", "iso8859-1", "latin1", "latin-1", "l1", "us-ascii", "ascii",
                 "windows-1252", "cp1252", "iso_8859-1", "x-cp1252"}
# Broken bytes UTF-8 text may hold and still be read as UTF-8: one for every ten characters
# beyond ASCII that decode well.
_BROKEN_UTF8_SHARE = 0.1
# Text with fewer bytes beyond ASCII than this share is read as Windows-1252 when it decodes.
_MOSTLY_ASCII_SHARE = 0.05
_ASCII = bytes(range(128))


def decode_text(data: bytes, html: bool = False) -> str:
    """The text `data` holds; `html` also honours a charset the page declares.

    Raises `UnreadableFile` for binary content and for bytes no encoding explains.
    """
    for bom, codec in _BOMS:
        if data.startswith(bom):
            try:
                text = data.decode(codec)
            except UnicodeDecodeError as error:
                raise UnreadableFile(f"not valid {codec.upper()} text "
                                     f"(bad bytes at offset {error.start})") from error
            return _refuse_binary(text)
    if b"\x00" in data:
        raise UnreadableFile("binary content, not text (NUL bytes)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    declared = _declared_charset(data) if html else None
    return ((declared and _decode_declared(data, declared)) or _mostly_utf8(data)
            or _mostly_ascii(data) or _detected(data))


def _refuse_binary(text: str) -> str:
    if "\x00" in text:
        raise UnreadableFile("binary content, not text (NUL characters)")
    return text


def _declared_charset(data: bytes) -> str | None:
    """The codec of the charset an HTML page declares near its top, if Python knows it."""
    match = _DECLARED.search(data[:_DECLARATION_BYTES])
    if not match:
        return None
    label = (match[1] or match[2]).decode("ascii").lower()
    if label in _WINDOWS_1252:
        return "cp1252"
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def _decode_declared(data: bytes, codec: str) -> str | None:
    try:
        return data.decode(codec)
    except UnicodeDecodeError:
        # The five bytes Windows-1252 leaves undefined: a browser shows them as Latin-1 does.
        return data.decode("latin-1") if codec == "cp1252" else None


def _mostly_utf8(data: bytes) -> str | None:
    """UTF-8 with a few broken bytes (U+FFFD in their place), or None when it is not UTF-8."""
    text = data.decode("utf-8", errors="replace")
    broken = text.count("\ufffd")
    wide = len(text) - len(text.encode("ascii", errors="ignore")) - broken
    return text if wide and broken <= wide * _BROKEN_UTF8_SHARE else None


def _mostly_ascii(data: bytes) -> str | None:
    """Windows-1252 for text nearly all ASCII, when every byte has a meaning there."""
    wide = len(data.translate(None, _ASCII))
    if wide > len(data) * _MOSTLY_ASCII_SHARE:
        return None
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return None


def _detected(data: bytes) -> str:
    from charset_normalizer import from_bytes

    matches = from_bytes(data)
    best = matches.best()
    if best is None:
        raise UnreadableFile("not text: no character encoding explains its bytes")
    # On a tie, the Western default: single-byte code pages often read a text equally well.
    western = next((m for m in matches if m.encoding == "cp1252" and m.chaos <= best.chaos
                    and m.coherence >= best.coherence), None)
    return str(western or best)
