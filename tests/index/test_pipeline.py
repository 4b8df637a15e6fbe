"""Ingestion: idempotent by content hash, edits replace, bad files skipped with reasons."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from api.services import Services
from index.load import Document
from rag.sentence_vectors import sentence_texts
from support import EXAMPLES, make_services


class CountingEncoder:
    """The real encoder, counting how many texts it is asked to embed."""

    def __init__(self, encoder) -> None:
        self._encoder = encoder
        self.name, self.dimensions = encoder.name, encoder.dimensions
        self.texts = 0

    def embed(self, texts: list[str]) -> np.ndarray:
        self.texts += len(texts)
        return self._encoder.embed(texts)


def test_reindexing_an_unchanged_corpus_embeds_nothing(fresh_services: Services) -> None:
    counting = CountingEncoder(fresh_services.ingestor.encoder)
    fresh_services.ingestor.encoder = counting
    first = fresh_services.ingestor.ingest_paths([EXAMPLES])
    # Each chunk, and each distinct sentence once (the corpus is one embedding group).
    chunks = list(fresh_services.engine.store.iter_chunks())
    sentences = {text for chunk in chunks for text in sentence_texts(chunk)}
    assert first.added and counting.texts == first.chunks_added + len(sentences)
    embedded = counting.texts
    second = fresh_services.ingestor.ingest_paths([EXAMPLES])
    assert counting.texts == embedded
    assert not second.added and second.chunks_added == 0
    assert len(second.unchanged) == len(first.added)
    assert "0 added" in second.summary()


def test_an_edited_file_replaces_only_its_article(fresh_services: Services,
                                                  tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(EXAMPLES, corpus)
    ingestor, store = fresh_services.ingestor, fresh_services.engine.store
    ingestor.ingest_paths([corpus])
    before_articles, before_chunks = store.article_count(), store.chunk_count()
    edited = corpus / "01_port_strike.txt"
    old_ids = set(store.article_ids(path=str(edited)))
    untouched = {a: [c.id for c in store.chunks_of(a)] for a in store.article_ids()
                 if a not in old_ids}
    edited.write_text(edited.read_text() + "\nThe union said talks would resume on Friday.\n")

    report = ingestor.ingest_paths([corpus])
    assert len(report.added) == 1 and set(report.removed) == old_ids
    assert store.article_count() == before_articles
    new_id = report.added[0].id
    assert set(store.article_ids(path=str(edited))) == {new_id}
    assert report.chunks_removed > 0
    assert store.chunk_count() == before_chunks - report.chunks_removed + report.chunks_added
    for article_id, chunk_ids in untouched.items():
        assert [c.id for c in store.chunks_of(article_id)] == chunk_ids


def test_bad_files_never_stop_a_batch(fresh_services: Services, tmp_path: Path) -> None:
    folder = tmp_path / "incoming"
    folder.mkdir()
    (folder / "good.txt").write_text(
        "Harbour pilots return to work\n\nPilots in Port Averin ended a two-day stoppage on "
        "Monday after the port authority agreed to review night-shift rosters.\n")
    (folder / "empty.txt").write_text("")
    (folder / "binary.txt").write_bytes(b"\x00\xff\x00")
    (folder / "latin1.md").write_bytes(b"\xff\xfe\x00\xd8")  # UTF-16, a broken surrogate
    (folder / "notes.docx").write_bytes(b"PK")
    (folder / "broken.json").write_text("[{")
    report = fresh_services.ingestor.ingest_paths([folder])
    assert [a.title for a in report.added] == ["Harbour pilots return to work"]
    skipped = {Path(path).name: reason for path, reason in report.skipped}
    assert set(skipped) == {"empty.txt", "binary.txt", "latin1.md", "notes.docx", "broken.json"}
    assert all(skipped.values())


def test_deleting_an_article_leaves_no_chunk_and_no_lexical_hit(fresh_services: Services) -> None:
    report = fresh_services.ingestor.ingest_paths([EXAMPLES])
    store, retriever = fresh_services.engine.store, fresh_services.engine.retriever
    (wildfire,) = [a for a in report.added if "Greywood" in (a.title or "")]
    question = "How many residents were evacuated because of the Greywood Hills wildfire?"
    assert wildfire.id in {h.chunk.article_id for h in retriever.search(question).hits}

    store.delete_article(wildfire.id)
    assert store.chunks_of(wildfire.id) == []
    retriever.refresh()
    lexical = retriever.lexical
    assert all(c.article_id != wildfire.id for c in lexical.chunks)
    assert all(h.chunk.article_id != wildfire.id for h in retriever.search(question).hits)


# ---- file identity: the real path, whatever its spelling ------------------------------------

STRIKE = ("Dockworkers at Port Averin walked off the job on Monday, {n} of them by the union's "
          "count, halting the loading of grain ships for the first time in nine years.\n")
FERRY = ("The Ostrel ferry line will add a night crossing from June, the operator said, after "
         "a summer in which queues for the last boat stretched past the harbour gates.\n")


def stored_texts(services: Services) -> list[str]:
    store = services.engine.store
    return sorted(store.get_article(a).text for a in store.article_ids())


def test_an_edit_replaces_its_file_however_the_path_is_spelled(
        fresh_services: Services, tmp_path: Path, monkeypatch) -> None:
    folder = tmp_path / "desk"
    folder.mkdir()
    story = folder / "strike.txt"
    ingestor = fresh_services.ingestor
    spellings = [(folder, Path(".")), (tmp_path, story.resolve()), (tmp_path, Path("desk"))]
    for number, (cwd, spelled) in enumerate(spellings):
        story.write_text(STRIKE.format(n=2500 + 100 * number))
        monkeypatch.chdir(cwd)
        report = ingestor.ingest_paths([spelled])
        assert len(report.added) == 1 and len(report.removed) == (1 if number else 0)
        assert stored_texts(fresh_services) == [STRIKE.format(n=2500 + 100 * number).strip()]
    (article,) = fresh_services.engine.store.list_articles()[0]
    assert article["path"] == str(story.resolve())


def test_a_renamed_and_edited_file_replaces_its_old_version(
        fresh_services: Services, tmp_path: Path) -> None:
    folder = tmp_path / "desk"
    folder.mkdir()
    (folder / "strike.txt").write_text(STRIKE.format(n=2500))
    (folder / "ferry.txt").write_text(FERRY)
    ingestor = fresh_services.ingestor
    old = {a.path: a.id for a in ingestor.ingest_paths([folder]).added}
    (folder / "strike.txt").rename(folder / "port-strike.txt")
    (folder / "port-strike.txt").write_text(STRIKE.format(n=2600))

    report = ingestor.ingest_paths([folder])
    assert report.removed == [old[str(folder / "strike.txt")]]
    assert report.missing == []
    assert stored_texts(fresh_services) == sorted([FERRY.strip(),
                                                   STRIKE.format(n=2600).strip()])


def test_a_renamed_file_keeps_its_article_under_the_new_path(
        fresh_services: Services, tmp_path: Path) -> None:
    folder = tmp_path / "desk"
    folder.mkdir()
    (folder / "ferry.txt").write_text(FERRY)
    ingestor = fresh_services.ingestor
    (article,) = ingestor.ingest_paths([folder]).added
    (folder / "ferry.txt").rename(folder / "night-ferry.txt")
    report = ingestor.ingest_paths([folder])
    assert [a.id for a in report.unchanged] == [article.id]
    assert [(a.id, fields) for a, fields in report.updated] == [(article.id, ["path"])]
    assert report.missing == [] and report.removed == []
    stored = fresh_services.engine.store.get_article(article.id)
    assert stored.path == str((folder / "night-ferry.txt").resolve())


def test_a_deleted_file_is_reported_and_pruned_on_request(
        fresh_services: Services, tmp_path: Path) -> None:
    folder = tmp_path / "desk"
    folder.mkdir()
    (folder / "strike.txt").write_text(STRIKE.format(n=2500))
    (folder / "ferry.txt").write_text(FERRY)
    ingestor, store = fresh_services.ingestor, fresh_services.engine.store
    ids = {Path(a.path).name: a.id for a in ingestor.ingest_paths([folder]).added}
    (folder / "ferry.txt").unlink()

    kept = ingestor.ingest_paths([folder])
    gone = str((folder / "ferry.txt").resolve())
    assert kept.missing == [(gone, ids["ferry.txt"])] and kept.pruned == []
    assert store.has_article(ids["ferry.txt"])
    # Another folder's run does not touch it.
    other = tmp_path / "other"
    other.mkdir()
    (other / "note.txt").write_text(FERRY.replace("June", "July"))
    assert ingestor.ingest_paths([other], prune=True).pruned == []

    pruned = ingestor.ingest_paths([folder], prune=True)
    assert pruned.pruned == [ids["ferry.txt"]] and not store.has_article(ids["ferry.txt"])
    assert store.has_article(ids["strike.txt"])


def test_paths_recorded_as_typed_by_earlier_versions_are_still_one_file(
        fresh_services: Services, tmp_path: Path, monkeypatch) -> None:
    """Stores written before paths were canonical hold them as typed (relative ones too)."""
    folder = tmp_path / "desk"
    folder.mkdir()
    story = folder / "strike.txt"
    story.write_text(STRIKE.format(n=2500))
    monkeypatch.chdir(tmp_path)
    ingestor = fresh_services.ingestor
    (old,) = ingestor.ingest_documents(
        [Document(text=STRIKE.format(n=2500), kind="text", path="desk/strike.txt")]).added
    story.write_text(STRIKE.format(n=2700))
    report = ingestor.ingest_paths([folder.resolve()])
    assert report.removed == [old.id]
    assert stored_texts(fresh_services) == [STRIKE.format(n=2700).strip()]


GOOD_STORY = ("Harbour pilots return to work\n\nPilots in Port Averin ended a two-day stoppage "
              "on Monday after the port authority agreed to review night-shift rosters.\n")


def record(title: str, text: str) -> str:
    return json.dumps({"title": title, "text": text, "source": "Northwind Wire"}) + "\n"


def test_one_huge_record_costs_only_itself(fresh_services: Services, tmp_path: Path) -> None:
    """A 20 MB text field beside a normal file: the normal file and the feed's other record
    are stored, the huge record is skipped with its reason."""
    folder = tmp_path / "incoming"
    folder.mkdir()
    (folder / "good.txt").write_text(GOOD_STORY)
    huge = "The council met again. " * (20_000_000 // 23)
    (folder / "feed.jsonl").write_text(
        record("Huge", huge) + record("Ferry fares", "Ferry fares rise by 4% on 1 May, the "
                                      "operator said on Tuesday."))
    (folder / "dump.json").write_text(json.dumps({"title": "Huge too", "text": huge}))
    report = fresh_services.ingestor.ingest_paths([folder])
    assert sorted(a.title for a in report.added) == ["Ferry fares",
                                                     "Harbour pilots return to work"]
    skipped = {Path(path).name: reason for path, reason in report.skipped}
    assert skipped["feed.jsonl"].startswith("line 1: line of 20,")
    assert skipped["dump.json"].startswith("file of 20,")
    assert all("RAG_MAX_FILE_BYTES" in reason for reason in skipped.values())


def test_an_article_over_the_limit_is_skipped_and_its_old_version_kept(
        encoder, tmp_path: Path) -> None:
    services = make_services(tmp_path / "store", encoder, max_article_chars=5_000)
    feed = tmp_path / "feed.jsonl"
    first = "The ferry operator raised fares by 4% on Tuesday. " * 10  # 500 characters
    feed.write_text(record("Ferry fares", first) + record("Pilots", GOOD_STORY))
    before = services.ingestor.ingest_paths([feed])
    assert len(before.added) == 2 and not before.skipped
    stored = set(services.engine.store.article_ids(path=str(feed)))

    feed.write_text(record("Ferry fares", first * 20) + record("Pilots", GOOD_STORY))
    report = services.ingestor.ingest_paths([feed])
    assert report.skipped == [(str(feed), "article 'Ferry fares': article text is 9,999 "
                                          "characters, over the limit of 5,000 "
                                          "(RAG_MAX_ARTICLE_CHARS)")]
    assert not report.removed  # a file that failed in part keeps what it had
    assert set(services.engine.store.article_ids(path=str(feed))) == stored


def test_a_document_that_fails_is_skipped_alone(fresh_services: Services) -> None:
    """A lone surrogate (JSON "\\ud800", as a client may post) cannot be stored as UTF-8."""
    documents = [Document(text="Pilots returned to work on Monday in Port Averin, the port "
                               "authority said.", kind="record", title="Pilots"),
                 Document(text="Broken \ud800 text about the ferry.", kind="record",
                          title="Broken", path="upload:broken.json")]
    report = fresh_services.ingestor.ingest_documents(documents)
    assert [a.title for a in report.added] == ["Pilots"]
    ((where, reason),) = report.skipped
    assert where == "upload:broken.json" and reason.startswith("UnicodeEncodeError: ")


def test_front_matter_title_wins_over_a_heading(fresh_services: Services,
                                                tmp_path: Path) -> None:
    path = tmp_path / "toll.md"
    path.write_text("---\ntitle: Voters reject the bridge toll\nsource: The Averin Ledger\n"
                    "date: 2025-04-02\n---\n## Results by district\n\nResidents of Port "
                    "Averin voted against the toll on Sunday, by a wide margin.\n")
    (added,) = fresh_services.ingestor.ingest_paths([path]).added
    assert (added.title, added.source, str(added.published)) == (
        "Voters reject the bridge toll", "The Averin Ledger", "2025-04-02")
    assert "title:" not in added.text and "Residents of Port Averin" in added.text
