"""A store rewritten as releases before layout blobs wrote it: each chunk's offsets, sentence
spans, speakers and statement records in its Chroma metadata, each article's MinHash signature
in its record's (what `rag migrate` moves; rag/layouts.py); and one opened as releases before
`rag.article_records` kept article records, with 384-dimension vectors."""

from __future__ import annotations

import json
from typing import Any

from rag.config import Settings
from rag.schemas import Chunk
from rag.store import HNSW, Store, connect


def chunk_metadata(chunk: Chunk, written_at: float) -> dict[str, Any]:
    """The chunk metadata keys an earlier release wrote beside the filters' (as it wrote them)."""
    found: dict[str, Any] = {
        "written_at": written_at, "ordinal": chunk.ordinal, "start": chunk.start,
        "end": chunk.end, "sentences": ",".join(f"{s}-{e}" for s, e in chunk.sentences)}
    if chunk.published:
        found["published"] = chunk.published.isoformat()
    if any(chunk.speakers):
        found["speakers"] = json.dumps(chunk.speakers)
    if chunk.statements:
        found["statements"] = json.dumps([s.model_dump(exclude_defaults=True)
                                          for s in chunk.statements])
    return found


def write_as_earlier_release(store: Store) -> tuple[list[str], dict[str, str]]:
    """Move every committed article's layout into its chunks' metadata and its signature into
    its record's, and drop both blobs; returns the chunk ids rewritten and the signatures."""
    articles = store.article_ids()
    chunks = [c for a in articles for c in store.chunks_of(a)]
    ids = [c.id for c in chunks]
    store._chunks.update(ids=ids, metadatas=[chunk_metadata(c, 1.0) for c in chunks])
    store.layouts.delete(articles)
    signatures = store.article_signatures(articles)
    if signatures:
        store._articles.update(ids=list(signatures),
                               metadatas=[{"signature": s} for s in signatures.values()])
        store.signatures.delete(list(signatures))
    return ids, signatures


def open_as_earlier_release(settings: Settings) -> Store:
    """A store whose article records are kept as releases before `rag.article_records` kept
    them: `<prefix>_articles`, cosine, each record with its chunks' mean direction (384-d)."""
    connect(settings).get_or_create_collection(f"{settings.collection}_articles",
                                               configuration=HNSW, embedding_function=None)
    return Store.open(settings)
