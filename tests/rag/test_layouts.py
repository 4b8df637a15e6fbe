"""Packed chunk layouts: what goes in comes back, spans and statements to the offset, and bytes
of another kind are refused."""

from __future__ import annotations

import pytest

from rag.layouts import VERSION, ChunkLayout, pack, unpack

SAID = {"start": 120, "end": 180, "speaker": "Livia Varnholt", "kind": "quote",
        "cue": "said"}


def test_layouts_come_back_as_packed() -> None:
    chunks = [(0, ChunkLayout(0, 118, ((0, 40), (41, 118)), (), ())),
              (1, ChunkLayout(100, 260, ((100, 119), (120, 180), (181, 260)),
                              (None, "Livia Varnholt", None), (SAID,))),
              (2, ChunkLayout(240, 240, (), (), ()))]
    packed = pack(chunks, 1_700_000_000.25)
    held = unpack(packed)
    assert held.written_at == 1_700_000_000.25
    assert held.chunks == dict(chunks)
    assert packed[0] == VERSION


def test_statements_repeating_keys_pack_smaller_than_their_json() -> None:
    statement = {**SAID, "speaker": "the Ostmark foreign minister"}
    chunks = [(n, ChunkLayout(n * 500, n * 500 + 480,
                              tuple((n * 500 + 40 * k, n * 500 + 40 * k + 39) for k in range(12)),
                              ("the Ostmark foreign minister",) * 12, (statement,) * 6))
              for n in range(10)]
    packed = pack(chunks, 0.0)
    assert unpack(packed).chunks == dict(chunks)
    assert len(packed) < len(repr(chunks)) / 4


@pytest.mark.parametrize("stored", [b"", b"\x00abc", bytes([VERSION]) + b"not zlib"])
def test_bytes_of_another_kind_are_refused(stored: bytes) -> None:
    with pytest.raises(ValueError, match="packed chunk layout"):
        unpack(stored)
