"""Per-client rate limits: off by default; with a limit, 429 `rate_limited` and `Retry-After`
once a client's burst is spent, tokens back as the (fake) clock advances, probes and scrapes
never limited, memory bounded.

The apps run over the shared read-only news store and ask cheap routes (`/v1/models`); the
clock is a fake one the tests advance, so nothing sleeps.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from api.app import create_app
from api.middleware import SECURITY_HEADERS
from api.ratelimit import TokenBuckets
from api.services import Services
from support import assert_json_error, scrape, with_settings

KEY = "rate-limit-test-key-5d0c"
ROUTE = "/v1/models"


class FakeClock:
    """Monotonic seconds that move only when a test says so."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def limited_app(services: Services, clock: FakeClock, per_minute: int = 60, burst: int = 3,
                **settings: object):
    return create_app(services=with_settings(services, rate_limit_per_minute=per_minute,
                                             rate_limit_burst=burst, **settings), clock=clock)


@pytest.fixture
def client(news_services: Services, clock: FakeClock) -> Iterator[TestClient]:
    """60 a minute (one token a second), three at once."""
    with TestClient(limited_app(news_services, clock)) as client:
        yield client


def spend(client: TestClient, count: int, **kwargs: object) -> list[int]:
    return [client.get(ROUTE, **kwargs).status_code for _ in range(count)]


def test_off_by_default(news_services: Services) -> None:
    assert news_services.settings.rate_limit_per_minute == 0
    with TestClient(create_app(services=news_services)) as client:
        assert set(spend(client, 150)) == {200}


def test_429_with_retry_after_once_the_burst_is_spent(client: TestClient) -> None:
    assert spend(client, 3) == [200, 200, 200]
    response = client.get(ROUTE, headers={"X-Request-ID": "too-many-1"})
    error = assert_json_error(response, 429, "rate_limited")
    assert response.headers["retry-after"] == "1"
    assert "RAG_RATE_LIMIT_PER_MINUTE" in error["message"]
    assert error["request_id"] == response.headers["x-request-id"] == "too-many-1"
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value


def test_tokens_come_back_as_the_clock_advances(client: TestClient, clock: FakeClock) -> None:
    assert spend(client, 4) == [200, 200, 200, 429]
    clock.advance(int(client.get(ROUTE).headers["retry-after"]))
    assert spend(client, 2) == [200, 429]
    clock.advance(3600)  # a long pause refills the bucket, but only up to the burst
    assert spend(client, 4) == [200, 200, 200, 429]


@pytest.mark.parametrize(("per_minute", "retry_after"), [(6, "10"), (600, "1"), (1, "60")])
def test_retry_after_is_whole_seconds_until_the_next_token(news_services: Services,
                                                           clock: FakeClock, per_minute: int,
                                                           retry_after: str) -> None:
    with TestClient(limited_app(news_services, clock, per_minute, burst=1)) as client:
        assert client.get(ROUTE).status_code == 200
        response = client.get(ROUTE)
        assert response.status_code == 429
        assert response.headers["retry-after"] == retry_after


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics"])
def test_probes_and_scrapes_are_never_limited(client: TestClient, path: str) -> None:
    assert spend(client, 4)[-1] == 429
    assert {client.get(path).status_code for _ in range(20)} == {200}
    assert client.get(ROUTE).status_code == 429


def test_refusals_are_counted_under_the_route(client: TestClient) -> None:
    spend(client, 5)
    metrics = scrape(client)
    labels = {"method": "GET", "route": ROUTE}
    assert metrics[("newsrag_http_requests_total",
                    frozenset({**labels, "status": "429"}.items()))] == 2
    assert metrics[("newsrag_http_requests_total",
                    frozenset({**labels, "status": "200"}.items()))] == 3


def test_the_key_holder_has_a_bucket_of_its_own(news_services: Services,
                                                clock: FakeClock) -> None:
    app = limited_app(news_services, clock, api_key=SecretStr(KEY))
    with TestClient(app) as client:
        assert spend(client, 4) == [200, 200, 200, 429]
        keyed = {"Authorization": f"Bearer {KEY}"}
        assert spend(client, 4, headers=keyed) == [200, 200, 200, 429]


def test_invented_tokens_do_not_escape_the_limit(news_services: Services,
                                                 clock: FakeClock) -> None:
    app = limited_app(news_services, clock, api_key=SecretStr(KEY))
    with TestClient(app) as client:
        statuses = [client.get(ROUTE, headers={"Authorization": f"Bearer guess-{n}"}).status_code
                    for n in range(4)]
        assert statuses == [200, 200, 200, 429]


def test_forwarded_for_names_the_client_only_behind_a_trusted_proxy(news_services: Services,
                                                                    clock: FakeClock) -> None:
    app = limited_app(news_services, clock, trusted_proxies=["10.0.0.0/8"])

    def statuses(client: TestClient, forwarded_for: str) -> list[int]:
        return spend(client, 4, headers={"X-Forwarded-For": forwarded_for})

    with TestClient(app, client=("10.1.2.3", 40000)) as proxied:
        assert statuses(proxied, "203.0.113.5") == [200, 200, 200, 429]
        assert statuses(proxied, "203.0.113.6") == [200, 200, 200, 429]
    with TestClient(app, client=("198.51.100.9", 40000)) as direct:
        assert statuses(direct, "203.0.113.7") == [200, 200, 200, 429]
        assert statuses(direct, "203.0.113.8") == [429] * 4  # the header is not believed


def test_bucket_memory_is_bounded(clock: FakeClock) -> None:
    buckets = TokenBuckets(per_minute=60, burst=5, clock=clock, max_clients=100)
    for n in range(1_000):
        assert buckets.take(f"ip:client-{n}") == 0
        assert len(buckets) <= 100
    assert len(buckets) == 100
    clock.advance(5)  # every bucket has refilled: keeping any of them would change nothing
    buckets.take("ip:late")
    assert len(buckets) == 1


def test_a_full_table_forgets_the_least_recently_seen(clock: FakeClock) -> None:
    buckets = TokenBuckets(per_minute=60, burst=1, clock=clock, max_clients=2)
    assert buckets.take("a") == 0 and buckets.take("b") == 0
    assert buckets.take("a") > 0  # a is still limited and now the most recently seen
    assert buckets.take("c") == 0  # the table is full: b, seen least recently, goes
    assert buckets.take("a") > 0
    assert buckets.take("b") == 0  # b comes back with a full bucket


def test_the_schema_declares_429_where_a_limit_can_refuse(news_services: Services) -> None:
    paths = create_app(services=news_services).openapi()["paths"]
    assert "429" in paths["/v1/ask"]["post"]["responses"]
    assert "429" in paths["/v1/documents"]["post"]["responses"]
    for exempt in ("/healthz", "/readyz", "/metrics"):
        assert "429" not in paths[exempt]["get"]["responses"]
