"""GET / and its static files: served with a strict Content-Security-Policy, no inline script or
style, nothing fetched from another origin, and no way to name a file outside the list."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from api.app import create_app
from api.services import Services

STATIC = Path(__file__).resolve().parents[2] / "api" / "static"
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")


def assert_secure_headers(headers: dict) -> None:
    assert headers["content-security-policy"] == CSP
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"


def test_page_is_served_with_a_strict_policy(fresh_services: Services) -> None:
    with TestClient(create_app(services=fresh_services)) as client:
        response = client.get("/?q=anything")
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/html; charset=utf-8"
        assert_secure_headers(response.headers)
        html = response.text
        assert 'src="/static/app.js"' in html and 'href="/static/app.css"' in html

        for name, media_type in [("app.js", "text/javascript"), ("app.css", "text/css"),
                                 ("favicon.svg", "image/svg+xml")]:
            asset = client.get(f"/static/{name}")
            assert asset.status_code == 200, name
            assert asset.headers["content-type"].startswith(media_type)
            assert_secure_headers(asset.headers)


def test_only_listed_static_files_are_served(fresh_services: Services) -> None:
    with TestClient(create_app(services=fresh_services)) as client:
        for name in ["index.html", "..%2Fapp.py", "nope.js", "%2E%2E%2F%2E%2E%2Fpyproject.toml"]:
            response = client.get(f"/static/{name}")
            assert response.status_code == 404, name
            assert response.json()["error"]["code"] == "not_found"
        assert "/" not in client.get("/openapi.json").json()["paths"]


def test_page_has_no_inline_code_and_no_other_origin() -> None:
    html = (STATIC / "index.html").read_text()
    # Every <script> has a src; no <style> elements, no style="" or on...="" attributes.
    assert all("src=" in tag for tag in re.findall(r"<script\b[^>]*>", html))
    assert not re.search(r"<style\b|\sstyle=|\son[a-z]+=", html, re.IGNORECASE)
    for name in ["index.html", "app.js", "app.css"]:
        text = (STATIC / name).read_text()
        assert not re.search(r"https?://(?!www\.w3\.org/)", text), f"{name} names another origin"


def test_script_never_inserts_html() -> None:
    """Article and answer text reach the DOM through textContent and Text nodes only."""
    script = (STATIC / "app.js").read_text()
    for sink in ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write",
                 "createContextualFragment", "DOMParser", "eval(", "new Function"]:
        assert sink not in script, sink
