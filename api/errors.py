"""Every error leaves the API as `{"error": {"code", "message", "request_id"}}` with a 4xx status
(5xx when the configured LLM fails).

Every error raised on purpose derives from `rag.errors.NewsragError` and answers with its own
status and code, through one handler here, so routes never catch and re-raise.
"""

from __future__ import annotations

import json
import logging
import sys

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from api import request_id
from api.envelope import error_body
from api.middleware import SECURITY_HEADERS
from rag.errors import NewsragError

log = logging.getLogger("newsrag.api")


class ApiError(NewsragError):
    """An error of the HTTP layer itself, with its status and code given where it is raised."""

    def __init__(self, status: int, code: str, message: str,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self._headers = status, code, message, headers

    @property
    def headers(self) -> dict[str, str] | None:
        return self._headers


def error_response(status: int, code: str, message: str, details: list | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error_body(code, message, details), status_code=status, headers=headers)


def unreadable_body(error: BaseException) -> ApiError | None:
    """The API's error for a JSON body the parser could not read, by what the parser raised
    (None for anything else): not JSON, not UTF-8 or nested too deeply is `malformed_json`
    (400); a valid number too long for Python to read (over `sys.get_int_max_str_digits()`
    digits) is `invalid_request` (422), as any other value out of range is."""
    if isinstance(error, RecursionError):
        return ApiError(400, "malformed_json", "request body is nested too deeply")
    if isinstance(error, UnicodeDecodeError):
        return ApiError(400, "malformed_json", "request body is not UTF-8 text: JSON must be")
    if isinstance(error, json.JSONDecodeError):
        return ApiError(400, "malformed_json", f"request body is not valid JSON: {error.msg}")
    if isinstance(error, ValueError):  # the only other ValueError json.loads raises
        return ApiError(422, "invalid_request", "a number in the request body has more than "
                                                f"{sys.get_int_max_str_digits()} digits")
    return None


def _validation_message(errors: list[dict]) -> tuple[str, str]:
    """One readable sentence for pydantic's error list, and whether the body was not JSON."""
    first = errors[0] if errors else {}
    if first.get("type") == "json_invalid":
        return "malformed_json", "request body is not valid JSON: " + str(first.get("msg", ""))
    where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
    return "invalid_request", f"{where or 'body'}: {first.get('msg', 'invalid value')}"


def _not_found_message(request: Request) -> str:
    """What a 404 says: no route at this path, or, for a path that only a trailing slash keeps
    from a route, that route (the app never redirects: a redirect built from the Host header
    would send the client wherever that header names)."""
    path = request.url.path
    message = f"no route at {path}"
    if path.endswith("/") and path != "/":
        scope = {**request.scope, "path": path.rstrip("/")}
        if any(route.matches(scope)[0] is not Match.NONE for route in request.app.routes):
            message += f"; the route is {path.rstrip('/')}, without the trailing slash"
    return message


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def on_validation(_: Request, error: RequestValidationError) -> JSONResponse:
        errors = list(error.errors())
        code, message = _validation_message(errors)
        status = 400 if code == "malformed_json" else 422
        details = [{"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")),
                    "type": e.get("type")} for e in errors[:20]]
        return error_response(status, code, message, details)

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, error: StarletteHTTPException) -> JSONResponse:
        # FastAPI reports a JSON body its parser could not read as a bare 400, the parser's
        # error as the cause.
        if error.status_code == 400 and (unread := unreadable_body(error.__cause__)):
            return error_response(unread.status, unread.code, unread.message)
        # 400 here: a body Starlette's form parser refused (malformed, too many files).
        code = {400: "bad_request", 404: "not_found", 405: "method_not_allowed",
                408: "request_timeout", 413: "payload_too_large"}.get(error.status_code,
                                                                      "http_error")
        message = str(error.detail)
        if error.status_code == 404:
            message = _not_found_message(request)
        return error_response(error.status_code, code, message,
                              headers=getattr(error, "headers", None))

    @app.exception_handler(NewsragError)
    async def on_domain_error(_: Request, error: NewsragError) -> JSONResponse:
        # Every error raised on purpose carries its own status and code (rag/errors.py).
        return error_response(error.status, error.code, str(error), headers=error.headers)

    @app.exception_handler(Exception)
    async def on_unexpected(_: Request, error: Exception) -> JSONResponse:
        log.exception("unhandled error")
        # Sent by the outermost middleware, past GuardMiddleware and TelemetryMiddleware: the
        # headers they add are added here.
        rid = request_id.current()
        headers = {**SECURITY_HEADERS, **({request_id.HEADER: rid} if rid else {})}
        return error_response(500, "internal_error", "the server failed to handle the request",
                              headers=headers)
