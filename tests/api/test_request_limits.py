"""What a request may hold, over real HTTP to the app under `rag serve`'s protocol: conversation
history, filters, header size and count, value types; every refusal a JSON 4xx naming the
limit, and the server answering normally afterwards.

Requests a client library would tidy up (a megabyte header, ten thousand headers, a body that is
not UTF-8) are written to a socket as they are. Runs over the shared read-only news store.
"""

from __future__ import annotations

import contextlib
import json
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from api.settings import ServerSettings
from rag.schemas import MAX_FILTER_VALUES, MAX_SOURCE_CHARS
from support import read_response, response_of, until_closed

DEFAULTS = ServerSettings(_env_file=None)
QUESTION_LIMIT = DEFAULTS.max_question_chars
STRIKE = "How many dockworkers walked off the job in the Port Averin strike?"
ROUTES = ["/v1/ask", "/v1/chat/completions"]


@pytest.fixture(scope="module")
def http(live_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_url, timeout=60) as client:
        yield client


def body_for(route: str, question: str, history: list[dict] | None = None,
             **extra: object) -> dict:
    """A request to /v1/ask or /v1/chat/completions with this question and conversation."""
    if route == "/v1/ask":
        return {"question": question, "history": history or [], **extra}
    return {"messages": [*(history or []), {"role": "user", "content": question}], **extra}


def assert_error(response: httpx.Response, status: int, code: str, *words: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == code, error
    for word in words:
        assert word in error["message"], error
    return error


def raw_exchange(url: str, request: bytes, seconds: float = 30.0) -> tuple[bytes, bool]:
    """Write `request` to a new connection as it is; what came back, and whether the server
    closed the connection within `seconds`."""
    address = urlsplit(url)
    with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
        with contextlib.suppress(OSError):  # refused and closed before it took it all
            sock.sendall(request)
        return until_closed(sock, seconds)


def assert_still_answers(http: httpx.Client) -> None:
    response = http.post("/v1/ask", json={"question": STRIKE})
    assert response.status_code == 200, response.text
    assert "2,400" in response.json()["answer"]


# --- conversation history --------------------------------------------------------------------

@pytest.mark.parametrize("route", ROUTES)
def test_a_long_earlier_user_message_is_refused_as_a_long_question(http: httpx.Client,
                                                                   route: str) -> None:
    history = [{"role": "user", "content": "a " * 48_000}]  # 96,000 characters
    response = http.post(route, json=body_for(route, "and why?", history))
    assert_error(response, 422, "invalid_request", "history[0]", str(QUESTION_LIMIT),
                 "RAG_MAX_QUESTION_CHARS")


@pytest.mark.parametrize("route", ROUTES)
def test_too_many_earlier_messages_are_refused(http: httpx.Client, route: str) -> None:
    turns = DEFAULTS.max_history_turns + 1
    history = [{"role": "user", "content": "And then?"}] * turns
    response = http.post(route, json=body_for(route, "Why?", history))
    assert_error(response, 422, "invalid_request", str(turns),
                 str(DEFAULTS.max_history_turns), "RAG_MAX_HISTORY_TURNS")


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("role", ["assistant", "system"])
def test_too_many_history_characters_are_refused(http: httpx.Client, route: str,
                                                 role: str) -> None:
    each = DEFAULTS.max_history_chars // 4 + 1  # four messages, one character over in all
    history = [{"role": role, "content": "w" * each}] * 4
    response = http.post(route, json=body_for(route, "Why?", history))
    assert_error(response, 422, "invalid_request", str(4 * each),
                 str(DEFAULTS.max_history_chars), "RAG_MAX_HISTORY_CHARS")


def test_a_conversation_at_the_limits_is_answered_within_the_question_limit(
        http: httpx.Client) -> None:
    """Each earlier question at the question limit, the most turns, the most characters: the
    rewrite that is searched is still no longer than a question may be."""
    asked = ("What did the union leader say about the Port Averin strike and the dockworkers "
             "who walked off the job? ")
    user = (asked * (QUESTION_LIMIT // len(asked) + 1))[:QUESTION_LIMIT]
    answer = "w" * (DEFAULTS.max_history_chars // (DEFAULTS.max_history_turns // 2) - len(user))
    history = [{"role": role, "content": text} for _ in range(DEFAULTS.max_history_turns // 2)
               for role, text in (("user", user), ("assistant", answer))]
    assert len(history) == DEFAULTS.max_history_turns
    assert sum(len(turn["content"]) for turn in history) <= DEFAULTS.max_history_chars
    response = http.post("/v1/ask", json={"question": "And why?", "history": history})
    assert response.status_code == 200, response.text
    standalone = response.json()["standalone_question"]
    assert standalone != "And why?" and len(standalone) <= QUESTION_LIMIT


def test_the_chat_question_is_the_last_message_and_the_rest_is_history(
        http: httpx.Client) -> None:
    history = [{"role": "user", "content": "q" * (QUESTION_LIMIT + 1)},
               {"role": "assistant", "content": "An answer."}]
    response = http.post("/v1/chat/completions", json=body_for(
        "/v1/chat/completions", "a" * (QUESTION_LIMIT + 1), history))
    assert_error(response, 422, "invalid_request", "question", "RAG_MAX_QUESTION_CHARS")
    response = http.post("/v1/chat/completions", json=body_for(
        "/v1/chat/completions", STRIKE, history))
    assert_error(response, 422, "invalid_request", "history[0]", "RAG_MAX_QUESTION_CHARS")
    assert_still_answers(http)


# --- filters ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("filters", "words"), [
    ({"source": ["Harbour Times"] * (MAX_FILTER_VALUES + 1)}, ("filters.source",
                                                               str(MAX_FILTER_VALUES))),
    ({"source": "s" * (MAX_SOURCE_CHARS + 1)}, ("filters.source", str(MAX_SOURCE_CHARS))),
    ({"source": ["Harbour Times", "s" * (MAX_SOURCE_CHARS + 1)]}, ("filters.source.1",)),
    ({"article_ids": ["0" * 16] * (MAX_FILTER_VALUES + 1)}, ("filters.article_ids",)),
], ids=["too many outlets", "outlet name too long", "one of them too long", "too many ids"])
@pytest.mark.parametrize("route", ROUTES)
def test_filters_over_their_limits_are_refused(http: httpx.Client, route: str, filters: dict,
                                               words: tuple[str, ...]) -> None:
    response = http.post(route, json=body_for(route, STRIKE, filters=filters))
    assert_error(response, 422, "invalid_request", *words)


def test_filters_at_their_limits_are_served(http: httpx.Client) -> None:
    outlets = ["Northwind Wire", *(f"Outlet {n}" for n in range(MAX_FILTER_VALUES - 1))]
    response = http.post("/v1/ask", json={"question": STRIKE, "filters": {
        "source": outlets, "published_from": "2020-01-01"}})
    assert response.status_code == 200, response.text
    assert "2,400" in response.json()["answer"]


# --- value types -----------------------------------------------------------------------------

@pytest.mark.parametrize(("field", "value"), [
    ("top_k", "5"), ("top_k", True), ("top_k", 5.0), ("stream", "yes"), ("stream", 1),
    ("stream", "true"),
])
@pytest.mark.parametrize("route", ROUTES)
def test_a_value_of_the_wrong_type_is_refused_not_coerced(http: httpx.Client, route: str,
                                                          field: str, value: object) -> None:
    response = http.post(route, json=body_for(route, STRIKE, **{field: value}))
    assert_error(response, 422, "invalid_request", field)


def test_json_natural_values_still_work(http: httpx.Client) -> None:
    """Dates are ISO text in JSON; a single outlet may be a string; an integral top_k works."""
    response = http.post("/v1/ask", json={"question": STRIKE, "top_k": 5, "stream": False,
                                          "filters": {"source": "Northwind Wire",
                                                      "published_to": "2030-12-31"}})
    assert response.status_code == 200, response.text
    assert "2,400" in response.json()["answer"]


# --- bodies the JSON parser cannot read ------------------------------------------------------

def post(path: str, body: bytes, content_type: str | None = "application/json") -> bytes:
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
    if content_type is not None:
        head += f"Content-Type: {content_type}\r\n"
    return head.encode() + f"Content-Length: {len(body)}\r\n\r\n".encode() + body


JSON_ROUTES = ["/v1/ask", "/v1/chat/completions", "/v1/documents"]


@pytest.mark.parametrize("path", JSON_ROUTES)
@pytest.mark.parametrize(("body", "status", "code"), [
    (b'{"question": "caf\xe9", "text": "caf\xe9"}', 400, "malformed_json"),
    (b'{"question": "x", "top_k": ' + b"9" * 5000 + b"}", 422, "invalid_request"),
    (b'{"text": "x", "messages": ' + b"9" * 5000 + b"}", 422, "invalid_request"),
], ids=["latin-1 text", "5000-digit top_k", "5000-digit value"])
def test_an_unreadable_body_gets_its_own_code(live_url: str, path: str, body: bytes,
                                              status: int, code: str) -> None:
    data, _ = raw_exchange(live_url, post(path, body))
    got, headers, payload = response_of(data)
    assert (got, headers["content-type"]) == (status, "application/json"), data[:300]
    assert json.loads(payload)["error"]["code"] == code


# --- header size and count -------------------------------------------------------------------

def get_with(headers: bytes) -> bytes:
    return b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" + headers + \
        b"\r\n"


def assert_431(data: bytes, closed: bool, limit_name: str) -> None:
    assert closed, "the connection was left open"
    status, headers, body = response_of(data)
    assert status == 431, data[:300]
    assert headers["connection"] == "close"
    error = json.loads(body)["error"]
    assert error["code"] == "request_header_fields_too_large"
    assert limit_name in error["message"]


def test_a_megabyte_header_is_refused_with_431(live_url: str, http: httpx.Client) -> None:
    data, closed = raw_exchange(live_url, get_with(b"X-Big: " + b"a" * 1_000_000 + b"\r\n"))
    assert_431(data, closed, "RAG_MAX_HEADER_BYTES")
    assert_still_answers(http)


def test_ten_thousand_headers_are_refused_with_431(live_url: str, http: httpx.Client) -> None:
    many = b"".join(b"X-N%d: y\r\n" % n for n in range(10_000))
    data, closed = raw_exchange(live_url, get_with(many))
    assert_431(data, closed, "RAG_MAX_HEADER")
    assert_still_answers(http)


def test_one_header_too_many_is_refused_and_the_most_allowed_are_served(live_url: str) -> None:
    # Host and Connection count: with max - 2 more, the request has exactly the most allowed.
    allowed = DEFAULTS.max_headers - 2
    data, _ = raw_exchange(live_url, get_with(b"".join(b"X-N%d: y\r\n" % n
                                                        for n in range(allowed))))
    assert response_of(data)[0] == 200, data[:300]
    data, closed = raw_exchange(live_url, get_with(b"".join(b"X-N%d: y\r\n" % n
                                                            for n in range(allowed + 1))))
    assert_431(data, closed, "RAG_MAX_HEADERS")


def test_headers_just_under_the_byte_limit_are_served(live_url: str) -> None:
    head = get_with(b"")
    padding = DEFAULTS.max_header_bytes - len(head) - len(b"X-Pad: \r\n")
    data, _ = raw_exchange(live_url, get_with(b"X-Pad: " + b"p" * padding + b"\r\n"))
    assert response_of(data)[0] == 200, data[:300]
    data, closed = raw_exchange(live_url, get_with(b"X-Pad: " + b"p" * (padding + 1) + b"\r\n"))
    assert_431(data, closed, "RAG_MAX_HEADER_BYTES")


def test_an_endless_header_sent_slowly_is_cut_off_at_the_limit(live_url: str) -> None:
    """64 MB of one header, a piece at a time: the server answers 431 once the limit is
    passed, and the connection ends; nothing waits for the header's end."""
    address = urlsplit(live_url)
    piece = b"a" * 65_536
    sent = 0
    with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Endless: ")
        sock.settimeout(0.5)
        answer = b""
        while sent < 64_000_000 and not answer:
            try:
                sock.sendall(piece)
                sent += len(piece)
                answer = sock.recv(65_536, socket.MSG_DONTWAIT)
            except BlockingIOError:
                continue
            except OSError:  # closed after answering: read what was answered
                break
        data, closed = until_closed(sock, 30)
    assert_431(answer + data, closed, "RAG_MAX_HEADER_BYTES")


def test_bodies_do_not_count_as_headers(live_url: str) -> None:
    """A megabyte body with ordinary headers is read as a body (and refused for its question's
    length, not its size), sent in one piece or chunked."""
    body = json.dumps({"question": "w" * 1_000_000}).encode()
    data, _ = raw_exchange(live_url, post("/v1/ask", body))
    assert response_of(data)[0] == 422, data[:300]
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(body[n:n + 70_000]), body[n:n + 70_000])
                       for n in range(0, len(body), 70_000)) + b"0\r\n\r\n"
    head = (b"POST /v1/ask HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
            b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
    data, _ = raw_exchange(live_url, head + chunked)
    assert response_of(data)[0] == 422, data[:300]


def test_an_endless_trailer_ends_the_connection(live_url: str, http: httpx.Client) -> None:
    head = (b"POST /v1/ask HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n")
    trailer = b"5\r\n{\"que\r\n0\r\nX-Trailer: " + b"t" * 2_000_000
    data, closed = raw_exchange(live_url, head + trailer)
    assert closed and not data.startswith(b"HTTP/1.1 200"), data[:300]
    assert_still_answers(http)


def test_pipelined_requests_are_each_answered(live_url: str) -> None:
    one = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    data, closed = raw_exchange(live_url, one * 3 + get_with(b""))
    assert closed
    assert data.count(b"HTTP/1.1 200 OK") == 4, data[:600]


def test_keep_alive_requests_are_counted_one_at_a_time(live_url: str) -> None:
    """The limits are a request's, not a connection's: many requests on one connection whose
    headers together are far over the limit are all served."""
    address = urlsplit(live_url)
    padding = b"X-Pad: " + b"p" * (DEFAULTS.max_header_bytes // 2) + b"\r\n"
    with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
        for _ in range(5):
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n" + padding + b"\r\n")
            assert read_response(sock)[0] == 200


# --- uploads ---------------------------------------------------------------------------------

def test_more_files_than_an_upload_takes_is_a_400_saying_so(http: httpx.Client) -> None:
    files = [("files", (f"story{n}.txt", b"The ferry runs.", "text/plain")) for n in range(101)]
    response = http.post("/v1/documents", files=files)
    assert_error(response, 400, "bad_request", "100")
