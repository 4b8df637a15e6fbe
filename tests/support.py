"""Paths and markers the tests share (importable: `tests/` is on pytest's pythonpath)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "articles"
SHARED = ROOT.parent / "shared"
SHARED_CORPUS = SHARED / "corpus"
MULTIHOP_CORPUS = SHARED / "bench" / "multihop_rag" / "corpus.json"

needs_shared = pytest.mark.skipif(
    not SHARED_CORPUS.is_dir(), reason=f"../shared/corpus not found at {SHARED_CORPUS}"
)
