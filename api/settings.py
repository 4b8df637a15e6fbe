"""The HTTP server's settings, beside the engine's: the same `RAG_*` environment, read once
by `rag serve`, the app and the command line."""

from __future__ import annotations

import ipaddress
from typing import Literal

from pydantic import Field, SecretStr, field_validator

from rag.config import Settings


class ServerSettings(Settings):
    """Everything `Settings` holds, plus what only the HTTP layer reads: where it listens, its
    keys and origins, request limits and timeouts, rate limits and logging."""

    # HTTP
    api_key: SecretStr | None = Field(
        None, description=(
            "Bearer key the write routes require."))
    host: str = Field(
        "127.0.0.1", description=(
            "Where `rag serve` listens: the host address."))
    port: int = Field(
        8000, ge=1, le=65535, description=(
            "Where `rag serve` listens: the port."))
    workers: int = Field(
        1, ge=1, le=64, description=(
            "Server processes `rag serve` starts (`--workers` overrides); each holds its own "
            "engine; more than one needs a Chroma server (docs/operations.md)."))
    max_upload_bytes: int = Field(
        10000000, ge=1000, description=(
            "Largest uploaded file."))
    max_body_bytes: int = Field(
        32000000, ge=1000, description=(
            "Largest request body, uploads included (413 `payload_too_large` above it)."))
    max_header_bytes: int = Field(
        65536, ge=1024, le=16777216, description=(
            "`rag serve`: largest request line and headers, else 431 "
            "`request_header_fields_too_large` and the connection closes (never buffered past "
            "it)."))
    max_headers: int = Field(
        100, ge=10, le=10000, description=(
            "`rag serve`: most header fields a request, else 431."))
    header_timeout_seconds: float = Field(
        15.0, gt=0, le=3600, description=(
            "`rag serve`: a request's headers must arrive within this of the connection "
            "opening or the last response, else 408 `request_timeout` and the connection "
            "closes (slow clients; docs/operations.md)."))
    body_timeout_seconds: float = Field(
        60.0, gt=0, le=3600, description=(
            "A request's whole body must arrive within this of the route starting to read it, "
            "else 408 `request_timeout` and the connection closes."))
    keep_alive_seconds: int = Field(
        5, ge=1, le=3600, description=(
            "`rag serve`: an idle keep-alive connection closes after this."))
    cors_origins: list[str] = Field(
        default_factory=list, description=(
            "JSON list of browser origins allowed to call the API cross-site, writes included, "
            "e.g. `[\"https://newsroom.example\"]`; other origins' pages may only read "
            "(docs/operations.md, Security)."))
    api_docs: bool = Field(
        True, description=(
            "Serve the reference pages `/docs` and `/redoc`."))
    mcp: bool = Field(
        True, description=(
            "Serve the MCP server at `/mcp` (README, \"Use it from an MCP client\")."))
    trusted_proxies: list[str] = Field(
        default_factory=list, description=(
            "JSON list of proxy addresses or networks whose `X-Forwarded-For` names the "
            "client, e.g. `[\"10.0.0.0/8\"]`."))

    # Limits and observability
    rate_limit_per_minute: int = Field(
        0, ge=0, le=1000000, description=(
            "Requests a client may make a minute, per process (0: no limit; "
            "docs/operations.md)."))
    rate_limit_burst: int | None = Field(
        None, ge=1, le=1000000, description=(
            "Requests a client may make at once (unset: the per-minute limit)."))
    log_format: Literal["json", "text"] = Field(
        "json", description=(
            "`rag serve` logs one JSON object a line on stderr, or `text`."))
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description=(
            "Level of newsrag's and uvicorn's loggers (other libraries: warnings and above)."))

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_networks(cls, value: list[str]) -> list[str]:
        """Only addresses and networks: a typo must fail at start-up, not trust nobody."""
        for entry in value:
            ipaddress.ip_network(entry, strict=False)  # ValueError: pydantic reports it
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value
