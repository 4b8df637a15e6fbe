"""Feed subscriptions as the store keeps them: one record a feed, known by the hash of its
canonical URL, with what the last poll found (docs/operations.md, "Feed subscriptions")."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from rag.errors import NewsragError
from rag.store import Store
from rag.urls import canonical_url


class TooManyFeeds(NewsragError, ValueError):
    """The store holds as many subscriptions as `RAG_MAX_FEEDS` allows."""

    code = "too_many_feeds"
    status = 422


class PollRecord(BaseModel):
    """What one poll of a feed found, as `rag watch` records it."""

    model_config = ConfigDict(extra="forbid", strict=True)

    polled_at: str = Field(max_length=40, description="When the poll began (ISO 8601, UTC).")
    status: Literal["ok", "not_modified", "error"]
    error: str | None = Field(None, max_length=2000, description="Why the poll failed.")
    etag: str | None = Field(None, max_length=1000)
    last_modified: str | None = Field(None, max_length=200)
    title: str | None = Field(None, max_length=1000, description="The feed's own title.")
    # Bounded: the store keeps a larger integer as a float, which no record could be read back
    # with (`rag watch` reads at most RAG_FEED_MAX_ENTRIES, 10,000 at most).
    entries: int | None = Field(None, ge=0, le=1_000_000, description="Entries the feed held.")

    @field_validator("polled_at")
    @classmethod
    def _a_moment_in_utc(cls, value: str) -> str:
        """An ISO 8601 time with its offset, kept in UTC to the second; raises ValueError."""
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError:
            raise ValueError("polled_at must be an ISO 8601 time") from None
        if moment.tzinfo is None:
            raise ValueError("polled_at must say its offset from UTC")
        return moment.astimezone(dt.UTC).isoformat(timespec="seconds")


def feed_id(url: str) -> str:
    """A subscription's id: 16 hex digits of the SHA-256 of its canonical URL."""
    canonical = canonical_url(url)
    if canonical is None:
        raise ValueError("a feed URL must be http:// or https:// with a host name")
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def subscribe(store: Store, url: str, limit: int) -> tuple[dict[str, Any], bool]:
    """The subscription to `url`, and whether it is new (another spelling of a subscribed
    URL finds the first). Raises `ValueError` for a URL that is not http(s), `TooManyFeeds`
    past `limit`."""
    url = url.strip()
    identity = feed_id(url)
    if (found := store.feed(identity)) is not None:
        return found, False
    if store.feed_count() >= limit:
        raise TooManyFeeds(f"the store holds {limit} feeds, as many as RAG_MAX_FEEDS allows")
    store.put_feed(identity, {"url": url, "added": now()})
    created = store.feed(identity)
    assert created is not None
    return created, True


def record_poll(store: Store, identity: str, poll: PollRecord) -> dict[str, Any] | None:
    """Keep what a poll found; validators and title stay when it found none (a 304, an
    error). None when the subscription was removed meanwhile."""
    stored = store.feed(identity)
    if stored is None:
        return None
    fields = {k: v for k, v in stored.items() if k != "id"}
    fields.update(last_polled=poll.polled_at, last_status=poll.status, last_error=poll.error)
    for name in ("etag", "last_modified", "title", "entries"):
        if (value := getattr(poll, name)) is not None:
            fields[name] = value
    store.put_feed(identity, fields)
    return {**fields, "id": identity}


def now() -> str:
    """The current time as subscriptions record it (ISO 8601, UTC, to the second)."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
