"""Reads of a Chroma server sent at once and answered later (`rag.pending_reads`, through
`Store.existing_ids_later` and `ChromaBlobs.get_later`), on a real `chroma run` on 127.0.0.1:
the answers Chroma's own client gives, several requests in flight on one thread, and a server
gone failing as Chroma's client fails."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import chromadb
import pytest
from chromadb.config import Settings as ChromaSettings

from index.pipeline import Ingestor
from processes import CHROMA, chroma_servers
from rag.config import Settings
from rag.embeddings import Encoder
from rag.pending_reads import collection_gets
from rag.store import Store
from support import EXAMPLES

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not CHROMA.exists(),
                                 reason=f"the `chroma` executable is missing ({CHROMA})")]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory,
           encoder: Encoder) -> Iterator[tuple[Store, Settings]]:
    """The sample corpus on one `chroma run` server, and the settings that reach it."""
    with chroma_servers(tmp_path_factory.mktemp("pending-reads"), count=1) as (url,):
        settings = Settings(data_dir=tmp_path_factory.mktemp("data"), chroma_url=url,
                            _env_file=None)
        store = Store.open(settings)
        Ingestor(store, encoder, settings).ingest_paths([EXAMPLES])
        yield store, settings


@pytest.fixture
def server_store(served: tuple[Store, Settings]) -> Store:
    return served[0]


def test_gets_over_the_http_api_give_chromas_answers(tmp_path: Path) -> None:
    with chroma_servers(tmp_path, count=1) as (url,):
        address = urlsplit(url)
        client = chromadb.HttpClient(host=address.hostname, port=address.port,
                                     settings=ChromaSettings(anonymized_telemetry=False))
        collection = client.get_or_create_collection("pending", embedding_function=None)
        collection.add(ids=[f"r{i}" for i in range(20)], embeddings=[[1.0]] * 20,
                       metadatas=[{"n": i, "text": f"row {i}"} for i in range(20)])
        gets = collection_gets(client, collection)
        assert gets is not None
        asked = [["r3", "r1", "nothing"], ["r19", "r7"], ["r5"]]
        pending = [gets.send(ids, ["metadatas"]) for ids in asked]  # all sent first
        for ids, answer in zip(reversed(asked), reversed(pending), strict=True):
            expected = collection.get(ids=ids, include=["metadatas"])
            got = answer()
            assert sorted(zip(got["ids"], got["metadatas"], strict=True),
                          key=lambda row: row[0]) == sorted(
                zip(expected["ids"], expected["metadatas"], strict=True),
                key=lambda row: row[0])
        assert set(gets.send(["r2", "r40"], [])()["ids"]) == {"r2"}
        gets.close()
    embedded = chromadb.PersistentClient(path=str(tmp_path / "embedded"),
                                         settings=ChromaSettings(anonymized_telemetry=False))
    assert collection_gets(embedded, embedded.get_or_create_collection(
        "pending", embedding_function=None)) is None


def test_several_existence_questions_in_flight_get_chromas_answers(
        server_store: Store) -> None:
    stored = server_store.article_ids()
    assert len(stored) >= 6
    asked = [[*stored[:3], "not-an-article"], stored[3:6], ["neither", "nor-this"]]
    answers = [server_store.existing_ids_later(ids) for ids in asked]  # all sent first
    assert [answer() for answer in reversed(answers)] == [
        server_store.existing_ids(ids) for ids in reversed(asked)]
    assert answers[0]() == set(stored[:3])  # an answer read again is the same


def test_an_article_deleted_since_the_connection_was_opened_is_not_held(
        served: tuple[Store, Settings], tmp_path: Path) -> None:
    store, settings = served
    last = store.article_ids()[-1]  # the other tests ask about the first six
    assert store.existing_ids_later([last])() == {last}  # its connection is kept open
    # Deleted through another client of the server, as another process would.
    other = Store.open(settings.model_copy(update={"data_dir": tmp_path}))
    assert other.delete_article(last)
    assert store.existing_ids_later([last, store.article_ids()[0]])() == {
        store.article_ids()[0]}


def test_sentence_vectors_read_later_are_the_stored_bytes(server_store: Store) -> None:
    ids = [c.id for c in server_store.iter_chunks()][:12]
    pending = [server_store.sentences.get_later(ids[:6]),
               server_store.sentences.get_later([*ids[6:], "no-such-chunk"])]
    got = [answer() for answer in pending]
    assert got == [server_store.sentences.get(ids[:6]), server_store.sentences.get(ids[6:])]
    assert len(got[0]) == 6 and all(got[0].values())
    before = len(server_store.sentence_cache)
    assert server_store.packed_sentences_later(ids)() == server_store.sentences.get(ids)
    assert len(server_store.sentence_cache) >= min(before + 1, server_store.sentence_cache.size)


def test_a_server_gone_fails_as_chromas_client_fails(tmp_path: Path) -> None:
    with chroma_servers(tmp_path, count=1) as (url,):
        store = Store.open(Settings(data_dir=tmp_path / "data", chroma_url=url,
                                    _env_file=None))
        assert store.existing_ids_later(["a"])() == set()  # a connection is kept open
    with pytest.raises(Exception) as direct:
        store.existing_ids(["a"])
    with pytest.raises(direct.type):
        store.existing_ids_later(["a"])()
    with pytest.raises(direct.type):
        store.sentences.get_later(["a"])()
