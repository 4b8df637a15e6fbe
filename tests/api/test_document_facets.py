"""GET /v1/documents facets: every outlet with its article count and the span of publication
dates, over all stored articles whatever page is asked for (the page's filters use them)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.app import create_app
from api.services import Services

ARTICLES = [
    {"title": "Ferry timetable changes", "source": "Harbour Times", "published": "2025-02-10",
     "text": "The island ferry will sail twice a day from March, the harbour office said."},
    {"title": "New library opens", "source": "Harbour Times", "published": "2025-09-01",
     "text": "The town library reopened on Monday after two years of repairs to its roof."},
    {"title": "Orchard harvest", "source": "Valley Post", "published": "2024-11-30",
     "text": "Apple growers in the valley reported their largest harvest in a decade."},
    {"title": "Undated note", "source": "anchor desk",
     "text": "A short note with neither a date nor any news of consequence in it at all."},
    {"title": "Outlet unknown", "published": "2025-01-05",
     "text": "A story whose outlet nobody recorded, about a parade along the river bank."},
]


def test_facets_cover_every_article(fresh_services: Services) -> None:
    with TestClient(create_app(services=fresh_services)) as client:
        empty = client.get("/v1/documents").json()
        assert empty["facets"] == {"sources": [], "published": {"min": None, "max": None}}

        assert client.post("/v1/documents", json=ARTICLES).status_code == 201
        page = client.get("/v1/documents", params={"limit": 1, "offset": 1})
        assert page.status_code == 200
        body = page.json()
        assert len(body["documents"]) == 1 and body["total"] == 5
        assert (body["offset"], body["limit"]) == (1, 1)
        # Sorted by name, case aside; articles without an outlet are not counted.
        assert body["facets"]["sources"] == [
            {"name": "anchor desk", "count": 1},
            {"name": "Harbour Times", "count": 2},
            {"name": "Valley Post", "count": 1},
        ]
        assert body["facets"]["published"] == {"min": "2024-11-30", "max": "2025-09-01"}

        assert client.get("/v1/documents", params={"facets": "false"}).json()["facets"] is None
