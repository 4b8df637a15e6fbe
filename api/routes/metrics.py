"""GET /metrics: the Prometheus text exposition of this process's metrics (api/metrics.py).

Open like every read route: no key is asked, because the figures are counts and latencies, never
article text, questions or keys. Keep it off the public internet at the proxy if even those
should stay private (docs/operations.md).
"""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import PlainTextResponse

from api.deps import MetricsDep
from api.metrics import CONTENT_TYPE

router = APIRouter(tags=["operations"])


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(recorder: MetricsDep) -> Response:
    """Request counts and latencies by route, writes through the API, and the index's size.

    Sync on purpose: the index size is read from the store, off the event loop.
    """
    return Response(recorder.exposition(), media_type=CONTENT_TYPE)
