"""The media type a request body declares, read as RFC 9110 has it: type and subtype in any
case, parameters after `;` set apart (`Application/JSON; charset=utf-8` is JSON,
`application/jsonpatch` is not), and a route class that holds JSON routes to it.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from python_multipart.multipart import parse_options_header
from starlette.datastructures import Headers

from api.errors import ApiError

JSON = "application/json"
MULTIPART = "multipart/form-data"


def media_type(headers: Headers) -> str | None:
    """The body's media type, lower case and without parameters; None when none is declared.

    Parsed by python-multipart, as Starlette parses a form's, so both read a header alike."""
    value = headers.get("content-type", "")
    if not value.strip():
        return None
    return parse_options_header(value)[0].decode("latin-1")


def unsupported_media_type(declared: str | None, *accepted: str) -> ApiError:
    """The 415 for a body of the wrong (or no) declared type."""
    said = f"it says {declared}" if declared else "it has none"
    return ApiError(415, "unsupported_media_type",
                    f"the request body's Content-Type must be {' or '.join(accepted)} ({said})")


class JsonBodyRoute(APIRoute):
    """A route whose body FastAPI reads as JSON: 415 before a byte of the body is read unless
    it is declared `application/json`. Routes without a body are left as they are."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if self.body_field is None:
            return handler

        async def json_only(request: Request) -> Response:
            declared = media_type(request.headers)
            if declared != JSON:
                raise unsupported_media_type(declared, JSON)
            return await handler(request)

        return json_only
