"""GET /healthz (the process is up) and GET /readyz (the store answers, the model is loaded, and
searches have a snapshot of the store to read)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel

from api.errors import ApiError
from api.responses import error_responses

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str


class Ready(BaseModel):
    status: str
    articles: int
    chunks: int


@router.get("/healthz", response_model=Health)
def healthz() -> Health:
    return Health(status="ok")


@router.get("/readyz", response_model=Ready, responses=error_responses(503))
def readyz(request: Request) -> Ready:
    services = getattr(request.app.state, "services", None)
    if services is None:
        raise ApiError(503, "not_ready", "the service is still starting")
    if not services.engine.retriever.ready:
        raise ApiError(503, "not_ready", "the search snapshot of the store is not built yet")
    try:
        store = services.engine.store
        return Ready(status="ready", articles=store.article_count(), chunks=store.chunk_count())
    except Exception as error:  # the store is remote in server mode: report, don't crash
        raise ApiError(503, "store_unavailable", f"the vector store is unavailable: {error}") \
            from error
