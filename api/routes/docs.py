"""GET /docs and /redoc: the API reference pages, every file they load served from here.

FastAPI's own pages load Swagger UI and ReDoc from a CDN (no page offline, and code from
another host); here the scripts come from the installed fastapi-offline package and the pages
run under a Content-Security-Policy that allows this origin only. Off with RAG_API_DOCS=false;
/openapi.json is served either way.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from api.errors import ApiError
from api.routes.page import STATIC

router = APIRouter(include_in_schema=False)

PAGES = STATIC / "docs"
VENDORED = Path(str(files("fastapi_offline") / "static"))
# The pages' own scripts are files of this origin; Swagger UI and ReDoc set inline styles and
# ReDoc runs its search in a worker made from a blob, so those two are allowed as well.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    "worker-src 'self' blob:",
    "connect-src 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'self'",
])
HEADERS = {"Content-Security-Policy": CONTENT_SECURITY_POLICY, "Cache-Control": "no-cache"}
# The only files served, by name: (folder, media type).
ASSETS = {
    "swagger-ui-bundle.js": (VENDORED, "text/javascript; charset=utf-8"),
    "swagger-ui.css": (VENDORED, "text/css; charset=utf-8"),
    "redoc.standalone.js": (VENDORED, "text/javascript; charset=utf-8"),
    "favicon.png": (VENDORED, "image/png"),
    "swagger-init.js": (PAGES, "text/javascript; charset=utf-8"),
}


def _html(name: str) -> FileResponse:
    return FileResponse(PAGES / name, media_type="text/html; charset=utf-8", headers=HEADERS)


@router.get("/docs")
def swagger_ui() -> FileResponse:
    """The schema in Swagger UI, where requests can be tried."""
    return _html("swagger.html")


@router.get("/redoc")
def redoc() -> FileResponse:
    """The schema in ReDoc, for reading."""
    return _html("redoc.html")


@router.get("/docs/assets/{name}")
def asset(name: str) -> FileResponse:
    """A script, stylesheet or icon of the reference pages."""
    if name not in ASSETS:
        raise ApiError(404, "not_found", f"no documentation file named {name!r}")
    folder, media_type = ASSETS[name]
    return FileResponse(folder / name, media_type=media_type, headers=HEADERS)
