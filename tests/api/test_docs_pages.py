"""The API reference pages: served with every file they load from this server, under a CSP
that allows no other host, or not at all with RAG_API_DOCS=false; /openapi.json either way.
(tests/e2e/test_api_docs.py renders them in a browser.)"""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.services import Services
from support import assert_json_error, with_settings

EXTERNAL = re.compile(rb"""(?:src|href)=["'](?:https?:)?//""")
LOADED = re.compile(r"""(?:src|href)="(/[^"]+)\"""")


@pytest.fixture(scope="module")
def http(live_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_url, timeout=60) as client:
        yield client


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_pages_load_only_files_of_this_server(http: httpx.Client, page: str) -> None:
    response = http.get(page)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert not EXTERNAL.search(response.content), response.text
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "default-src 'self'" in policy
    assert "cdn" not in response.text.lower()
    files = LOADED.findall(response.text)
    assert files, response.text
    for path in files:
        asset = http.get(path)
        assert asset.status_code == 200, path
        assert len(asset.content) > 100, path


def test_the_schema_stays_and_the_pages_name_it(http: httpx.Client) -> None:
    assert http.get("/openapi.json").json()["info"]["title"] == "newsrag"
    assert "/openapi.json" in http.get("/docs/assets/swagger-init.js").text
    assert 'spec-url="/openapi.json"' in http.get("/redoc").text


def test_only_named_files_are_served(http: httpx.Client) -> None:
    for name in ("core.py", "..%2F..%2Fconfig.py", "index.html"):
        assert_json_error(http.get(f"/docs/assets/{name}"), 404, "not_found")


def test_the_pages_can_be_turned_off(news_services: Services) -> None:
    app = create_app(services=with_settings(news_services, api_docs=False))
    with TestClient(app) as client:
        for page in ("/docs", "/redoc", "/docs/assets/swagger-ui-bundle.js"):
            assert_json_error(client.get(page), 404, "not_found")
        assert client.get("/openapi.json").status_code == 200
