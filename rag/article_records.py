"""The Chroma collection that holds a store's article records, which nothing searches by vector:
each record gets a one-dimension constant, so Chroma's index of them stays small. A store
written before keeps them in `<prefix>_articles` with 384-dimension vectors until `rag migrate`
moves them (`ArticleRecords.move`; docs/operations.md, "Migrating a store")."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import chromadb
import numpy as np
from chromadb.errors import NotFoundError

from rag.errors import NewsragError

# The collection names, after the store's prefix: the records as kept now, as an earlier
# release kept them, and a copy under way (never opened as the records).
CURRENT = "_article_records"
LEGACY = "_articles"
MOVING = "_article_records_moving"
# Never searched: a small graph, cheap to build (docs/benchmarks.md, section 10, "Article
# records without their vectors").
CURRENT_CONFIGURATION = {"hnsw": {"max_neighbors": 4, "ef_construction": 8}}
CONSTANT = [1.0]
# Records a Chroma call reads or writes (under its batch limit on every backend).
BATCH = 5000


class ArticleMoveFailed(NewsragError, RuntimeError):
    """The copy of the article records does not hold what the collection it copies holds."""

    code = "migration_failed"
    status = 500


class ArticleRecords:
    """A store's article records in Chroma: `get`, `count`, `update` and `delete` as a Chroma
    collection's, `put` for writes. A handle whose collection was moved by another process's
    `rag migrate` opens the moved one and repeats the call."""

    def __init__(self, client: chromadb.ClientAPI, prefix: str) -> None:
        self._client = client
        self._prefix = prefix
        self.collection, self.legacy = self._open()

    @property
    def name(self) -> str:
        """The name of the collection the records are read from and written to."""
        return self.collection.name

    def _open(self) -> tuple[chromadb.Collection, bool]:
        """The records' collection, and whether it is an earlier release's (384-dimension
        vectors): the current one if it exists, else an earlier release's if that exists,
        else a new current one."""
        for suffix in (CURRENT, LEGACY):
            if (found := _existing(self._client, self._prefix + suffix)) is not None:
                return found, suffix == LEGACY
        return self._client.get_or_create_collection(
            self._prefix + CURRENT, configuration=CURRENT_CONFIGURATION,
            embedding_function=None), False

    def _call(self, call: Callable[[chromadb.Collection, bool], Any]) -> Any:
        """`call` on the collection; once more on the one opened anew when it was moved."""
        try:
            return call(self.collection, self.legacy)
        except NotFoundError:
            self.collection, self.legacy = self._open()
            return call(self.collection, self.legacy)

    def get(self, **selection: Any) -> Any:
        return self._call(lambda c, _: c.get(**selection))

    def count(self) -> int:
        return int(self._call(lambda c, _: c.count()))

    def update(self, **changes: Any) -> None:
        self._call(lambda c, _: c.update(**changes))

    def delete(self, **selection: Any) -> None:
        self._call(lambda c, _: c.delete(**selection))

    def put(self, ids: Sequence[str], metadatas: Sequence[dict[str, Any]],
            chunk_vectors: Sequence[np.ndarray]) -> None:
        """Write these records whole (`chunk_vectors`: each article's chunk vectors, which an
        earlier release's collection takes the mean direction of as the record's vector)."""
        def write(collection: chromadb.Collection, legacy: bool) -> None:
            vectors = (np.stack([mean_direction(v) for v in chunk_vectors]) if legacy
                       else [CONSTANT] * len(ids))
            collection.upsert(ids=list(ids), embeddings=vectors, metadatas=list(metadatas))
        self._call(write)

    def move(self) -> int:
        """Move an earlier release's records to a current collection (`copy_records`,
        `switch`, `drop_legacy`, each safe to stop after: a rerun finishes); returns how many
        records the earlier collection held (0: none was left). Raises `ArticleMoveFailed`
        when the copy does not hold every record."""
        legacy = _existing(self._client, self._prefix + LEGACY)
        if legacy is None:
            return 0
        held = legacy.count()
        if _existing(self._client, self._prefix + CURRENT) is None:
            copy_records(self._client, self._prefix)
            switch(self._client, self._prefix)
        drop_legacy(self._client, self._prefix)
        self.collection, self.legacy = self._open()
        return held


def copy_records(client: chromadb.ClientAPI, prefix: str) -> int:
    """The move's first step: copy every record (id, document, metadata) of `<prefix>_articles`
    into `<prefix>_article_records_moving` with a 1-d constant, begun anew when a stopped run
    left one (the store may have changed since, and nothing opens that copy); returns how many
    were copied. Raises `ArticleMoveFailed` when the copy does not hold every id."""
    legacy = client.get_collection(prefix + LEGACY, embedding_function=None)
    if _existing(client, prefix + MOVING) is not None:
        client.delete_collection(prefix + MOVING)
    moving = client.create_collection(prefix + MOVING, configuration=CURRENT_CONFIGURATION,
                                      embedding_function=None)
    ids = _ids(legacy)
    for begin in range(0, len(ids), BATCH):
        got = legacy.get(ids=ids[begin : begin + BATCH], include=["documents", "metadatas"])
        moving.upsert(ids=got["ids"], embeddings=[CONSTANT] * len(got["ids"]),
                      documents=got["documents"], metadatas=got["metadatas"])
    copied = _ids(moving)
    if len(copied) != len(ids) or set(copied) != set(ids):
        raise ArticleMoveFailed(f"the copy of {legacy.name} holds {len(copied)} of its "
                                f"{len(ids)} records")
    return len(ids)


def switch(client: chromadb.ClientAPI, prefix: str) -> None:
    """The move's second step: rename the whole copy `<prefix>_article_records`, one step of
    Chroma's after which every store opens it rather than `<prefix>_articles`."""
    client.get_collection(prefix + MOVING, embedding_function=None).modify(
        name=prefix + CURRENT)


def drop_legacy(client: chromadb.ClientAPI, prefix: str) -> None:
    """The move's last step: drop `<prefix>_articles`, which no store opens once the copy is
    `<prefix>_article_records` (a handle opened before reopens on its next call)."""
    if _existing(client, prefix + LEGACY) is not None:
        client.delete_collection(prefix + LEGACY)


def mean_direction(vectors: np.ndarray) -> np.ndarray:
    """An article's vector as an earlier release kept it: the normalised mean of its chunks'
    (a constant for none)."""
    mean = vectors.mean(axis=0) if len(vectors) else np.ones(vectors.shape[1])
    return mean / (np.linalg.norm(mean) or 1.0)


def _existing(client: chromadb.ClientAPI, name: str) -> chromadb.Collection | None:
    """The collection of that name, or None when there is none."""
    try:
        return client.get_collection(name, embedding_function=None)
    except NotFoundError:
        return None


def _ids(collection: chromadb.Collection) -> list[str]:
    """Every id of a collection (ids only, a page at a time)."""
    ids: list[str] = []
    while True:
        page = collection.get(include=[], limit=BATCH, offset=len(ids))["ids"]
        ids.extend(page)
        if len(page) < BATCH:
            return ids
