"""A server starting over a store that a crashed write left behind: the orphan chunks are swept
before anything is counted or searched, so /readyz and the index gauges count committed
articles only. Real uvicorn on 127.0.0.1, real embedded Chroma."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from api.app import create_app
from api.settings import ServerSettings
from index.load import Document
from rag import variants
from rag.embeddings import Encoder
from rag.schemas import Article, Chunk, article_id_for
from rag.snapshot import root_for
from rag.store import Store, connect
from support import make_services, served

KEPT = "The Ostrel ferry line adds a night crossing from June, the operator said."
CRASHED = "Quay four of the harbour closes for eight weeks of repairs from Monday."


def gauges(url: str) -> dict[str, float]:
    text = httpx.get(f"{url}/metrics", timeout=30).text
    return {family.name: family.samples[0].value
            for family in text_string_to_metric_families(text)
            if family.name.startswith("newsrag_index_")}


def test_orphans_of_a_crashed_write_are_swept_at_start(tmp_path: Path,
                                                       encoder: Encoder) -> None:
    data = tmp_path / "store"
    services = make_services(data, encoder)
    services.ingestor.ingest_documents([Document(kind="record", title="Ferry", text=KEPT)])
    committed = services.engine.store.chunk_count()
    # A write killed between its chunks and its record (the commit marker) leaves this.
    orphan = Article(id=article_id_for(CRASHED), text=CRASHED, title="Quay")
    chunk = Chunk(id=f"{orphan.id}:0", article_id=orphan.id, ordinal=0, text=CRASHED,
                  start=0, end=len(CRASHED))
    store = services.engine.store
    settings = ServerSettings(data_dir=data, api_key=None, _env_file=None)
    # Written through Chroma's own client, as the crashed process left it long ago.
    chunks = connect(settings).get_collection(f"{settings.collection}_chunks")
    chunks.upsert(ids=[chunk.id], embeddings=encoder.embed([CRASHED]), documents=[CRASHED],
                  metadatas=[{"article_id": orphan.id, "ordinal": 0, "start": 0,
                              "end": len(CRASHED), "written_at": 0.0}])
    assert store.chunk_count() == committed + 1

    with served(create_app(settings)) as url:
        ready = httpx.get(f"{url}/readyz", timeout=30).json()
        assert (ready["articles"], ready["chunks"]) == (1, committed)
        assert gauges(url) == {"newsrag_index_articles": 1.0, "newsrag_index_chunks": committed}
    assert Store.open(settings).chunk_count() == committed


def test_a_server_loads_the_stored_signatures_before_the_first_upload(
        tmp_path: Path, encoder: Encoder) -> None:
    data = tmp_path / "store"
    services = make_services(data, encoder)
    services.ingestor.ingest_documents([Document(kind="record", title="Ferry", text=KEPT)])
    (original,) = services.engine.store.article_ids()
    app = create_app(ServerSettings(data_dir=data, api_key=None, _env_file=None))
    with served(app) as url:
        stories = app.state.services.ingestor.stories
        deadline = time.monotonic() + 60
        while not len(stories) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(stories) == 1  # read with no upload asking for it
        copy = {"title": "Night ferry", "source": "Harbour Times", "text": KEPT + " Tickets "
                "go on sale in May."}
        (added,) = httpx.post(f"{url}/v1/documents", json=copy, timeout=60).json()["added"]
        assert added["id"] != original and added["story_id"] == original


def test_a_server_reads_its_saved_snapshot_ahead_of_the_questions(
        tmp_path: Path, encoder: Encoder, caplog: pytest.LogCaptureFixture) -> None:
    data = tmp_path / "store"
    services = make_services(data, encoder)
    services.ingestor.ingest_documents([Document(kind="record", title="Ferry", text=KEPT)])
    services.engine.retriever.refresh()  # saved for the next start
    (saved,) = root_for(services.settings).glob("*/columns.npz")
    size = sum(p.stat().st_size for p in saved.parent.iterdir())
    caplog.set_level(logging.INFO, logger="newsrag.api")
    with served(create_app(ServerSettings(data_dir=data, api_key=None, _env_file=None))):
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not [
                r for r in caplog.records if "search snapshot ahead" in r.getMessage()]:
            time.sleep(0.05)
    (record,) = [r for r in caplog.records if "search snapshot ahead" in r.getMessage()]
    assert record.getMessage().startswith(f"read {size} bytes")


def test_a_server_loads_the_place_names_once_it_is_ready(tmp_path: Path,
                                                         encoder: Encoder) -> None:
    data = tmp_path / "store"
    make_services(data, encoder)
    variants._places.cache_clear()
    variants._country_stems.cache_clear()
    with served(create_app(ServerSettings(data_dir=data, api_key=None, _env_file=None))):
        deadline = time.monotonic() + 60
        while not variants._country_stems.cache_info().currsize and time.monotonic() < deadline:
            time.sleep(0.05)
        # Loaded with no who-said-what question asking for them.
        assert variants._places.cache_info().currsize == 1
        assert variants._country_stems.cache_info().currsize == 1
