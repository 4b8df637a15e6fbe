"""What routes receive through `Depends`: the services built at start-up, the app's metrics,
and the auth check."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Annotated

from fastapi import Depends, Request
from pydantic import SecretStr

from api.errors import ApiError
from api.metrics import Metrics
from api.services import Services


def get_services(request: Request) -> Services:
    return request.app.state.services


def get_metrics(request: Request) -> Metrics:
    return request.app.state.metrics


ServicesDep = Annotated[Services, Depends(get_services)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]


def require_write_key(request: Request, services: ServicesDep) -> None:
    """Write routes need `Authorization: Bearer <RAG_API_KEY>` when a key is configured."""
    check_key(request.headers, services.settings.api_key)


def check_key(headers: Mapping[str, str], key: SecretStr | None) -> None:
    """Pass a request whose headers carry `Authorization: Bearer <key>`, or any request when
    `key` is None; raise `ApiError` 401 when the header is missing, 403 when the key is wrong."""
    if key is None:
        return
    header = headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if not header or scheme.lower() != "bearer" or not token:
        raise ApiError(401, "unauthorized", "this route needs 'Authorization: Bearer <key>'",
                       headers={"WWW-Authenticate": "Bearer"})
    # Constant-time comparison: response timing must not reveal how much of a guess was right.
    if not hmac.compare_digest(token.strip().encode(), key.get_secret_value().encode()):
        raise ApiError(403, "forbidden", "the API key is not valid")
