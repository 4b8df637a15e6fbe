"""Paths and markers the tests share (importable: `tests/` is on pytest's pythonpath)."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.services import Services
from index.pipeline import Ingestor
from rag.config import Settings
from rag.embeddings import Encoder
from rag.engine import Engine

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "articles"
SHARED = ROOT.parent / "shared"
SHARED_CORPUS = SHARED / "corpus"
MULTIHOP_CORPUS = SHARED / "bench" / "multihop_rag" / "corpus.json"

needs_shared = pytest.mark.skipif(
    not SHARED_CORPUS.is_dir(), reason=f"../shared/corpus not found at {SHARED_CORPUS}"
)


def make_services(data_dir: Path, encoder: Encoder, **overrides: object) -> Services:
    """Services on a store of their own, with test settings (no key, no .env file)."""
    settings = Settings(**{"data_dir": data_dir, "api_key": None, "_env_file": None, **overrides})
    engine = Engine(settings, encoder=encoder)
    return Services(settings, engine, Ingestor(engine.store, encoder, settings))
