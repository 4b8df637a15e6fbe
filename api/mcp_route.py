"""/mcp with the MCP SDK loaded after the app has started: the route, and the headers it lets a
browser page send and read, without importing the SDK (api/mcp.py holds the server)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread
from starlette.types import Receive, Scope, Send

from api.envelope import send_json_error
from api.settings import ServerSettings

if TYPE_CHECKING:
    from api.mcp import Endpoint
    from rag.engine import Engine

log = logging.getLogger("newsrag.api")

PATH = "/mcp"
# Headers a browser page may send to /mcp and read from it, when its origin is allowed.
REQUEST_HEADERS = ("Mcp-Session-Id", "Mcp-Protocol-Version", "Last-Event-ID")
RESPONSE_HEADERS = ("Mcp-Session-Id",)
# How long a request that arrives while the server is being built waits for it.
BUILD_WAIT_SECONDS = 60.0


def mount(app: Any, settings: ServerSettings, engine: Callable[[], Engine]) -> DeferredEndpoint:
    """Serve /mcp on the FastAPI `app`; the app's lifespan must run the returned endpoint's
    `running()`."""
    endpoint = DeferredEndpoint(settings, engine)
    app.router.add_route(PATH, endpoint, methods=["GET", "POST", "DELETE"],
                         include_in_schema=False)
    return endpoint


class DeferredEndpoint:
    """/mcp, its server (`api.mcp.Endpoint`) built in a worker thread once the app runs rather
    than when it is made: importing the SDK was a second or more of every start
    (docs/benchmarks.md, "Asks after a restart"). A request arriving before the server is
    built waits for it (up to `BUILD_WAIT_SECONDS`); one arriving when it could not be built
    is a 503 `not_ready`."""

    def __init__(self, settings: ServerSettings, engine: Callable[[], Engine]) -> None:
        self.settings = settings
        self._engine = engine
        self._endpoint: Endpoint | None = None
        self._built: anyio.Event | None = None

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Build the server in the background and serve it for one run of the app."""
        built, stop = anyio.Event(), anyio.Event()
        self._built = built
        async with anyio.create_task_group() as group:
            group.start_soon(self._serve, built, stop)
            try:
                yield
            finally:
                stop.set()

    async def _serve(self, built: anyio.Event, stop: anyio.Event) -> None:
        try:
            endpoint = await anyio.to_thread.run_sync(self._build)
            async with endpoint.running():
                self._endpoint = endpoint
                built.set()
                await stop.wait()
        except Exception:  # /mcp answers 503; the rest of the API is unaffected
            log.exception("the MCP server could not be started")
        finally:
            self._endpoint = None
            built.set()

    def _build(self) -> Endpoint:
        from api.mcp import Endpoint, build_server
        from api.readers import EngineReader

        return Endpoint(build_server(EngineReader(self._engine)), self.settings)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        built = self._built
        if built is not None and not built.is_set():
            with anyio.move_on_after(BUILD_WAIT_SECONDS):
                await built.wait()
        endpoint = self._endpoint
        if endpoint is None:
            await send_json_error(send, 503, "not_ready", "the MCP server is not running")
            return
        await endpoint(scope, receive, send)
