"""The id of the request being handled: taken from a well-formed `X-Request-ID`, else a new one.

Held in a context variable so that code far from the request (error handlers, log formatting,
the threadpool that runs sync routes: anyio copies the context into it) can name the request
without having it passed down. Each ASGI request runs in a task of its own, with a copy of the
server's context, so a value set for one request is never seen by another.
"""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar

HEADER = "x-request-id"
# What we accept from a client: short, and nothing a log or header could be confused by.
_WELL_FORMED = re.compile(r"[A-Za-z0-9._-]{1,64}")
_current: ContextVar[str | None] = ContextVar("request_id", default=None)


def accept_or_new(incoming: str | None) -> str:
    """The client's id when it is well formed (so a caller's traces line up), else a uuid4."""
    if incoming is not None and _WELL_FORMED.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex


def bind(request_id: str) -> None:
    """Make `request_id` the current one for the rest of this request's task.

    Never reset on the way out: the handler of unexpected errors runs in Starlette's outermost
    middleware, after ours has returned, and still has to name the request.
    """
    _current.set(request_id)


def current() -> str | None:
    """The id of the request being handled, or None outside a request."""
    return _current.get()
