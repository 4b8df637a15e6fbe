"""Who may change things, and in what form, over real HTTP: a page of another origin may not
POST or DELETE (what `fetch(..., {mode: "no-cors"})` and a plain form send), our own page and
programs may; a body must declare its media type, read case-insensitively and by its
parameters; a trailing slash is a 404 naming the route, never a redirect to the Host header.

Writes go to a store of this module's own; the browser's side of it is in tests/e2e.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from api.app import create_app
from api.protocol import configured
from api.services import Services
from rag.embeddings import Encoder
from support import make_services, read_response, served, with_settings

ALLOWED = "https://newsroom.example"
STORY = "The harbour ferry now runs every twenty minutes, the operator said on Monday."
FORM_BOUNDARY = "----formboundary7MA4YWxk"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, encoder: Encoder) -> Services:
    return make_services(Path(tmp_path_factory.mktemp("origins")) / "store", encoder)


@pytest.fixture(scope="module")
def url(store: Services) -> Iterator[str]:
    with served(create_app(services=store), http=configured(store.settings)) as base:
        yield base


@pytest.fixture(scope="module")
def http(url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=url, timeout=60) as client:
        yield client


def stored(http: httpx.Client) -> int:
    return http.get("/v1/documents", params={"facets": "false"}).json()["total"]


def form(text: str) -> tuple[bytes, str]:
    """A multipart body as a browser's FormData sends it, and its Content-Type."""
    body = (f"--{FORM_BOUNDARY}\r\nContent-Disposition: form-data; name=\"files\"; "
            f"filename=\"story.txt\"\r\nContent-Type: text/plain\r\n\r\n{text}\r\n"
            f"--{FORM_BOUNDARY}--\r\n").encode()
    return body, f"multipart/form-data; boundary={FORM_BOUNDARY}"


def assert_refused_cross_origin(response: httpx.Response, origin: str) -> None:
    assert response.status_code == 403, response.text
    error = response.json()["error"]
    assert error["code"] == "cross_origin_forbidden"
    assert origin in error["message"] and "RAG_CORS_ORIGINS" in error["message"]


# --- cross-origin requests -------------------------------------------------------------------

@pytest.mark.parametrize("headers", [
    # What Chromium sends for `fetch(url, {method: "POST", mode: "no-cors", body: FormData})`.
    {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors"},
    # A browser too old to send Sec-Fetch-Site: the Origin is not this host.
    {"Origin": "https://evil.example"},
    # Another port of the same host is another origin ("same-site" is not "same-origin").
    {"Origin": "http://127.0.0.1:1", "Sec-Fetch-Site": "same-site"},
    # A sandboxed frame or a file: page says "null".
    {"Origin": "null"},
], ids=["no-cors form post", "old browser", "same site other port", "null origin"])
def test_a_write_from_another_origins_page_is_refused(http: httpx.Client,
                                                      headers: dict[str, str]) -> None:
    before = stored(http)
    body, content_type = form(STORY)
    response = http.post("/v1/documents", content=body,
                         headers={**headers, "Content-Type": content_type})
    assert_refused_cross_origin(response, headers["Origin"])
    assert stored(http) == before


@pytest.mark.parametrize(("method", "path", "body"), [
    ("POST", "/v1/ask", {"question": "What happened at the harbour?"}),
    ("POST", "/v1/chat/completions", {"messages": [{"role": "user", "content": "Why?"}]}),
    ("DELETE", "/v1/documents/0000000000000000", None),
])
def test_every_changing_or_costly_request_is_refused_too(http: httpx.Client, method: str,
                                                         path: str, body: dict | None) -> None:
    response = http.request(method, path, json=body,
                            headers={"Origin": "https://evil.example",
                                     "Sec-Fetch-Site": "cross-site"})
    assert_refused_cross_origin(response, "https://evil.example")


def test_reads_from_another_origin_are_served(http: httpx.Client) -> None:
    response = http.get("/v1/documents", headers={"Origin": "https://evil.example",
                                                  "Sec-Fetch-Site": "cross-site"})
    assert response.status_code == 200, response.text
    assert "access-control-allow-origin" not in response.headers  # and unreadable to it


@pytest.mark.parametrize("headers", [
    {"Origin": "{url}", "Sec-Fetch-Site": "same-origin"},  # our page, a current browser
    {"Origin": "{url}"},  # our page, a browser without Sec-Fetch-Site
    {"Sec-Fetch-Site": "none"},  # typed by the user
    {},  # a program: curl, httpx, the openai client
], ids=["same origin", "same origin, old browser", "user typed", "no browser"])
def test_our_page_and_programs_may_write(url: str, http: httpx.Client,
                                         headers: dict[str, str]) -> None:
    before = stored(http)
    headers = {name: value.format(url=url) for name, value in headers.items()}
    text = f"{STORY} Sent as: {sorted(headers.items())}."
    response = http.post("/v1/documents", json={"title": "Ferry", "text": text},
                         headers=headers)
    assert response.status_code == 201, response.text
    assert stored(http) == before + 1


def test_an_origin_listed_in_cors_origins_may_write(store: Services) -> None:
    app = create_app(services=with_settings(store, cors_origins=[ALLOWED]))
    with served(app, http=configured(store.settings)) as base, \
            httpx.Client(base_url=base, timeout=60) as client:
        before = stored(client)
        response = client.post("/v1/documents", json={"text": STORY + " Allowed."},
                               headers={"Origin": ALLOWED, "Sec-Fetch-Site": "cross-site"})
        assert response.status_code == 201, response.text
        assert response.headers["access-control-allow-origin"] == ALLOWED
        assert stored(client) == before + 1
        other = client.post("/v1/documents", json={"text": STORY},
                            headers={"Origin": "https://evil.example",
                                     "Sec-Fetch-Site": "cross-site"})
        assert_refused_cross_origin(other, "https://evil.example")


# --- media types -----------------------------------------------------------------------------

def raw(url: str, request: bytes) -> tuple[int, dict[str, str], bytes]:
    address = urlsplit(url)
    with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
        sock.sendall(request)
        return read_response(sock)


def post(path: str, body: bytes, content_type: str | None) -> bytes:
    """A POST written as it is: no client library adds or tidies a Content-Type."""
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
    if content_type is not None:
        head += f"Content-Type: {content_type}\r\n"
    return head.encode() + f"Content-Length: {len(body)}\r\n\r\n".encode() + body


BODIES = {
    "/v1/ask": {"question": "How often does the harbour ferry run?"},
    "/v1/chat/completions": {"messages": [{"role": "user",
                                           "content": "How often does the harbour ferry run?"}]},
    "/v1/documents": {"title": "Ferry", "text": STORY + " Declared as JSON."},
}
SERVED = {"/v1/ask": 200, "/v1/chat/completions": 200, "/v1/documents": 201}


@pytest.mark.parametrize("content_type", [None, "", "text/plain", "application/jsonpatch",
                                          "application/x-www-form-urlencoded",
                                          "application/merge-patch+json"],
                         ids=["none", "empty", "text", "jsonpatch", "urlencoded", "+json"])
@pytest.mark.parametrize("path", list(BODIES))
def test_a_body_not_declared_json_is_415(url: str, http: httpx.Client, path: str,
                                         content_type: str | None) -> None:
    before = stored(http)
    status, _, body = raw(url, post(path, json.dumps(BODIES[path]).encode(), content_type))
    assert status == 415, body
    error = json.loads(body)["error"]
    assert error["code"] == "unsupported_media_type" and "application/json" in error["message"]
    assert stored(http) == before


@pytest.mark.parametrize("content_type", ["Application/JSON", "application/json; charset=UTF-8",
                                          "APPLICATION/JSON ; Charset=utf-8"])
@pytest.mark.parametrize("path", list(BODIES))
def test_json_is_json_in_any_case_and_with_parameters(url: str, path: str,
                                                      content_type: str) -> None:
    body = {**BODIES[path]}
    if path == "/v1/documents":  # a new article each time, so each is added
        body["text"] += f" ({content_type})"
    status, _, answer = raw(url, post(path, json.dumps(body).encode(), content_type))
    assert status == SERVED[path], answer


def test_a_multipart_upload_is_read_in_any_case(url: str, http: httpx.Client) -> None:
    before = stored(http)
    body, content_type = form(STORY + " Uploaded as a form.")
    status, _, answer = raw(url, post("/v1/documents", body,
                                      content_type.replace("multipart/form-data",
                                                           "Multipart/Form-Data")))
    assert status == 201, answer
    assert stored(http) == before + 1


# --- trailing slashes ------------------------------------------------------------------------

def test_a_trailing_slash_is_a_404_naming_the_route_not_a_redirect_to_the_host(
        url: str) -> None:
    status, headers, body = raw(url, b"GET /v1/documents/ HTTP/1.1\r\nHost: evil.example\r\n"
                                     b"Connection: close\r\n\r\n")
    assert status == 404 and "location" not in headers, (status, headers)
    error = json.loads(body)["error"]
    assert error["code"] == "not_found" and "/v1/documents," in error["message"]
    status, headers, _ = raw(url, b"POST /v1/ask/ HTTP/1.1\r\nHost: evil.example\r\n"
                                  b"Content-Length: 0\r\nConnection: close\r\n\r\n")
    assert status == 404 and "location" not in headers
