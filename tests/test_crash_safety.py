"""Crash safety: `rag index` killed with SIGKILL at ten moments leaves only whole articles.

A kill between a group's chunks and its records leaves orphans that are never searched and
that `repair()` removes; re-running the command then leaves the store exactly as a clean run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from index.pipeline import GROUP_BATCHES
from rag.config import Settings
from rag.embeddings import Encoder
from rag.retrieve import Retriever
from rag.store import Store
from support import MULTIHOP_CORPUS, ROOT

RAG = ROOT / ".venv" / "bin" / "rag"
ARTICLES = 6
KILLS = 10
# Small embedding batches make the pipeline commit articles all through its run (a group of
# GROUP_BATCHES chunks, two or three of these articles), not in one burst.
SETTINGS = {"chunk_tokens": 128, "chunk_overlap": 0, "embed_batch_size": 1}
ENV = {f"RAG_{name.upper()}": str(value) for name, value in SETTINGS.items()}
GROUP_CHUNKS = SETTINGS["embed_batch_size"] * GROUP_BATCHES  # a group ends at or past this

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not MULTIHOP_CORPUS.is_file(),
                                 reason=f"../shared corpus not found at {MULTIHOP_CORPUS}")]


def index_command(corpus: Path, data_dir: Path) -> tuple[list[str], dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update(ENV, RAG_DATA_DIR=str(data_dir), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
               ANONYMIZED_TELEMETRY="False")
    return [str(RAG), "index", "--quiet", str(corpus)], env


def run_index(corpus: Path, data_dir: Path, kill_after: float | None = None) -> tuple[int, float]:
    """Run `rag index` to the end, or SIGKILL it after `kill_after` seconds: its return code
    and how long it ran."""
    command, env = index_command(corpus, data_dir)
    began = time.monotonic()
    process = subprocess.Popen(command, env=env, cwd=corpus.parent, stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        if kill_after is not None:
            try:
                process.wait(timeout=kill_after)
            except subprocess.TimeoutExpired:
                process.send_signal(signal.SIGKILL)
        return process.wait(timeout=180), time.monotonic() - began
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def store_settings(data_dir: Path) -> Settings:
    return Settings(data_dir=data_dir, _env_file=None, **SETTINGS)


def open_store(data_dir: Path) -> Store:
    return Store.open(store_settings(data_dir))


def state(store: Store) -> tuple[dict[str, int], Counter[str]]:
    """Each committed article's recorded chunk count, and the stored chunks per article id."""
    committed = {a: int(store.article_metadata(a)["chunks"]) for a in store.article_ids()}
    stored = Counter(c.article_id for c in store.iter_chunks())
    return committed, stored


def assert_whole(store: Store) -> set[str]:
    """Every committed article has exactly its chunks; returns the orphans' article ids."""
    committed, stored = state(store)
    for article_id, count in committed.items():
        assert stored[article_id] == count, f"article {article_id} is not whole"
        ordinals = sorted(c.ordinal for c in store.chunks_of(article_id))
        assert ordinals == list(range(count))
    return set(stored) - set(committed)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shortest articles of the MultiHop-RAG corpus (short: the runs stay brief)."""
    records = json.loads(MULTIHOP_CORPUS.read_text())
    records = sorted(records, key=lambda r: len(r.get("body") or ""))[:ARTICLES]
    path = tmp_path_factory.mktemp("slice") / "slice.json"
    path.write_text(json.dumps(records))
    return path


def test_killed_indexing_leaves_only_whole_articles(corpus: Path, tmp_path: Path,
                                                    encoder: Encoder) -> None:
    code, duration = run_index(corpus, tmp_path / "clean")
    assert code == 0
    clean = open_store(tmp_path / "clean")
    clean_articles, clean_chunks = clean.article_count(), clean.chunk_count()
    clean_per_article = state(clean)[0]
    assert clean_articles == ARTICLES

    interrupted, partial = 0, []
    # Moments from just after start-up (imports and the model take the first third or so; a kill
    # there finds nothing written) to the very end, where the last articles are committed.
    for number, fraction in enumerate(np.linspace(0.35, 0.97, KILLS)):
        data_dir = tmp_path / f"killed-{number}"
        code, took = run_index(corpus, data_dir, kill_after=duration * float(fraction))
        interrupted += code == -signal.SIGKILL
        if code == 0:  # the machine got faster (other load): time the later kills by this run
            duration = took
        store = open_store(data_dir)
        orphans = assert_whole(store)
        orphan_chunks = [c for c in store.iter_chunks() if c.article_id in orphans]
        # A group holds fewer than GROUP_CHUNKS chunks before its last article.
        assert len(orphan_chunks) < GROUP_CHUNKS + max(clean_per_article.values()), \
            "at most the group being written can lack its records"
        if orphans:
            # Invisible to search: neither in the lexical index nor among dense hits.
            retriever = Retriever(store, encoder, store_settings(data_dir))
            assert not orphans & {c.article_id for c in retriever.lexical.chunks}
            for article_id in orphans:
                orphan = next(c for c in orphan_chunks if c.article_id == article_id)
                hits = retriever.search(orphan.text[:300], top_k=10).hits
                assert not orphans & {h.chunk.article_id for h in hits}
        if 0 < store.article_count() < ARTICLES:
            partial.append((store.article_count(), len(orphans), data_dir))
        else:
            assert store.repair() == len(orphan_chunks)  # counted before repair
            assert not assert_whole(store)
    assert interrupted >= 1, f"no run was still going when killed (a clean run took {duration})"

    # Re-run over the most advanced interrupted store (orphans left in place: the re-run
    # rewrites the same chunk ids, so nothing is duplicated) and compare with the clean run.
    data_dir = max(partial, key=lambda p: p[:2])[2] if partial else tmp_path / "killed-0"
    assert run_index(corpus, data_dir)[0] == 0
    store = open_store(data_dir)
    assert not assert_whole(store)
    assert (store.article_count(), store.chunk_count()) == (clean_articles, clean_chunks)
    assert sorted(store.article_ids()) == sorted(clean.article_ids())
    for data_dir in [p[2] for p in partial]:  # every other partial store repairs cleanly
        store = open_store(data_dir)
        store.repair()
        assert not assert_whole(store)
