"""Log lines for machines (one JSON object a line, the default) or people, with the request id.

`rag serve` hands `logging_config(settings)` to uvicorn, which applies it in every worker
process; the app itself never configures logging, so tests and embedding programs keep theirs.
Formatters only serialise what the code logged: nothing here reads headers or bodies, so the
Authorization header, the API key and request bodies cannot reach a log line by this path.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

from api import request_id
from api.settings import ServerSettings

ACCESS_LOGGER = "newsrag.access"
# Characters a line-based reader (Python's str.splitlines, many log shippers) ends a line at
# that json.dumps leaves raw with ensure_ascii=False: escaped, one record stays one line. The
# rest of them (\n, \r, \v, \f, \x1c-\x1e) are control characters json.dumps escapes anyway.
_LINE_BREAKS = str.maketrans({c: f"\\u{ord(c):04x}" for c in "\x85\u2028\u2029"})
# Attributes every LogRecord has; anything else on a record came from `extra=` and is a field.
# uvicorn adds `color_message`, its message with terminal colour codes: not a field.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message", "asctime", "color_message"}


def _request_id(record: logging.LogRecord) -> str | None:
    # Passed explicitly by the access log (emitted where the id is bound anyway); other lines
    # take the id of the request being handled, if any.
    return getattr(record, "request_id", None) or request_id.current()


class JsonFormatter(logging.Formatter):
    """One JSON object a line: ts, level, logger, msg, request_id, then the record's extras.

    Text stays readable (not escaped to ASCII), except the characters a line reader breaks at."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC)
            .isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        rid = _request_id(record)
        if rid is not None:
            line["request_id"] = rid
        line.update({key: value for key, value in vars(record).items()
                     if key not in _STANDARD and key not in line})
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False).translate(_LINE_BREAKS)


class TextFormatter(logging.Formatter):
    """`time LEVEL logger [request id] message`, for reading in a terminal."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(rid)s] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        record.rid = _request_id(record) or "-"
        return super().format(record)


def logging_config(settings: ServerSettings) -> dict[str, Any]:
    """A `logging.config.dictConfig` dictionary: our format on stderr.

    newsrag's and uvicorn's loggers log at `RAG_LOG_LEVEL`; every other library at WARNING, so
    the Chroma and HTTP clients do not write a line for each of their calls.
    """
    formatter = JsonFormatter if settings.log_format == "json" else TextFormatter
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"newsrag": {"()": f"{formatter.__module__}.{formatter.__qualname__}"}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "newsrag",
                                "stream": "ext://sys.stderr"}},
        "root": {"handlers": ["stderr"], "level": "WARNING"},
        "loggers": {name: {"level": settings.log_level, "handlers": [], "propagate": True}
                    for name in ("newsrag", "uvicorn")},
    }
