"""GET /: the web chat page, and the few static files it loads, under a strict CSP."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from api.errors import ApiError

router = APIRouter(include_in_schema=False)

STATIC = Path(__file__).resolve().parents[1] / "static"

# Everything the page runs or styles comes from this origin: no inline script or style, no CDN,
# so text from an article can never become code even if it reached the DOM as markup.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'self'",
])
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # Revalidate on every load (cheap: ETag) so an upgraded server never runs yesterday's script.
    "Cache-Control": "no-cache",
}
# The only files served, by name: a request can never name a path of its own choosing.
ASSETS = {
    "app.js": "text/javascript; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
    "favicon.svg": "image/svg+xml",
}


@router.get("/")
def page() -> FileResponse:
    """The chat page (`/?q=...` asks that question as soon as it loads)."""
    return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8",
                        headers=SECURITY_HEADERS)


@router.get("/static/{name}")
def asset(name: str) -> FileResponse:
    """The page's script, stylesheet and icon."""
    media_type = ASSETS.get(name)
    if media_type is None:
        raise ApiError(404, "not_found", f"no static file named {name!r}")
    return FileResponse(STATIC / name, media_type=media_type, headers=SECURITY_HEADERS)
