"""`rag migrate`: a store written by an earlier release (texts as Chroma documents, sentence
vectors, chunk layouts and MinHash signatures in Chroma metadata) is moved to the current layout
in one command, answers the same, and takes less disk."""

from __future__ import annotations

import base64
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from earlier_layout import write_as_earlier_release

from api.cli import main
from index.stories import StoryIndex
from rag.config import Settings
from rag.snapshot import Snapshot
from rag.store import Store
from support import EXAMPLES

QUESTIONS = ["How many dockworkers walked off the job at Port Averin?",
             "What did the central bank decide about interest rates?",
             "Who said the flood barriers would hold?"]


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("RAG_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("RAG_API_KEY", raising=False)
    return tmp_path / "var"


def answers(capsys: pytest.CaptureFixture) -> list[tuple[str, list[str]]]:
    """Each question's answer and the chunk ids it cites, asked from a snapshot rebuilt from
    the store (none saved)."""
    found = []
    for question in QUESTIONS:
        assert main(["ask", question, "--json"]) == 0
        answer = json.loads(capsys.readouterr().out)
        found.append((answer["answer"], [c["chunk_id"] for c in answer["citations"]]))
    return found


def test_an_old_store_migrates_in_one_command(data_dir: Path,
                                              capsys: pytest.CaptureFixture) -> None:
    assert main(["index", str(EXAMPLES), "--quiet"]) == 0
    capsys.readouterr()
    store = Store.open(Settings(data_dir=data_dir, _env_file=None))
    built = Snapshot.build(store, store.revision())
    current = built.sentences.rows(range(len(built.corpus)))
    asked = answers(capsys)
    assert any(cited for _, cited in asked)

    # What an earlier release wrote: each chunk's packed vectors, base64, in its metadata, and
    # the texts of articles and chunks as their Chroma documents.
    chunks = list(store.iter_chunks())
    ids = [c.id for c in chunks]
    packed = store.sentences.get(ids)
    assert len(packed) == len(ids) > 10
    got = store._chunks.get(ids=ids, include=["embeddings"])
    store._chunks.update(ids=ids, embeddings=got["embeddings"], documents=[
        c.text for c in chunks], metadatas=[
        {"sentence_vectors": base64.b64encode(packed[i]).decode()} for i in ids])
    store.sentences.delete(ids)
    articles = store.article_ids()
    texts = store.article_texts(articles)
    got = store._articles.get(ids=articles, include=["embeddings"])
    store._articles.update(ids=got["ids"], embeddings=got["embeddings"],
                           documents=[texts[a] for a in got["ids"]])
    store.texts.delete(articles)
    database = data_dir / "chroma" / "chroma.sqlite3"
    old_size = database.stat().st_size
    shutil.rmtree(data_dir / "snapshots")
    assert answers(capsys) == asked  # read as it is, before migrating

    assert main(["migrate"]) == 0
    out = capsys.readouterr().out
    assert f"moved the texts of {len(articles)} articles" in out
    assert f"moved the sentence vectors of {len(ids)} chunks" in out
    sizes = re.search(r"chroma.sqlite3: ([\d,.]+) MB -> ([\d,.]+) MB", out)
    assert sizes and float(sizes[2].replace(",", "")) < float(sizes[1].replace(",", ""))
    assert database.stat().st_size < old_size
    metadata = store._chunks.get(ids=ids, include=["metadatas"])["metadatas"]
    assert not any("sentence_vectors" in m for m in metadata)
    assert store.sentences.get(ids) == packed
    assert store.article_texts(articles) == texts and store.texts.count() == len(articles)
    assert not any(store._chunks.get(ids=ids, include=["documents"])["documents"])
    assert not any(store._articles.get(ids=articles, include=["documents"])["documents"])
    assert [c.text for c in store.iter_chunks()] == [c.text for c in chunks]

    shutil.rmtree(data_dir / "snapshots")
    reopened = Store.open(Settings(data_dir=data_dir, _env_file=None))  # nothing cached
    built = Snapshot.build(reopened, reopened.revision())
    moved = built.sentences.rows(range(len(built.corpus)))
    for name in ("codes", "scales", "offsets"):
        np.testing.assert_array_equal(getattr(moved, name), getattr(current, name))
    assert answers(capsys) == asked

    assert main(["migrate"]) == 0
    again = capsys.readouterr().out
    assert "of 0 articles" in again and "of 0 chunks" in again


def who_said_what(capsys: pytest.CaptureFixture) -> tuple[list[dict], list[dict]]:
    """Every speaker, and the statements of the first, as `rag speakers` and `rag statements`
    print them."""
    assert main(["speakers", "--json"]) == 0
    speakers = json.loads(capsys.readouterr().out)
    quoted = [s for s in speakers if s["statements"]]
    assert quoted
    assert main(["statements", "--json", "--speaker", quoted[0]["name"]]) == 0
    return speakers, json.loads(capsys.readouterr().out)


def test_chunk_layouts_and_signatures_leave_chroma_metadata_in_one_command(
        data_dir: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    assert main(["index", str(EXAMPLES), "--quiet"]) == 0
    capsys.readouterr()
    store = Store.open(Settings(data_dir=data_dir, _env_file=None))
    chunks = [c for page, _ in store.committed_pages() for c in page]
    assert any(c.statements for c in chunks) and any(any(c.speakers) for c in chunks)
    asked, said = answers(capsys), who_said_what(capsys)

    ids, signatures = write_as_earlier_release(store)
    assert len(ids) == len(chunks) and len(signatures) == store.article_count()
    database = data_dir / "chroma" / "chroma.sqlite3"
    old_size = database.stat().st_size
    shutil.rmtree(data_dir / "snapshots")
    # Read as it is, before migrating: the same chunks, answers and statements.
    assert [c for page, _ in store.committed_pages() for c in page] == chunks
    assert answers(capsys) == asked and who_said_what(capsys) == said

    assert main(["migrate"]) == 0
    out = capsys.readouterr().out
    assert f"moved the layouts of {len(ids)} chunks" in out
    assert f"moved the signatures of {len(signatures)} articles" in out
    assert database.stat().st_size < old_size
    metadata = store._chunks.get(ids=ids, include=["metadatas"])["metadatas"]
    assert all(set(m) <= {"article_id", "source", "published_day", "story_id"}
               for m in metadata)
    assert not any("signature" in m for m in store.stored_metadata(store.article_ids()).values())

    shutil.rmtree(data_dir / "snapshots")
    reopened = Store.open(Settings(data_dir=data_dir, _env_file=None))
    assert [c for page, _ in reopened.committed_pages() for c in page] == chunks
    assert reopened.article_signatures(reopened.article_ids()) == signatures
    assert answers(capsys) == asked and who_said_what(capsys) == said
    # The stories index reads the moved signatures (no article is signed again from its text),
    # and a copy folds into its original's story.
    signed_again: list[str] = []
    texts = reopened.article_texts
    monkeypatch.setattr(reopened, "article_texts",
                        lambda ids: signed_again.extend(ids) or texts(ids))
    stories = StoryIndex()
    stories.sync(reopened)
    assert signed_again == []
    assert len(stories) == len(signatures)
    longest = max(reopened.article_ids(), key=lambda a: len(reopened.get_article(a).text))
    original = reopened.get_article(longest)
    copy = original.model_copy(update={"id": "copy", "text": original.text + " More later."})
    assert stories.assign(copy).story_id == (original.story_id or original.id)
    assert main(["migrate"]) == 0
    again = capsys.readouterr().out
    assert "layouts of 0 chunks" in again and "signatures of 0 articles" in again
