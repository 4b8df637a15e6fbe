"""The error body every failure leaves the API with: `{"error": {"code", "message", ...}}`.

One builder for the exception handlers (api/errors.py) and for the ASGI middlewares that answer
before any route runs (the body limit, the rate limit), so all of them name the request the
same way.
"""

from __future__ import annotations

import json

from starlette.types import Send

from api import request_id


def error_body(code: str, message: str, details: list | None = None) -> dict:
    """The error object, with the request's id when there is one (for support and log search)."""
    error: dict = {"code": code, "message": message}
    if details:
        error["details"] = details
    rid = request_id.current()
    if rid is not None:
        error["request_id"] = rid
    return {"error": error}


async def send_json_error(send: Send, status: int, code: str, message: str,
                          headers: dict[str, str] | None = None) -> None:
    """Answer with the error body from a plain ASGI middleware (no Response object there)."""
    body = json.dumps(error_body(code, message)).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(name.lower().encode(), value.encode()) for name, value in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
