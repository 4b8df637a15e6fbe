"""/v1/documents, /healthz and /readyz on stores of the tests' own: upload (JSON and multipart),
list, show, delete, bad uploads, and the write key. Real encoder, real embedded Chroma."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from api.app import create_app
from api.services import Services
from rag.embeddings import Encoder
from support import assert_json_error, make_services

# A fictional story with names found nowhere else, so retrieval can only find it here.
BRIDGE_TEXT = """\
The Quillmoor river authority on Thursday reopened the Tarrowgate suspension bridge, eleven \
months after a barge named the Merrow Lantern struck one of its stone piers during a spring \
flood.

Chief engineer Odalys Fenwright-Okoro said the repaired pier had been rebuilt around a steel \
caisson sunk nine metres into the riverbed. "We did not patch the old pier, we replaced its \
heart," Fenwright-Okoro told reporters on the east bank. The repairs cost 41 million crowns, \
about a third less than the first estimate.

Traffic on the bridge will be limited to cars and buses for the first six weeks while sensors \
fitted to the deck record how the new pier settles. Heavy lorries will continue to use the \
ferry crossing at Dunhallow until the authority publishes the sensor readings in late \
autumn.

Shopkeepers in the old market district said the closure had cut their trade by half. "People \
stopped coming over the river, and some of them never came back," said baker Ilario Snell, \
whose family has run a shop at the foot of the bridge since 1931.

The owners of the Merrow Lantern agreed in January to pay the authority 12 million crowns in \
compensation. A separate inquiry into the barge's steering failure is due to report next \
spring.
"""
BRIDGE = {
    "title": "Tarrowgate bridge reopens after barge strike",
    "text": BRIDGE_TEXT,
    "source": "The Quillmoor Courier",
    "published": "2025-04-11",
    "url": "https://example.invalid/quillmoor/tarrowgate-bridge",
}
BRIDGE_QUESTION = "Who rebuilt the Tarrowgate bridge pier after the Merrow Lantern struck it?"

LIGHTHOUSE_TXT = b"""\
Harbour lighthouse at Cape Velloran to be automated next year
By Brisa Tamworth, The Quillmoor Courier
March 2, 2025

The last keeper of the Cape Velloran lighthouse, Amadeo Quint, will retire next spring when \
the light is switched to automatic operation, the coastal safety board said on Sunday. Quint \
has tended the lamp for twenty-six years and said he would miss the winter storms most of all.

The board said the automation would cost 3 million crowns and would be finished before the \
autumn fishing season. A small museum will open in the keeper's cottage.
"""
ORCHARD_JSONL = b"\n".join(json.dumps(record).encode() for record in [
    {"title": "Pellowmere orchards report record cherry harvest",
     "body": "Growers around Pellowmere picked 18,000 tonnes of cherries this summer, the "
             "largest harvest since the valley cooperative began keeping records, cooperative "
             "chair Sunniva Albrecht-Moss said on Friday.",
     "outlet": "Pellowmere Post", "date": "2025-08-01"},
    {"title": "Ferry line between Ostrel and Vanmouth suspended",
     "body": "The Ostrel-Vanmouth ferry will stop running for three weeks from Monday while "
             "its only vessel, the Grey Kittiwake, is repaired in dry dock, the operator said.",
     "outlet": "Pellowmere Post", "date": "2025-08-03"},
])


def created(response: Response) -> dict:
    assert response.status_code == 201, response.text
    return response.json()


def upload(client: TestClient, files: list[tuple[str, bytes]], **kwargs: object) -> Response:
    parts = [("files", (name, data, "application/octet-stream")) for name, data in files]
    return client.post("/v1/documents", files=parts, **kwargs)


def cited_ids(answer: dict) -> set[str]:
    return {c["article_id"] for c in answer["citations"]}


@pytest.fixture
def client(fresh_services: Services) -> Iterator[TestClient]:
    with TestClient(create_app(services=fresh_services)) as test_client:
        yield test_client


# ---- JSON documents: the full life cycle --------------------------------------------------


def test_document_life_cycle(client: TestClient, fresh_services: Services) -> None:
    result = created(client.post("/v1/documents", json=BRIDGE))
    assert len(result["added"]) == 1
    assert result["unchanged"] == [] and result["skipped"] == []
    assert result["chunks_added"] >= 1
    added = result["added"][0]
    doc_id = added["id"]
    assert doc_id
    assert added["title"] == BRIDGE["title"]
    assert added["source"] == BRIDGE["source"]
    assert added["published"] == BRIDGE["published"]

    listing = client.get("/v1/documents").json()
    assert listing["total"] == 1
    assert [d["id"] for d in listing["documents"]] == [doc_id]
    assert listing["documents"][0]["chunks"] == result["chunks_added"]

    detail = client.get(f"/v1/documents/{doc_id}").json()
    assert "Odalys Fenwright-Okoro" in detail["text"]
    assert detail["text"] == BRIDGE_TEXT.strip()
    assert detail["url"] == BRIDGE["url"]

    answer = client.post("/v1/ask", json={"question": BRIDGE_QUESTION}).json()
    assert not answer["abstained"], answer
    assert cited_ids(answer) == {doc_id}
    assert "Fenwright-Okoro" in answer["answer"]

    deleted = client.delete(f"/v1/documents/{doc_id}")
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["id"] == doc_id
    assert deleted.json()["chunks_deleted"] == result["chunks_added"] > 0

    assert_json_error(client.get(f"/v1/documents/{doc_id}"), 404, "document_not_found")
    assert fresh_services.engine.store.chunk_count() == 0
    assert client.get("/v1/documents").json()["total"] == 0
    after = client.post("/v1/ask", json={"question": BRIDGE_QUESTION})
    assert after.status_code == 200, after.text
    assert doc_id not in cited_ids(after.json())
    assert after.json()["abstained"]
    assert all(c["article_id"] != doc_id for c in after.json()["contexts"])


def test_same_document_twice_is_unchanged(client: TestClient) -> None:
    first = created(client.post("/v1/documents", json=BRIDGE))
    second = created(client.post("/v1/documents", json=BRIDGE))
    assert second["added"] == []
    assert [d["id"] for d in second["unchanged"]] == [first["added"][0]["id"]]
    assert second["chunks_added"] == 0
    assert client.get("/v1/documents").json()["total"] == 1


def test_json_list_of_documents(client: TestClient) -> None:
    other = {"title": "Cape Velloran", "text": LIGHTHOUSE_TXT.decode()}
    result = created(client.post("/v1/documents", json=[BRIDGE, other]))
    assert len(result["added"]) == 2
    assert client.get("/v1/documents").json()["total"] == 2


@pytest.mark.parametrize(("body", "field"), [
    ({"title": "x", "text": "   "}, "text"),
    ({"title": "x"}, "text"),
    ({"text": "Some text.", "colour": "red"}, "colour"),
    ({"text": "Some text.", "published": "not a date"}, "published"),
    (123, "body"),
    ("just a string", "body"),
    ([BRIDGE, {"title": "x", "text": " "}], "[1].text"),
], ids=["blank text", "no text", "unknown field", "bad date", "number", "string",
        "bad list item"])
def test_invalid_json_document_is_422(client: TestClient, body: object, field: str) -> None:
    error = assert_json_error(client.post("/v1/documents", json=body), 422, "invalid_request")
    assert field in error["message"]
    assert client.get("/v1/documents").json()["total"] == 0


def test_too_many_or_no_json_documents_is_422(client: TestClient) -> None:
    many = [{"title": f"n{i}", "text": f"Story number {i}."} for i in range(101)]
    assert_json_error(client.post("/v1/documents", json=many), 422, "invalid_request")
    assert_json_error(client.post("/v1/documents", json=[]), 422, "invalid_request")
    assert client.get("/v1/documents").json()["total"] == 0


def test_malformed_json_document_is_400(client: TestClient) -> None:
    response = client.post("/v1/documents", content=b'{"text": ',
                           headers={"content-type": "application/json"})
    assert_json_error(response, 400, "malformed_json")


def test_unsupported_content_type_is_415(client: TestClient) -> None:
    response = client.post("/v1/documents", content=BRIDGE_TEXT.encode(),
                           headers={"content-type": "text/plain"})
    assert_json_error(response, 415, "unsupported_media_type")


# ---- multipart uploads --------------------------------------------------------------------


def test_upload_text_and_json_lines(client: TestClient) -> None:
    result = created(upload(client, [("lighthouse.txt", LIGHTHOUSE_TXT),
                                     ("orchards.jsonl", ORCHARD_JSONL)]))
    assert len(result["added"]) == 3
    assert result["skipped"] == []
    by_title = {d["title"]: d for d in result["added"]}
    assert by_title["Pellowmere orchards report record cherry harvest"]["source"] == \
        "Pellowmere Post"
    orchards = by_title["Pellowmere orchards report record cherry harvest"]
    assert (orchards["filename"], orchards["path"]) == ("orchards.jsonl", None)
    lighthouse = next(d for d in result["added"] if d["filename"] == "lighthouse.txt")
    assert "Amadeo Quint" in client.get(f"/v1/documents/{lighthouse['id']}").json()["text"]
    assert client.get("/v1/documents").json()["total"] == 3


def test_same_upload_twice_is_unchanged(client: TestClient) -> None:
    first = created(upload(client, [("orchards.jsonl", ORCHARD_JSONL)]))
    second = created(upload(client, [("orchards.jsonl", ORCHARD_JSONL)]))
    assert second["added"] == [] and second["chunks_added"] == 0
    assert {d["id"] for d in second["unchanged"]} == {d["id"] for d in first["added"]}
    assert second["replaced"] == []
    assert client.get("/v1/documents").json()["total"] == 2


def test_bad_files_are_skipped_with_reasons(client: TestClient) -> None:
    bad = {
        "empty.txt": (b"", "empty"),
        "binary.txt": (b"GIF89a\x00\x01\x02\x00\x00text", "binary"),
        "latin.txt": (b"\xff\xfe\xfa bad", "UTF-16"),
        "report.pdf": (b"%PDF-1.4\n% not really a pdf\n", ".pdf"),
        "broken.json": (b'{"title": "x", "text": ', "JSON"),
    }
    files = [(name, data) for name, (data, _) in bad.items()]
    result = created(upload(client, [*files, ("lighthouse.txt", LIGHTHOUSE_TXT)]))
    assert [d["filename"] for d in result["added"]] == ["lighthouse.txt"]
    reasons = {s["name"]: s["reason"] for s in result["skipped"]}
    assert set(reasons) == set(bad)
    for name, (_, word) in bad.items():
        assert word in reasons[name], (name, reasons[name])
    assert client.get("/v1/documents").json()["total"] == 1


def test_upload_of_only_bad_files_is_422(client: TestClient) -> None:
    response = upload(client, [("empty.txt", b""), ("binary.txt", b"\x00\x01\x02"),
                               ("report.pdf", b"%PDF-1.4")])
    error = assert_json_error(response, 422, "no_articles")
    for name in ("empty.txt", "binary.txt", "report.pdf"):
        assert name in error["message"]
    assert client.get("/v1/documents").json()["total"] == 0


def test_multipart_without_files_is_422(client: TestClient) -> None:
    response = client.post("/v1/documents", data={"title": "x"},
                           files=[("other", ("a.txt", b"hello", "text/plain"))])
    assert_json_error(response, 422, "invalid_request")


def test_oversized_file_is_skipped(tmp_path: Path, encoder: Encoder) -> None:
    services = make_services(tmp_path / "small", encoder, max_upload_bytes=1000)
    with TestClient(create_app(services=services)) as small:
        result = created(upload(small, [("big.txt", b"word " * 400),
                                        ("lighthouse.txt", LIGHTHOUSE_TXT)]))
    assert [d["filename"] for d in result["added"]] == ["lighthouse.txt"]
    assert result["skipped"] == [{"name": "big.txt", "reason": "larger than 1000 bytes"}]


def test_too_many_files_is_a_json_400(client: TestClient) -> None:
    files = [(f"story{i}.txt", b"A short story, number %d." % i) for i in range(101)]
    assert_json_error(upload(client, files), 400)
    assert client.get("/v1/documents").json()["total"] == 0


@pytest.mark.parametrize("content_type", ["multipart/form-data",
                                          "multipart/form-data; boundary=abc"])
def test_broken_multipart_is_a_json_400(client: TestClient, content_type: str) -> None:
    response = client.post("/v1/documents", content=b"garbage",
                           headers={"content-type": content_type})
    assert_json_error(response, 400)


def files_under(root: Path) -> set[Path]:
    return {Path(folder, name) for folder, _, names in os.walk(root) for name in names}


@pytest.mark.parametrize("name", ["../../etc/passwd.txt", "..\\..\\etc\\passwd.txt",
                                  "/etc/passwd.txt"], ids=["dot-dot", "backslashes", "absolute"])
def test_upload_file_name_is_only_a_label(client: TestClient, tmp_path: Path,
                                          name: str) -> None:
    store_dir = tmp_path / "store"
    outside_before = files_under(tmp_path) - files_under(store_dir)
    targets = [Path("/etc/passwd.txt"), Path.cwd().parent.parent / "etc" / "passwd.txt",
               tmp_path / "etc" / "passwd.txt", store_dir.parent.parent / "etc" / "passwd.txt"]
    existed = {target: target.exists() for target in targets}

    result = created(upload(client, [(name, LIGHTHOUSE_TXT)]))
    assert len(result["added"]) == 1
    doc = client.get(f"/v1/documents/{result['added'][0]['id']}").json()
    assert (doc["filename"], doc["path"]) == ("passwd.txt", None)

    assert files_under(tmp_path) - files_under(store_dir) == outside_before
    for target in targets:
        assert target.exists() == existed[target], target
    assert not any(path.name == "passwd.txt" for path in files_under(store_dir))


@pytest.mark.parametrize("query", ["limit=0", "limit=1001", "offset=-1", "limit=many"])
def test_bad_listing_page_is_422(client: TestClient, query: str) -> None:
    assert_json_error(client.get(f"/v1/documents?{query}"), 422, "invalid_request")


def test_listing_pages(client: TestClient) -> None:
    created(upload(client, [("lighthouse.txt", LIGHTHOUSE_TXT), ("orchards.jsonl", ORCHARD_JSONL)]))
    first = client.get("/v1/documents?limit=2").json()
    rest = client.get("/v1/documents?offset=2&limit=2").json()
    assert first["total"] == rest["total"] == 3
    assert (len(first["documents"]), len(rest["documents"])) == (2, 1)
    ids = [d["id"] for d in first["documents"] + rest["documents"]]
    assert len(set(ids)) == 3


# ---- unknown ids, health ------------------------------------------------------------------


def test_unknown_document_is_404(client: TestClient) -> None:
    assert_json_error(client.get("/v1/documents/doesnotexist"), 404, "document_not_found")
    assert_json_error(client.delete("/v1/documents/doesnotexist"), 404, "document_not_found")


def test_health_and_readiness(client: TestClient, fresh_services: Services) -> None:
    health = client.get("/healthz")
    assert health.status_code == 200
    assert health.json() == {"status": "ok"}

    assert client.get("/readyz").json() == {"status": "ready", "articles": 0, "chunks": 0}
    result = created(client.post("/v1/documents", json=BRIDGE))
    ready = client.get("/readyz")
    assert ready.status_code == 200
    store = fresh_services.engine.store
    assert ready.json() == {"status": "ready", "articles": store.article_count(),
                            "chunks": store.chunk_count()}
    assert ready.json()["articles"] == 1
    assert ready.json()["chunks"] == result["chunks_added"]


# ---- the write key ------------------------------------------------------------------------


@pytest.fixture
def keyed_client(tmp_path: Path, encoder: Encoder) -> Iterator[TestClient]:
    services = make_services(tmp_path / "s", encoder, api_key="s3cret")
    with TestClient(create_app(services=services)) as test_client:
        yield test_client


RIGHT_KEY = {"Authorization": "Bearer s3cret"}


@pytest.mark.parametrize(("headers", "status", "code"), [
    ({}, 401, "unauthorized"),
    ({"Authorization": "Bearer "}, 401, "unauthorized"),
    ({"Authorization": "Basic czNjcmV0"}, 401, "unauthorized"),
    ({"Authorization": "Bearer wrong"}, 403, "forbidden"),
    ({"Authorization": "Bearer s3cret-and-more"}, 403, "forbidden"),
], ids=["no header", "empty bearer", "basic scheme", "wrong key", "longer key"])
def test_writes_need_the_key(keyed_client: TestClient, headers: dict, status: int,
                             code: str) -> None:
    response = keyed_client.post("/v1/documents", json=BRIDGE, headers=headers)
    assert_json_error(response, status, code)
    if status == 401:
        assert response.headers["www-authenticate"] == "Bearer"
    assert keyed_client.get("/v1/documents").json()["total"] == 0


def test_key_opens_writes_and_reads_stay_open(keyed_client: TestClient) -> None:
    result = created(keyed_client.post("/v1/documents", json=BRIDGE, headers=RIGHT_KEY))
    doc_id = result["added"][0]["id"]

    # Reads and questions need no key.
    assert keyed_client.get("/v1/documents").json()["total"] == 1
    assert keyed_client.get(f"/v1/documents/{doc_id}").status_code == 200
    answer = keyed_client.post("/v1/ask", json={"question": BRIDGE_QUESTION})
    assert answer.status_code == 200, answer.text
    assert doc_id in cited_ids(answer.json())
    assert keyed_client.get("/healthz").status_code == 200
    assert keyed_client.get("/readyz").status_code == 200

    # Deleting does.
    assert_json_error(keyed_client.delete(f"/v1/documents/{doc_id}"), 401, "unauthorized")
    assert_json_error(keyed_client.delete(f"/v1/documents/{doc_id}",
                                          headers={"Authorization": "Bearer wrong"}),
                      403, "forbidden")
    assert keyed_client.get(f"/v1/documents/{doc_id}").status_code == 200
    deleted = keyed_client.delete(f"/v1/documents/{doc_id}", headers=RIGHT_KEY)
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["chunks_deleted"] == result["chunks_added"]
    assert_json_error(keyed_client.get(f"/v1/documents/{doc_id}"), 404, "document_not_found")


def test_multipart_upload_needs_the_key(keyed_client: TestClient) -> None:
    assert_json_error(upload(keyed_client, [("lighthouse.txt", LIGHTHOUSE_TXT)]),
                      401, "unauthorized")
    result = created(upload(keyed_client, [("lighthouse.txt", LIGHTHOUSE_TXT)],
                            headers=RIGHT_KEY))
    assert len(result["added"]) == 1


def test_an_uploaded_feed_skips_its_bad_lines_alone(client: TestClient) -> None:
    feed = ORCHARD_JSONL + b'\n{"title": "Broken", "text": \n' + b'{"title": "No text"}\n'
    result = created(upload(client, [("feed.jsonl", feed)]))
    assert len(result["added"]) == 2
    reasons = [(s["name"], s["reason"].split(":")[0]) for s in result["skipped"]]
    assert reasons == [("feed.jsonl", "line 3"), ("feed.jsonl", "line 4")]
