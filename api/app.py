"""The FastAPI app factory: settings injected, services built at start-up, no import-time state.

Middlewares, outermost first: proxy headers (only with `RAG_TRUSTED_PROXIES`: the client's
address from `X-Forwarded-For`, for logs and limits), telemetry (request id, metrics, access
log: it sees every request, refused ones included), CORS (so browsers can read even a 429),
the guard (security headers, cross-origin writes, body limit), the rate limit (only with
`RAG_RATE_LIMIT_PER_MINUTE`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.concurrency import run_in_threadpool
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from api import mcp_route
from api.errors import install_error_handlers
from api.metrics import Metrics
from api.middleware import GuardMiddleware
from api.ratelimit import EXEMPT, RateLimitMiddleware, TokenBuckets
from api.responses import error_responses
from api.routes import (
    ask,
    chat,
    docs,
    documents,
    feeds,
    grounding,
    health,
    metrics,
    page,
    statements,
)
from api.services import Services
from api.settings import ServerSettings
from api.telemetry import TelemetryMiddleware
from rag.ownership import Owner, claim
from rag.store import Store
from rag.version import __version__

log = logging.getLogger("newsrag.api")

ROUTERS = (health.router, ask.router, chat.router, documents.router, feeds.router, page.router,
           metrics.router, grounding.router, statements.router)


def create_app(settings: ServerSettings | None = None, services: Services | None = None,
               clock: Callable[[], float] = time.monotonic) -> FastAPI:
    """Build the app; pass `services` to share an already-loaded engine (tests do), and `clock`
    to drive the rate limit's refill (tests advance a fake one instead of sleeping)."""
    settings = settings or (services.settings if services else ServerSettings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if services is not None:  # the caller opened the store and holds it
            app.state.services = services
            async with mcp_running():
                yield
            return
        # An embedded store is one process's: wait while a command holds it (`rag serve`
        # claims it before it starts the app, so there this is its own claim again).
        held = await run_in_threadpool(claim, settings, "newsrag server", None, None,
                                       _waiting)
        try:
            # Loading the model and the lexical index takes a moment: off the event loop.
            app.state.services = await run_in_threadpool(Services.build, settings)
            app.state.services.start_background_work()
            async with mcp_running():
                yield
        finally:
            held.release()

    # No trailing-slash redirects: Starlette builds their Location from the Host header, which
    # a client chooses (`/v1/documents/` is a 404 that names `/v1/documents`).
    # The reference pages are ours (api/routes/docs.py): FastAPI's load scripts from a CDN.
    app = FastAPI(title="newsrag", version=__version__, lifespan=lifespan, redirect_slashes=False,
                  docs_url=None, redoc_url=None,
                  description="Questions over news articles, answered with cited passages.")
    install_error_handlers(app)

    def store() -> Store | None:  # None until the lifespan has built the services
        built = getattr(app.state, "services", None)
        return built.engine.store if built else None

    app.state.metrics = Metrics(store)
    mcp_endpoint, mcp_request_headers, mcp_response_headers, mcp_routes = None, (), (), []
    if settings.mcp:  # the SDK is imported once the app runs (api/mcp_route.py)
        mcp_endpoint = mcp_route.mount(app, settings, lambda: app.state.services.engine)
        mcp_request_headers = mcp_route.REQUEST_HEADERS
        mcp_response_headers = mcp_route.RESPONSE_HEADERS
        mcp_routes = [r for r in app.routes if getattr(r, "path", "") == mcp_route.PATH]

    def mcp_running() -> AbstractAsyncContextManager[object]:
        return mcp_endpoint.running() if mcp_endpoint else nullcontext()

    # add_middleware wraps what was added before: innermost first.
    if settings.rate_limit_per_minute:
        buckets = TokenBuckets(settings.rate_limit_per_minute,
                               settings.rate_limit_burst or settings.rate_limit_per_minute, clock)
        app.add_middleware(RateLimitMiddleware, buckets=buckets, api_key=settings.api_key)
    app.add_middleware(GuardMiddleware, max_body_bytes=settings.max_body_bytes,
                       body_timeout=settings.body_timeout_seconds,
                       allowed_origins=settings.cors_origins)
    if settings.cors_origins:  # only listed origins; the chat page itself is same-origin
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins,
                           allow_methods=["GET", "POST", "DELETE"],
                           allow_headers=["Authorization", "Content-Type", "X-Request-ID",
                                          *mcp_request_headers],
                           expose_headers=["X-Request-ID", "Retry-After",
                                           *mcp_response_headers])
    app.add_middleware(TelemetryMiddleware, metrics=app.state.metrics,
                       routes=[*(route for router in ROUTERS for route in router.routes),
                               *mcp_routes])
    if settings.trusted_proxies:
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)
    for router in ROUTERS:
        limited = any(getattr(r, "path", None) not in EXEMPT for r in router.routes)
        app.include_router(router, responses=error_responses(429) if limited else None)
    if settings.api_docs:
        app.include_router(docs.router)
    return app


def _waiting(owner: Owner | None) -> None:
    log.warning("waiting for %s to release the store", owner.describe() if owner else
                "another process")
