"""The objects a running server holds: settings, the engine, and the ingestor writing to it."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

from api.attribution import attribute
from api.settings import ServerSettings
from index.pipeline import REPAIR_GRACE_SECONDS, Ingestor
from rag.engine import Engine
from rag.snapshot import holds_every_chunk, root_for
from rag.store import Store
from rag.variants import warm_up

log = logging.getLogger("newsrag.api")


@dataclass
class Services:
    settings: ServerSettings
    engine: Engine
    ingestor: Ingestor
    # One ingestion at a time: concurrent writers would race on replacing a file's articles.
    write_lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def build(cls, settings: ServerSettings) -> Services:
        """Open the store, sweep what an interrupted write left (so counts and searches see
        committed articles only; skipped when the snapshot saved for the store's revision
        shows there is nothing to sweep), and load the engine."""
        store = Store.open(settings)
        if holds_every_chunk(root_for(settings), store.revision()):
            store.assume_swept()
        else:
            store.repair(grace_seconds=REPAIR_GRACE_SECONDS if settings.chroma_url else 0.0)
        engine = Engine(settings, store=store, attribute=attribute)
        return cls(settings, engine, Ingestor(engine.store, engine.encoder, settings))

    def start_background_work(self) -> None:
        """Start, each in a thread of its own, what the first questions and the first upload
        would otherwise wait for: the place names of who-said-what questions
        (rag/variants.py), the write preparation (`prepare_writes`) and the snapshot's files
        in the page cache (`warm_page_cache`). Called once the engine is loaded: beside the
        loading they only slowed it (docs/benchmarks.md, "Asks after a restart")."""
        for name, work in (("place-names", warm_up), ("prepare-writes", self.prepare_writes),
                           ("warm-page-cache", self.warm_page_cache)):
            threading.Thread(target=work, name=name, daemon=True).start()

    def warm_page_cache(self) -> None:
        """Read the loaded search snapshot's files into the kernel's page cache
        (`Retriever.warm_page_cache`), logging how much and how long; a failure is logged."""
        began = time.perf_counter()
        try:
            done = self.engine.retriever.warm_page_cache()
        except Exception as error:  # a cold cache only slows the first questions
            log.warning("could not read the search snapshot ahead: %s", error)
            return
        if done:
            log.info("read %d bytes of the search snapshot ahead in %.1f s", done,
                     time.perf_counter() - began)

    def prepare_writes(self) -> None:
        """What the first upload would wait for, loaded ahead under the write lock
        (`Ingestor.prepare`); a failure is logged, and the first upload tries again."""
        with self.write_lock:
            try:
                self.ingestor.prepare()
            except Exception as error:  # the store away a moment: the first write reads it
                log.warning("could not prepare for writes ahead: %s", error)
