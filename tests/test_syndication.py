"""Syndicated copies: a story and two lightly edited copies by other outlets fold into one story
at ingestion, a different story on the same topic does not; search returns the story's passages
from one carrier, citations and `GET /v1/documents/{id}` name the other copies, a statement is
listed once; removing a copy keeps the others, and detection survives a restart and sees
another writer's articles. Real uvicorn on 127.0.0.1, real encoder, real embedded Chroma."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from api.app import create_app
from api.services import Services
from index.load import Document
from index.stories import pack, signature, unpack
from rag.embeddings import Encoder
from support import make_services, served
from syndicated import COPIES, COURIER, LEDGER, REOPENING, WIRE


def _post(api: httpx.Client, article: dict) -> str:
    response = api.post("/v1/documents", json=article)
    assert response.status_code == 201, response.text
    return response.json()["added"][0]["id"]


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory, encoder: Encoder
           ) -> Iterator[tuple[httpx.Client, Services, dict[str, str]]]:
    """The wire story, then its two copies and the other story in one upload, over HTTP."""
    services = make_services(tmp_path_factory.mktemp("syndication"), encoder)
    with served(create_app(services=services)) as url, \
            httpx.Client(base_url=url, timeout=120) as api:
        ids = {"wire": _post(api, WIRE)}
        response = api.post("/v1/documents", json=[LEDGER, COURIER, REOPENING])
        assert response.status_code == 201, response.text
        added = {a["source"] + a["title"]: a["id"] for a in response.json()["added"]}
        ids["ledger"] = added[LEDGER["source"] + LEDGER["title"]]
        ids["courier"] = added[COURIER["source"] + COURIER["title"]]
        ids["reopening"] = added[REOPENING["source"] + REOPENING["title"]]
        yield api, services, ids


def test_edited_copies_fold_into_the_first_copys_story(stored) -> None:
    api, _, ids = stored
    stories = {name: api.get(f"/v1/documents/{i}").json()["story_id"] for name, i in ids.items()}
    assert stories["wire"] == stories["ledger"] == stories["courier"] == ids["wire"]


def test_a_different_story_on_the_same_topic_stays_its_own(stored) -> None:
    api, _, ids = stored
    detail = api.get(f"/v1/documents/{ids['reopening']}").json()
    assert detail["story_id"] == ids["reopening"]
    assert detail["copies"] == []


def test_document_shows_the_storys_other_copies_earliest_first(stored) -> None:
    api, _, ids = stored
    detail = api.get(f"/v1/documents/{ids['ledger']}").json()
    assert detail["copies"][0]["id"] == ids["wire"]  # published a day earlier
    assert {c["id"] for c in detail["copies"]} == {ids["wire"], ids["courier"]}
    assert {c["source"] for c in detail["copies"]} == {"Estuary Wire", "Orlenvik Courier"}
    listed = api.get("/v1/documents").json()["documents"]
    assert all("signature" not in row for row in listed)


def test_search_returns_one_carrier_of_a_story(stored) -> None:
    _, services, ids = stored
    copies = {ids["wire"], ids["ledger"], ids["courier"]}
    chosen: dict[str, str] = {}
    for question in ("Why was the Halvard Bridge closed?",
                     "How many vehicles a day cross the Halvard Bridge?",
                     "What did the Kessmoor mayor say about the fish market?"):
        hits = services.engine.retriever.search(question).hits
        carriers = {h.chunk.article_id for h in hits} & copies
        assert len(carriers) == 1, (question, [(h.chunk.source, h.chunk.id) for h in hits])
        texts = [h.chunk.text for h in hits]
        assert len(texts) == len(set(texts))
        chosen[question] = carriers.pop()
    # Where the copies' passages score alike, the earliest published copy is the one returned.
    assert chosen["Why was the Halvard Bridge closed?"] == ids["wire"], chosen


def test_citation_lists_the_other_carriers(stored) -> None:
    api, _, ids = stored
    body = api.post("/v1/ask", json={"question": "How many vehicles a day use the Halvard "
                                                 "Bridge?", "mode": "extractive"}).json()
    assert not body["abstained"], body
    cited = [c for c in body["citations"] if c["article_id"] in
             {ids["wire"], ids["ledger"], ids["courier"]}]
    assert cited, body["citations"]
    for citation in cited:
        others = citation["also_carried_by"]
        assert {o["article_id"] for o in others} == (
            {ids["wire"], ids["ledger"], ids["courier"]} - {citation["article_id"]})
        assert all(o["outlet"] and o["published"] and o["url"] and o["title"] for o in others)
    other = [c for c in body["citations"] if c["article_id"] == ids["reopening"]]
    assert all(c["also_carried_by"] == [] for c in other)


def test_a_statement_is_listed_once_with_its_carriers(stored) -> None:
    api, _, ids = stored
    body = api.post("/v1/ask", json={"question": "What did Odile Marsk say about the bridge?",
                                     "mode": "extractive"}).json()
    assert not body["abstained"], body
    assert body["answer"].count("We will not reopen a structure") == 1, body["answer"]
    quoted = [c for c in body["citations"] if "We will not reopen" in c["quote"]]
    assert len(quoted) == 1
    assert quoted[0]["article_id"] == ids["wire"]  # the earliest copy is the one quoted
    assert {o["outlet"] for o in quoted[0]["also_carried_by"]} == {"Kessmoor Ledger",
                                                                    "Orlenvik Courier"}
    # The story of April, with its own statements, is still quoted.
    assert any(c["article_id"] == ids["reopening"] for c in body["citations"])


def test_removing_the_first_copy_keeps_the_others_one_story(tmp_path: Path,
                                                              encoder: Encoder) -> None:
    services = make_services(tmp_path, encoder)
    with served(create_app(services=services)) as url, \
            httpx.Client(base_url=url, timeout=120) as api:
        wire, ledger, courier, _ = (_post(api, a) for a in [*COPIES, REOPENING])
        assert api.delete(f"/v1/documents/{wire}").status_code == 200
        detail = api.get(f"/v1/documents/{ledger}").json()
        assert detail["story_id"] == wire
        assert [c["id"] for c in detail["copies"]] == [courier]
        body = api.post("/v1/ask", json={"question": "How many vehicles a day use the "
                                                     "Halvard Bridge?"}).json()
        assert not body["abstained"], body
        cited = [c for c in body["citations"] if c["article_id"] in {ledger, courier}]
        assert cited and all(len(c["also_carried_by"]) == 1 for c in cited)
        # The wire story sent again is a copy of the story its copies still carry.
        again = _post(api, WIRE)
        assert api.get(f"/v1/documents/{again}").json()["story_id"] == wire
        assert {c["id"] for c in api.get(f"/v1/documents/{again}").json()["copies"]} == {
            ledger, courier}


def test_detection_survives_a_restart_and_sees_another_writer(tmp_path: Path,
                                                              encoder: Encoder) -> None:
    first = make_services(tmp_path, encoder)
    (wire,) = (a.id for a in first.ingestor.ingest_documents(_documents([WIRE])).added)
    # A new process over the same store: its index starts empty and is read from the store.
    second = make_services(tmp_path, encoder)
    (ledger,) = (a.id for a in second.ingestor.ingest_documents(_documents([LEDGER])).added)
    assert second.engine.store.get_article(ledger).story_id == wire
    # The first process never saw that copy being written; the next copy still joins.
    (courier,) = (a.id for a in first.ingestor.ingest_documents(_documents([COURIER])).added)
    assert first.engine.store.get_article(courier).story_id == wire
    assert {c["id"] for c in first.engine.store.story_carriers(wire)} == {wire, ledger, courier}


def test_detection_off_keeps_every_copy_its_own_story(tmp_path: Path, encoder: Encoder) -> None:
    services = make_services(tmp_path, encoder, syndication=False)
    added = services.ingestor.ingest_documents(_documents(COPIES)).added
    assert [a.story_id for a in added] == [None, None, None]
    hits = services.engine.retriever.search("Why was the Halvard Bridge closed?").hits
    assert len({h.chunk.article_id for h in hits}) == 3


def test_a_signature_is_read_back_as_written() -> None:
    minhash = signature(WIRE["text"])
    assert unpack(pack(minhash)).jaccard(minhash) == 1.0
    with pytest.raises(ValueError):
        unpack("4:bm90IGEgc2lnbmF0dXJl")
    with pytest.raises(ValueError):  # another shingle size's: not comparable
        unpack(pack(signature(WIRE["text"], 3), 3))


def test_a_copy_joins_an_article_stored_before_stories_were_kept(tmp_path: Path,
                                                                 encoder: Encoder) -> None:
    before = make_services(tmp_path, encoder, syndication=False)
    (wire,) = before.ingestor.ingest_documents(_documents([WIRE])).added
    assert wire.story_id is None and before.engine.store.article_metadata(wire.id).get(
        "signature") is None
    after = make_services(tmp_path, encoder)
    (ledger,) = after.ingestor.ingest_documents(_documents([LEDGER])).added
    assert ledger.story_id == wire.id
    detail = after.engine.store.story_carriers(wire.id)
    assert [row["id"] for row in detail] == [wire.id, ledger.id]


def _documents(articles: list[dict]) -> list[Document]:
    return [Document(text=a["text"], kind="record", title=a["title"], source=a["source"],
                     published=dt.date.fromisoformat(a["published"]), url=a["url"],
                     author=a["author"]) for a in articles]


def test_replacing_the_first_copy_keeps_the_story(tmp_path: Path, encoder: Encoder) -> None:
    services = make_services(tmp_path, encoder)
    with served(create_app(services=services)) as url, \
            httpx.Client(base_url=url, timeout=120) as api:
        wire, ledger = (_post(api, a) for a in [WIRE, LEDGER])
        corrected = {**WIRE, "text": WIRE["text"].replace("31,000 vehicles", "32,000 vehicles"),
                     "replaces": [wire]}
        response = api.post("/v1/documents", json=corrected)
        assert response.status_code == 201, response.text
        assert response.json()["replaced"] == [wire]
        new = response.json()["added"][0]["id"]
        assert api.get(f"/v1/documents/{wire}").status_code == 404
        detail = api.get(f"/v1/documents/{new}").json()
        assert detail["story_id"] == wire
        assert [c["id"] for c in detail["copies"]] == [ledger]
        assert [c["id"] for c in api.get(f"/v1/documents/{ledger}").json()["copies"]] == [new]


def test_a_start_reads_the_saved_signatures_then_only_what_was_stored_since(
        tmp_path: Path, encoder: Encoder, monkeypatch: pytest.MonkeyPatch) -> None:
    import index.pipeline
    from index.stories import StoryIndex

    monkeypatch.setattr(index.pipeline, "STORIES_SAVE_AFTER", 1)
    first = make_services(tmp_path, encoder)
    (wire,) = (a.id for a in first.ingestor.ingest_documents(_documents([WIRE])).added)
    (other,) = (a.id for a in first.ingestor.ingest_documents(_documents([REOPENING])).added)
    saved = index.pipeline.root_for(first.settings) / index.pipeline.STORIES_FILE
    assert not saved.exists()  # the writer read no stored signature
    make_services(tmp_path, encoder).ingestor.prepare()  # a start reads two, and saves them
    assert saved.is_file()
    # Since then: one article deleted, a copy stored by a writer that saved nothing.
    first.engine.store.delete_article(other)
    (ledger,) = (a.id for a in make_services(tmp_path, encoder).ingestor.ingest_documents(
        _documents([LEDGER])).added)

    restored = StoryIndex()
    assert restored.restore(saved, first.engine.store.identity) and len(restored) == 2
    assert not StoryIndex().restore(saved, "another store")
    assert restored.sync(first.engine.store) == 2  # the deletion and the copy, nothing else
    assert len(restored) == 2

    later = make_services(tmp_path, encoder)
    later.ingestor.prepare()
    (courier,) = (a.id for a in later.ingestor.ingest_documents(_documents([COURIER])).added)
    assert later.engine.store.get_article(courier).story_id == wire
    assert {c["id"] for c in later.engine.store.story_carriers(wire)} == {wire, ledger, courier}
