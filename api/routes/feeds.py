"""/v1/feeds: subscribe to RSS, Atom and JSON Feed feeds and news sitemaps (polled by
`rag watch`), list them, show and remove them; `rag watch` records each poll's outcome here
when a server holds the store."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from starlette.concurrency import run_in_threadpool

from api.deps import ServicesDep, require_write_key
from api.errors import ApiError
from api.media import JsonBodyRoute
from api.responses import BODY, WRITE, error_responses
from rag.subscriptions import (
    PageRetry,
    PollRecord,
    TooManyFeeds,
    record_poll,
    retries_of,
    subscribe,
)

router = APIRouter(prefix="/v1/feeds", tags=["feeds"], route_class=JsonBodyRoute)

FeedId = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class FeedIn(BaseModel):
    """A feed to subscribe to (strict: `{"url": 7}` or an unknown field is a 422)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    url: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                          max_length=2000)] = Field(
        description="The feed's http:// or https:// address (RSS, Atom, JSON Feed, or a "
        "news sitemap or sitemap index).")


class FeedOut(BaseModel):
    id: str = Field(description="16 hex digits of the SHA-256 of the canonical feed URL.")
    url: str
    title: str | None = Field(None, description="The feed's title, once a poll has read it.")
    added: str
    last_polled: str | None = None
    last_status: str | None = Field(None, description="ok, not_modified (a 304) or error.")
    last_error: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    entries: int | None = Field(None, description="Entries the feed held when last read.")
    last_entry: str | None = Field(None, description="The link of its newest entry then.")
    failures: int = Field(0, description="Failed polls in a row.")
    next_poll: str | None = Field(None, description="After failures: not polled before (UTC).")
    retrying: list[PageRetry] = Field(
        default_factory=list, description="Entries whose page failed to download, each "
        "downloaded again after its own backoff.")
    robots_txt: str | None = Field(None, description="With `robots=true`: the feed's host's "
                                   "robots.txt as last read, which `rag watch` obeys.")
    robots_fetched: str | None = Field(None, description="With `robots=true`: when it was read.")

    @classmethod
    def of(cls, feed: dict, robots: bool = False) -> FeedOut:
        """A stored record (or one the API showed) as the API shows it, with its robots.txt
        copy only when asked."""
        hidden = {"retries", "retrying"} | (set() if robots else {"robots_txt", "robots_fetched"})
        fields = {k: v for k, v in feed.items() if k not in hidden}
        retrying = retries_of(feed) if "retries" in feed else feed.get("retrying", [])
        return cls(**fields, retrying=retrying)


class FeedList(BaseModel):
    feeds: list[FeedOut]
    total: int


@router.post("", response_model=FeedOut, status_code=201,
             dependencies=[Depends(require_write_key)],
             responses={200: {"model": FeedOut, "description": "Subscribed already"},
                        **error_responses(*BODY, *WRITE)})
async def add_feed(body: FeedIn, response: Response, services: ServicesDep) -> FeedOut:
    """Subscribe to a feed: 201 when new, 200 with the same id when subscribed already."""

    def add() -> tuple[dict, bool]:
        with services.write_lock:
            return subscribe(services.engine.store, body.url, services.settings.max_feeds)

    try:
        feed, created = await run_in_threadpool(add)
    except TooManyFeeds as error:
        raise ApiError(422, "too_many_feeds", str(error)) from error
    except ValueError as error:
        raise ApiError(422, "invalid_request", f"url: {error}") from error
    if not created:
        response.status_code = 200
    return FeedOut.of(feed)


@router.get("", response_model=FeedList, responses=error_responses(422))
def list_feeds(services: ServicesDep, robots: bool = False) -> FeedList:
    """Every subscription, oldest first (`robots=true`: with the copy of its host's robots.txt,
    as `rag watch` beside the server asks)."""
    feeds = [FeedOut.of(f, robots) for f in services.engine.store.feeds()]
    return FeedList(feeds=feeds, total=len(feeds))


@router.get("/{feed_id}", response_model=FeedOut, responses=error_responses(404, 422))
def get_feed(feed_id: FeedId, services: ServicesDep) -> FeedOut:
    """One subscription, with what its last poll found."""
    return FeedOut.of(_found(services.engine.store.feed(feed_id), feed_id))


@router.delete("/{feed_id}", response_model=FeedOut,
               dependencies=[Depends(require_write_key)],
               responses=error_responses(404, 422, *WRITE))
def delete_feed(feed_id: FeedId, services: ServicesDep) -> FeedOut:
    """Unsubscribe; the articles already read from the feed stay."""
    with services.write_lock:
        feed = _found(services.engine.store.feed(feed_id), feed_id)
        services.engine.store.delete_feed(feed_id)
    return FeedOut.of(feed)


@router.post("/{feed_id}/polls", response_model=FeedOut,
             dependencies=[Depends(require_write_key)],
             responses=error_responses(404, *BODY, *WRITE))
def record_feed_poll(feed_id: FeedId, body: PollRecord, services: ServicesDep) -> FeedOut:
    """Record what a poll of the feed found (`rag watch` does, beside a running server)."""
    with services.write_lock:
        feed = record_poll(services.engine.store, feed_id, body)
    return FeedOut.of(_found(feed, feed_id))


def _found(feed: dict | None, feed_id: str) -> dict:
    if feed is None:
        raise ApiError(404, "feed_not_found", f"no feed with id {feed_id}")
    return feed
