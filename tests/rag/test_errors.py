"""Every error newsrag raises on purpose derives from `NewsragError`, with a code and a status."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest
from starlette.exceptions import HTTPException

from rag.errors import NewsragError

# Found by file: under pytest, `rag` and `api` also name test folders.
ROOT = Path(importlib.import_module("rag.errors").__file__).parent.parent
PACKAGES = ("rag", "index", "api")


def _error_classes() -> list[type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for package in PACKAGES:
        for module in pkgutil.walk_packages([str(ROOT / package)], package + "."):
            loaded = importlib.import_module(module.name)
            for _, value in inspect.getmembers(loaded, inspect.isclass):
                # Starlette's own HTTP errors (a body too large or too slow) stay Starlette's.
                if (issubclass(value, BaseException) and value.__module__ == module.name
                        and value is not NewsragError and not issubclass(value, HTTPException)):
                    found[f"{module.name}.{value.__name__}"] = value
    return sorted(found.values(), key=lambda cls: f"{cls.__module__}.{cls.__name__}")


ERRORS = _error_classes()


def test_the_tree_is_found() -> None:
    names = {cls.__name__ for cls in ERRORS}
    assert {"InvalidRequest", "ArticleNotFound", "LLMTimeout", "UnreadableFile",
            "ApiError", "ServerError"} <= names


@pytest.mark.parametrize("error", ERRORS, ids=lambda cls: f"{cls.__module__}.{cls.__name__}")
def test_every_error_derives_from_the_root(error: type[BaseException]) -> None:
    assert issubclass(error, NewsragError)
    if error.__name__ not in ("ApiError", "CommandError"):  # status and code given per raise
        assert error.code != NewsragError.code
        assert 400 <= error.status < 600


def test_a_retry_after_becomes_a_header() -> None:
    from rag.retrieve import SnapshotUnavailable

    error = SnapshotUnavailable("the store could not be read", retry_after="5")
    assert (error.status, error.code, error.headers) == (503, "store_unavailable",
                                                         {"Retry-After": "5"})
    assert NewsragError("plain").headers is None
