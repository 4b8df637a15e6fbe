"""The error responses each route declares in the OpenAPI schema, so the schema tells the truth.

Every failure leaves the API as `{"error": {"code", "message", ...}}` (api/envelope.py); FastAPI
would otherwise document its own `{"detail": [...]}` shape for 422 and nothing for the rest.
tests/api/test_schema_fuzz.py checks every response the fuzzer provokes against these.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ErrorDetail(BaseModel):
    """One problem of a request that failed validation."""

    loc: list[str | int]
    msg: str
    type: str | None = None


class ErrorInfo(BaseModel):
    code: str = Field(description="Machine-readable, e.g. invalid_request, document_not_found.")
    message: str = Field(description="What went wrong, in a sentence.")
    details: list[ErrorDetail] | None = Field(None, description="Validation errors, if any.")
    request_id: str | None = Field(None, description="The request's X-Request-ID.")


class ErrorBody(BaseModel):
    """The body of every 4xx and 5xx response."""

    error: ErrorInfo


DESCRIPTIONS = {
    400: "Malformed request: the body is not valid JSON or multipart (`malformed_json`, ...)",
    401: "The route needs `Authorization: Bearer <RAG_API_KEY>` (`unauthorized`)",
    403: "The API key is not valid (`forbidden`), or a page of another origin sent a request "
         "other than GET (`cross_origin_forbidden`; RAG_CORS_ORIGINS lists the origins allowed)",
    404: "No such document or model",
    408: "The request body did not arrive within RAG_BODY_TIMEOUT_SECONDS (`request_timeout`)",
    413: "The request body is larger than RAG_MAX_BODY_BYTES (`payload_too_large`)",
    415: "The body's Content-Type is not application/json (or, for uploads, "
         "multipart/form-data) (`unsupported_media_type`)",
    422: "The request is well formed but invalid or over a limit (`invalid_request`, "
         "`no_articles`; a page's URL refused, `url_refused`)",
    429: "Too many requests from this client (`rate_limited`; only with "
         "RAG_RATE_LIMIT_PER_MINUTE): retry after the `Retry-After` header's seconds",
    502: "The configured LLM failed, or a page to download did not come (`fetch_failed`)",
    503: "Unavailable: still starting, or the store or the configured LLM cannot be reached",
    504: "The configured LLM, or a page to download, did not answer in time (`llm_timeout`, "
         "`fetch_timeout`)",
}

# Groups the routes share.
BODY = (400, 403, 408, 413, 415, 422)  # any route reading a body (403: another origin's page)
WRITE = (401, 403)  # routes behind the API key
LLM = (502, 503, 504)  # routes that may call the configured LLM


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: each status with the API's error body."""
    return {status: {"model": ErrorBody, "description": DESCRIPTIONS[status]}
            for status in statuses}
