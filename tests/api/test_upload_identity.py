"""Uploads over real HTTP never erase one another: an article is replaced only when a new version
says so (`replaces`, or the same canonical URL), and corrected metadata is applied in place.
Real uvicorn on 127.0.0.1, real encoder, real embedded Chroma."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from api.app import create_app
from api.services import Services
from support import served

STORY_A = (b"Ferry crews on the Ostrel line voted on Tuesday to end a four-day strike after the "
           b"operator agreed to hire twelve more deckhands before the winter timetable.\n")
STORY_B = (b"The Vanmouth city council approved a new covered market on the old tram depot "
           b"site, with forty stalls reserved for growers from the valley.\n")
STORY_C = (b"Archivists in Pellowmere found a ledger of the 1911 harbour tolls behind a false "
           b"wall of the customs house during repairs to its roof.\n")


@pytest.fixture
def api(fresh_services: Services) -> Iterator[httpx.Client]:
    with served(create_app(services=fresh_services)) as url, \
            httpx.Client(base_url=url, timeout=60) as client:
        yield client


def upload(api: httpx.Client, files: list[tuple[str, bytes]],
           data: dict | None = None) -> httpx.Response:
    parts = [("files", (name, body, "text/plain")) for name, body in files]
    return api.post("/v1/documents", files=parts, data=data)


def upload_nameless(api: httpx.Client, body: bytes) -> httpx.Response:
    """A file part whose `filename` is empty (clients normalise this away, so built by hand)."""
    boundary = "nameless-upload-boundary"
    payload = (f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename=""\r\n'
               f"Content-Type: text/plain\r\n\r\n").encode() + body + \
        f"\r\n--{boundary}--\r\n".encode()
    return api.post("/v1/documents", content=payload,
                    headers={"content-type": f"multipart/form-data; boundary={boundary}"})


def created(response: httpx.Response) -> dict:
    assert response.status_code == 201, response.text
    return response.json()


def stored_ids(api: httpx.Client) -> set[str]:
    return {d["id"] for d in api.get("/v1/documents").json()["documents"]}


def test_two_uploads_with_one_name_are_two_articles(api: httpx.Client) -> None:
    first = created(upload(api, [("story.txt", STORY_A)]))
    second = created(upload(api, [("story.txt", STORY_B)]))
    assert second["replaced"] == []
    ids = {first["added"][0]["id"], second["added"][0]["id"]}
    assert stored_ids(api) == ids
    for article_id in ids:
        shown = api.get(f"/v1/documents/{article_id}").json()
        assert shown["filename"] == "story.txt" and shown["path"] is None


def test_folders_and_nameless_uploads_do_not_collide(api: httpx.Client) -> None:
    folders = created(upload(api, [("a/x.txt", STORY_A), ("b/x.txt", STORY_B)]))
    nameless = created(upload_nameless(api, STORY_C))
    again = created(upload_nameless(api, STORY_A.replace(b"twelve", b"fifteen")))
    assert folders["replaced"] == nameless["replaced"] == again["replaced"] == []
    assert len(stored_ids(api)) == 4
    assert nameless["added"][0]["filename"] == "upload.txt"


def test_an_upload_replaces_what_it_names(api: httpx.Client) -> None:
    old = created(upload(api, [("story.txt", STORY_A)]))["added"][0]["id"]
    other = created(upload(api, [("other.txt", STORY_B)]))["added"][0]["id"]
    edited = STORY_A.replace(b"twelve", b"fourteen")
    result = created(upload(api, [("story-v2.txt", edited)], data={"replaces": old}))
    new = result["added"][0]["id"]
    assert result["replaced"] == [old]
    assert stored_ids(api) == {new, other}
    assert api.get(f"/v1/documents/{old}").status_code == 404


def test_replacing_an_unknown_article_writes_nothing(api: httpx.Client) -> None:
    response = upload(api, [("story.txt", STORY_A)], data={"replaces": "0123456789abcdef"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "document_not_found"
    assert stored_ids(api) == set()
    two = upload(api, [("a.txt", STORY_A), ("b.txt", STORY_B)], data={"replaces": "x"})
    assert two.status_code == 422 and "alone" in two.json()["error"]["message"]


def test_json_documents_replace_by_id_or_by_canonical_url(api: httpx.Client) -> None:
    first = created(api.post("/v1/documents", json={
        "title": "Ferry strike ends", "text": STORY_A.decode(),
        "url": "HTTPS://News.Example.com/ferry-strike/?utm_source=feed#top"}))
    old = first["added"][0]["id"]
    kept = created(api.post("/v1/documents", json={"text": STORY_B.decode()}))["added"][0]["id"]
    # The same page at a differently spelled address: a new version of it.
    second = created(api.post("/v1/documents", json={
        "title": "Ferry strike ends", "url": "https://news.example.com/ferry-strike",
        "text": STORY_A.decode().replace("twelve", "thirteen")}))
    assert second["replaced"] == [old]
    newer = second["added"][0]["id"]
    third = created(api.post("/v1/documents", json={
        "text": STORY_C.decode(), "replaces": [newer]}))
    assert third["replaced"] == [newer]
    assert stored_ids(api) == {kept, third["added"][0]["id"]}


def test_corrected_metadata_is_applied_everywhere(api: httpx.Client) -> None:
    story = {"title": "Ferry strik ends", "text": STORY_A.decode(), "source": "Ostrel Gazete",
             "published": "2025-09-03"}
    article_id = created(api.post("/v1/documents", json=story))["added"][0]["id"]
    corrected = {**story, "title": "Ferry strike ends", "source": "Ostrel Gazette",
                 "published": "2025-09-02", "url": "https://gazette.example/ferry"}
    result = created(api.post("/v1/documents", json=corrected))
    assert result["added"] == [] and [d["id"] for d in result["unchanged"]] == [article_id]
    (updated,) = result["updated"]
    assert updated["id"] == article_id
    assert updated["changed"] == ["published", "source", "title", "url"]

    shown = api.get(f"/v1/documents/{article_id}").json()
    assert (shown["title"], shown["source"], shown["published"], shown["url"]) == (
        "Ferry strike ends", "Ostrel Gazette", "2025-09-02", "https://gazette.example/ferry")
    question = "How many deckhands will the Ostrel ferry operator hire?"
    answer = api.post("/v1/ask", json={"question": question}).json()
    (citation,) = {(c["title"], c["source"], c["published"]) for c in answer["citations"]}
    assert citation == ("Ferry strike ends", "Ostrel Gazette", "2025-09-02")
    old_outlet = api.post("/v1/ask", json={"question": question,
                                           "filters": {"source": ["Ostrel Gazete"]}}).json()
    assert old_outlet["citations"] == []
    # Sent again as corrected: nothing left to correct.
    assert created(api.post("/v1/documents", json=corrected))["updated"] == []
    # A field left out is kept, not erased.
    bare = created(api.post("/v1/documents", json={"text": STORY_A.decode()}))
    assert bare["updated"] == []
    assert api.get(f"/v1/documents/{article_id}").json()["source"] == "Ostrel Gazette"
