"""Feed subscriptions as the store keeps them: one record a feed, known by the hash of its
canonical URL, with what the last poll found (docs/operations.md, "Feed subscriptions")."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from rag.errors import NewsragError
from rag.store import Store
from rag.urls import canonical_url


class TooManyFeeds(NewsragError, ValueError):
    """The store holds as many subscriptions as `RAG_MAX_FEEDS` allows."""

    code = "too_many_feeds"
    status = 422


# Pages waiting to be downloaded again that one feed keeps, and the longest backoff.
MAX_RETRIES = 200
MAX_BACKOFF_SECONDS = 86400.0


class PageRetry(BaseModel):
    """An entry whose page failed to download, waiting to be tried again."""

    model_config = ConfigDict(extra="forbid", strict=True)

    link: str = Field(max_length=2000)
    title: str | None = Field(None, max_length=1000)
    published: str | None = Field(None, max_length=40, description="ISO date.")
    author: str | None = Field(None, max_length=300)
    source: str | None = Field(None, max_length=300)
    failures: int = Field(ge=1, le=1000, description="Downloads failed in a row.")
    next_attempt: str = Field(max_length=40, description="Not tried again before (UTC).")
    reason: str = Field(max_length=2000, description="Why the last download failed.")


class PollRecord(BaseModel):
    """What one poll of a feed found, as `rag watch` records it."""

    model_config = ConfigDict(extra="forbid", strict=True)

    polled_at: str = Field(max_length=40, description="When the poll began (ISO 8601, UTC).")
    status: Literal["ok", "not_modified", "error", "waiting"] = Field(
        description="waiting: not polled, its backoff after failures not over (not recorded).")
    error: str | None = Field(None, max_length=2000, description="Why the poll failed.")
    etag: str | None = Field(None, max_length=1000)
    last_modified: str | None = Field(None, max_length=200)
    title: str | None = Field(None, max_length=1000, description="The feed's own title.")
    # Bounded: the store keeps a larger integer as a float, which no record could be read back
    # with (`rag watch` reads at most RAG_FEED_MAX_ENTRIES, 10,000 at most).
    entries: int | None = Field(None, ge=0, le=1_000_000, description="Entries the feed held.")
    last_entry: str | None = Field(None, max_length=2000,
                                   description="The link of the feed's newest entry.")
    failures: int = Field(0, ge=0, le=1_000_000, description="Failed polls in a row.")
    next_poll: str | None = Field(None, max_length=40,
                                  description="After failures: not polled before (UTC).")
    retries: list[PageRetry] | None = Field(
        None, max_length=MAX_RETRIES, description="Entries whose page is to be downloaded "
        "again (None: as before).")
    robots_txt: str | None = Field(None, max_length=500 * 1024,
                                   description="The feed's host's robots.txt, read anew.")
    robots_fetched: str | None = Field(None, max_length=40)

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
    fields.update(last_polled=poll.polled_at, last_status=poll.status, last_error=poll.error,
                  failures=poll.failures, next_poll=poll.next_poll)
    for name in ("etag", "last_modified", "title", "entries", "last_entry", "robots_txt",
                 "robots_fetched"):
        if (value := getattr(poll, name)) is not None:
            fields[name] = value
    if poll.retries is not None:
        fields["retries"] = json.dumps([r.model_dump() for r in poll.retries])
    store.put_feed(identity, fields)
    return {**fields, "id": identity}


def retries_of(feed: dict[str, Any]) -> list[PageRetry]:
    """The pages a subscription's record keeps for downloading again."""
    try:
        return [PageRetry.model_validate(r) for r in json.loads(feed.get("retries") or "[]")]
    except ValueError:  # a record written by hand: start afresh rather than fail the feed
        return []


def backoff(failures: int, base: float) -> float:
    """Seconds to wait after `failures` failures in a row: `base` doubled with each, at most
    a day."""
    return min(base * 2 ** min(failures - 1, 32), MAX_BACKOFF_SECONDS)


def later(seconds: float) -> str:
    """The time `seconds` from now, as subscriptions record times."""
    moment = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)
    return moment.isoformat(timespec="seconds")


def is_past(moment: str | None) -> bool:
    """Whether a recorded time has come (None, or an unreadable one, has)."""
    if not moment:
        return True
    try:
        return dt.datetime.fromisoformat(moment) <= dt.datetime.now(dt.UTC)
    except (ValueError, TypeError):
        return True


def now() -> str:
    """The current time as subscriptions record it (ISO 8601, UTC, to the second)."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
