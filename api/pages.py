"""`POST /v1/documents {"url": ...}`: the page downloaded by the server under the feeds' rules
(`index.page`), each way a download can fail mapped to its JSON error (docs/operations.md,
"Feed subscriptions")."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from starlette.concurrency import run_in_threadpool

from api.errors import ApiError
from index.fetch import Fetcher
from index.html import UnreadablePage
from index.load import Document, UnreadableFile
from index.page import NotAnArticle, page_document
from rag.config import Settings


class PageIn(BaseModel):
    """An article page to download and index (strict: an unknown field is a 422)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    url: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                          max_length=2000)] = Field(
        description="The page's http:// or https:// address: downloaded by the server "
        "(robots.txt, size and time limits, no private addresses unless allowed) and read "
        "as an HTML file is.")


def is_page_request(item: Any) -> bool:
    """Whether a JSON document names a page to download (a `url` and no `text`)."""
    return isinstance(item, dict) and "url" in item and "text" not in item


async def download_page(item: Any, settings: Settings, where: str = "") -> Document:
    """The page `item` (a `PageIn`) names, as a document; raises `ApiError`: 422
    `invalid_request` or `url_refused` (not http(s), a non-public address, robots.txt),
    422 `no_articles` (no article text), 502 `fetch_failed` (an HTTP error, too large, a
    connection failure), 504 `fetch_timeout`."""
    try:
        page = PageIn.model_validate(item)
    except ValidationError as error:
        first = error.errors()[0]
        place = ".".join(str(p) for p in first["loc"])
        raise ApiError(422, "invalid_request", f"{where}{place or 'body'}: {first['msg']}") \
            from error

    def fetch() -> Document:
        fetcher = Fetcher(settings)
        try:
            return page_document(page.url, fetcher)
        finally:
            fetcher.close()

    try:  # a refused, failed or slow download answers with its own code (rag/errors.py)
        return await run_in_threadpool(fetch)
    except (NotAnArticle, UnreadablePage, UnreadableFile) as error:
        raise ApiError(422, "no_articles", f"nothing could be indexed ({page.url}: "
                                           f"{error})") from error
