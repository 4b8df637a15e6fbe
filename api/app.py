"""The FastAPI app factory: settings injected, services built at start-up, no import-time state."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.concurrency import run_in_threadpool

from api.errors import install_error_handlers
from api.middleware import GuardMiddleware
from api.routes import ask, chat, documents, health, page
from api.services import Services
from rag.config import Settings


def create_app(settings: Settings | None = None, services: Services | None = None) -> FastAPI:
    """Build the app; pass `services` to share an already-loaded engine (tests do)."""
    settings = settings or (services.settings if services else Settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Loading the model and the lexical index takes a moment: off the event loop.
        app.state.services = services or await run_in_threadpool(Services.build, settings)
        yield

    app = FastAPI(title="newsrag", version="0.1.0", lifespan=lifespan,
                  description="Questions over news articles, answered with cited passages.")
    install_error_handlers(app)
    app.add_middleware(GuardMiddleware, max_body_bytes=settings.max_body_bytes)
    if settings.cors_origins:  # only listed origins; the chat page itself is same-origin
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins,
                           allow_methods=["GET", "POST", "DELETE"],
                           allow_headers=["Authorization", "Content-Type"])
    app.include_router(health.router)
    app.include_router(ask.router)
    app.include_router(chat.router)
    app.include_router(documents.router)
    app.include_router(page.router)
    return app
