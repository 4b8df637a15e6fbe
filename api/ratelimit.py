"""Per-client rate limiting (off unless `RAG_RATE_LIMIT_PER_MINUTE` is set): a token bucket per
client in this process's memory; an empty bucket is a 429 `rate_limited` with `Retry-After`.

Who a client is, and why the limit is per process: docs/operations.md, "Rate limits".
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import SecretStr
from starlette.types import ASGIApp, Receive, Scope, Send

from api.envelope import send_json_error

EXEMPT = frozenset({"/healthz", "/readyz", "/metrics"})  # probes and scrapes are never refused
MAX_CLIENTS = 10_000  # buckets kept at most (about 200 bytes each with its key)


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class TokenBuckets:
    """One token bucket per client key, in bounded memory.

    Buckets are kept in least-recently-used order. A bucket idle long enough to have refilled
    is dropped (a new one would be the same); past `max_clients`, the least recently used is
    dropped even if not full, which only forgives that client some of its debt.
    """

    def __init__(self, per_minute: int, burst: int, clock: Callable[[], float] = time.monotonic,
                 max_clients: int = MAX_CLIENTS) -> None:
        self.rate = per_minute / 60.0  # tokens a second
        self.burst = burst
        self.clock = clock
        self.max_clients = max_clients
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def take(self, client: str) -> float:
        """Spend one of `client`'s tokens: 0 when there was one, else seconds until there is."""
        now = self.clock()
        bucket = self._buckets.pop(client, None) or _Bucket(float(self.burst), now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        self._buckets[client] = bucket
        self._evict(now)
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0.0
        return (1 - bucket.tokens) / self.rate

    def __len__(self) -> int:
        return len(self._buckets)

    def _evict(self, now: float) -> None:
        refilled_after = self.burst / self.rate
        while self._buckets:
            oldest = next(iter(self._buckets.values()))
            if len(self._buckets) <= self.max_clients and now - oldest.updated < refilled_after:
                return
            self._buckets.popitem(last=False)


class RateLimitMiddleware:
    """429 `rate_limited` with `Retry-After` once a client's bucket is empty.

    Runs on the event loop only (no await between reading and spending a bucket), so the
    buckets need no lock.
    """

    def __init__(self, app: ASGIApp, buckets: TokenBuckets, api_key: SecretStr | None) -> None:
        self.app = app
        self.buckets = buckets
        self._key_digest = (hashlib.sha256(api_key.get_secret_value().encode()).digest()
                            if api_key else None)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in EXEMPT:
            await self.app(scope, receive, send)
            return
        wait = self.buckets.take(self._client(scope))
        if not wait:
            await self.app(scope, receive, send)
            return
        seconds = max(1, math.ceil(wait))
        per_minute = round(self.buckets.rate * 60)
        await send_json_error(
            send, 429, "rate_limited",
            f"too many requests: at most {per_minute} a minute, {self.buckets.burst} at once "
            f"(RAG_RATE_LIMIT_PER_MINUTE, RAG_RATE_LIMIT_BURST); retry in {seconds} s",
            headers={"Retry-After": str(seconds)})

    def _client(self, scope: Scope) -> str:
        token = _bearer_token(scope)
        if token and self._key_digest is not None:
            digest = hashlib.sha256(token.encode()).digest()
            if hmac.compare_digest(digest, self._key_digest):
                return "key:" + digest.hex()[:16]
        client = scope.get("client")
        return "ip:" + (client[0] if client else "unknown")


def _bearer_token(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name.lower() == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" else None
    return None
