"""The objects a running server holds: settings, the engine, and the ingestor writing to it."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from index.pipeline import Ingestor
from rag.config import Settings
from rag.engine import Engine
from rag.variants import warm_up


@dataclass
class Services:
    settings: Settings
    engine: Engine
    ingestor: Ingestor
    # One ingestion at a time: concurrent writers would race on replacing a file's articles.
    write_lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def build(cls, settings: Settings) -> Services:
        # Place names for who-said-what questions load in the background (rag/variants.py).
        threading.Thread(target=warm_up, name="place-names", daemon=True).start()
        engine = Engine(settings)
        return cls(settings, engine, Ingestor(engine.store, engine.encoder, settings))
