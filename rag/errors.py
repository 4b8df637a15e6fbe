"""The root of every error newsrag raises on purpose, so the API and the command line can each
handle them in one place.

`NewsragError` carries a machine-readable `code`, the HTTP `status` it answers with, the exit
status of a command that fails with it, and an optional `retry_after` (seconds, as text).
"""

from __future__ import annotations


class NewsragError(Exception):
    """An error a caller can act on: its message says what went wrong, in one line."""

    code = "error"
    status = 500
    exit_status = 1

    def __init__(self, message: str, *, retry_after: str | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    @property
    def headers(self) -> dict[str, str] | None:
        """HTTP headers the error's answer carries."""
        return {"Retry-After": self.retry_after} if self.retry_after else None
