"""A saved snapshot's files read in place: the same bytes and arrays as reading them whole, and
the records and analysed texts a question reads never mapped into the process."""

from __future__ import annotations

import datetime as dt
import gc
import json
import os
import zipfile
from pathlib import Path

import bm25s
import numpy as np
import pytest

from rag import corpus as corpus_module
from rag import file_reads
from rag.corpus import RECORDS, Corpus
from rag.file_reads import ArrayRows, FileBytes, mapped_npz
from rag.lexical import TOKEN_VOCAB, LexicalIndex
from rag.schemas import Chunk


def chunks(n: int) -> list[Chunk]:
    out = []
    for i in range(n):
        text = (f"Harbour {i} strike talks resumed. Ledger {i * 7} reported the port's "
                f"pay offer. Outlet number {i % 5} said so.")
        first = text.index(".") + 1
        out.append(Chunk(id=f"article{i // 3}:{i % 3}", article_id=f"article{i // 3}",
                         ordinal=i % 3, text=text, start=0, end=len(text),
                         title=f"Talks {i // 3}", source=f"Outlet {i % 5}",
                         published=dt.date(2025, 1, 1 + i % 28),
                         sentences=((0, first), (first + 1, len(text)))))
    return out


def mapped_files() -> str:
    return Path("/proc/self/maps").read_text()


def test_file_bytes_read_spans_and_find_as_bytes_do(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    data = b"".join(f"<{i}:needle-{i % 7}>".encode() for i in range(3000))
    path = tmp_path / "records"
    path.write_bytes(data)
    read = FileBytes(path)
    assert len(read) == len(data)
    for begin, end in ((0, 10), (5, 5), (100, 4000), (len(data) - 3, len(data) + 50),
                       (-20, None), (9, 3)):
        assert read[begin:end] == data[begin:end]
    # Needles that straddle the blocks a scan reads.
    monkeypatch.setattr(file_reads, "SCAN_BYTES", 16)
    for needle, start in ((b"needle-3>", 0), (b"needle-3>", 200), (b"<2999:", 0),
                          (b"absent", 0), (b"<1", len(data) - 2), (b"", 7)):
        assert read.find(needle, start) == data.find(needle, start)
    assert b"".join(read.blocks()) == data
    offset = FileBytes(path, start=50, size=100)
    assert offset[0:100] == data[50:150] and offset.find(b"<") == data.find(b"<", 50) - 50
    with pytest.raises(ValueError):
        FileBytes(path, start=len(data) - 10, size=20)


def test_array_rows_are_the_slices_of_the_saved_array(tmp_path: Path) -> None:
    for dtype in (np.int32, np.uint16, np.int64):
        array = np.random.default_rng(3).integers(0, 30000, size=1001).astype(dtype)
        np.save(tmp_path / "a.npy", array)
        rows = ArrayRows(tmp_path / "a.npy")
        assert len(rows) == len(array) and rows.dtype == array.dtype
        for begin, end in ((0, 1), (17, 530), (990, 1001), (1000, 2000), (5, 5), (40, 3)):
            got = rows.slice(begin, end)
            np.testing.assert_array_equal(got, array[begin:end])
            assert got.dtype == array.dtype
    np.save(tmp_path / "b.npy", np.zeros((3, 2)))
    with pytest.raises(ValueError):
        ArrayRows(tmp_path / "b.npy")


def test_mapped_columns_equal_what_np_load_reads(tmp_path: Path) -> None:
    columns = {"ids": np.array(["a:0", "bb:1", "ccc:2"]), "day": np.arange(3, dtype=np.int32),
               "bounds": np.arange(6, dtype=np.int64).reshape(3, 2),
               "empty": np.zeros(0, dtype="<U1"), "flag": np.array([True, False, True])}
    for save in (np.savez, np.savez_compressed):
        save(tmp_path / "columns.npz", **columns)
        got = mapped_npz(tmp_path / "columns.npz")
        with np.load(tmp_path / "columns.npz") as loaded:
            assert set(got) == set(loaded.files)
            for name in loaded.files:
                assert got[name].dtype == loaded[name].dtype
                np.testing.assert_array_equal(got[name], loaded[name])
                assert got[name].flags.aligned


def test_an_aligned_column_stays_in_the_file(tmp_path: Path) -> None:
    """A member whose data lies aligned is an array over the file's map, not a copy."""
    with zipfile.ZipFile(tmp_path / "columns.npz", "w", zipfile.ZIP_STORED) as archive:
        for name in ("a.npy", "bcd.npy", "ef.npy"):  # some of the offsets will be aligned
            with archive.open(name, "w") as member:
                np.lib.format.write_array(member, np.arange(1000, dtype=np.int32))
    got = mapped_npz(tmp_path / "columns.npz")
    mapped = [name for name, array in got.items() if not array.flags.owndata]
    for array in got.values():
        np.testing.assert_array_equal(array, np.arange(1000, dtype=np.int32))
    assert mapped and all(not got[name].flags.writeable for name in mapped)


def test_a_loaded_corpus_reads_records_without_mapping_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(corpus_module, "SPAN_BLOCK", 7)  # runs copied in several blocks
    held = chunks(40)
    corpus = Corpus.from_chunks(held)
    corpus.save(tmp_path)
    loaded = Corpus.load(tmp_path)
    assert list(loaded) == held and loaded[7] == held[7]
    np.testing.assert_array_equal(loaded.ids, corpus.ids)
    assert loaded.positions(["article4:1", "nope:0"]).tolist() == [13, -1]
    assert loaded.positions_holding(b"Ledger 63 ") == [9]
    assert str(tmp_path / RECORDS) not in mapped_files()
    # Saved again (as an update would) and appended to, it holds the same records.
    again = tmp_path / "again"
    again.mkdir()
    Corpus.appended(loaded, chunks(43)[40:]).save(again)
    assert list(Corpus.load(again)) == chunks(43)
    kept = Corpus.merged(loaded, np.array([0, 1, 2, 5, 6, 30, 31]), chunks(45)[44:])
    assert list(kept) == [held[i] for i in (0, 1, 2, 5, 6, 30, 31)] + chunks(45)[44:]
    # Kept rows of a corpus appended to, on both sides of the join.
    grown = Corpus.appended(loaded, chunks(43)[40:])
    kept = Corpus.merged(grown, np.array([38, 39, 40, 42]), [])
    assert list(kept) == [chunks(43)[i] for i in (38, 39, 40, 42)]
    assert list(Corpus.merged(loaded, np.zeros(0, dtype=np.int64), held[:1])) == held[:1]


def test_loaded_texts_are_read_a_text_at_a_time_and_equal_the_built_ones(
        tmp_path: Path) -> None:
    held = chunks(30)
    index = LexicalIndex.of_chunks(held)
    index.chunks.save(tmp_path)
    index.save(tmp_path)
    loaded = LexicalIndex.load(tmp_path, Corpus.load(tmp_path))
    for row in range(len(held)):
        for got, built in zip(loaded.tokens.text(row), index.tokens.text(row), strict=True):
            np.testing.assert_array_equal(got, built)
            assert got.dtype == built.dtype
        assert loaded.sentence_terms(held[row]) == index.sentence_terms(held[row])
        assert loaded.terms_at(row) == index.terms_at(row)
    picked = loaded.tokens.select([3, 1, 29])
    for row, source in enumerate([3, 1, 29]):
        for got, built in zip(picked.text(row), index.tokens.text(source), strict=True):
            np.testing.assert_array_equal(got, built)


def test_a_loaded_index_s_vocabulary_is_the_one_bm25s_saved(tmp_path: Path) -> None:
    """The BM25 vocabulary is made from the analysed texts' terms, not read a second time:
    it is the very mapping bm25s wrote, and a vocabulary of another size is refused."""
    index = LexicalIndex.of_chunks(chunks(30))
    index.chunks.save(tmp_path)
    index.save(tmp_path)
    loaded = LexicalIndex.load(tmp_path, Corpus.load(tmp_path))
    saved = bm25s.BM25.load(tmp_path, mmap=True, show_progress=False)
    assert loaded._bm25.vocab_dict == saved.vocab_dict
    assert loaded._bm25.unique_token_ids_set == saved.unique_token_ids_set
    for question in ("harbour strike", "ledger 63", "outlet 4 pay"):
        np.testing.assert_array_equal(loaded.scores(question), index.scores(question))
    terms = json.loads((tmp_path / TOKEN_VOCAB).read_text())
    (tmp_path / TOKEN_VOCAB).write_text(json.dumps([*terms, "zeppelin"]))
    with pytest.raises(ValueError):
        LexicalIndex.load(tmp_path, Corpus.load(tmp_path))


def test_a_reader_no_longer_held_closes_its_file(tmp_path: Path) -> None:
    path = tmp_path / "records"
    path.write_bytes(b"{}" * 10)
    gc.collect()  # readers other tests dropped
    before = len(os.listdir("/proc/self/fd"))
    readers = [FileBytes(path) for _ in range(20)]
    assert len(os.listdir("/proc/self/fd")) == before + 20
    assert all(r[0:2] == b"{}" for r in readers)
    del readers
    gc.collect()
    assert len(os.listdir("/proc/self/fd")) == before


@pytest.mark.parametrize("advice", [True, False])
def test_reading_ahead_takes_each_file_within_the_budget_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, advice: bool) -> None:
    if not advice:  # as where the kernel offers no readahead advice: the files are read
        monkeypatch.delattr(os, "posix_fadvise")
    sizes = {"small": 10, "medium": 5000, "large": file_reads.ADVICE_BYTES + 123}
    for name, size in sizes.items():
        (tmp_path / name).write_bytes(os.urandom(size))
    paths = [tmp_path / "small", tmp_path / "large", tmp_path / "absent", tmp_path / "medium"]
    assert file_reads.read_ahead(paths, budget=1 << 30) == sum(sizes.values())
    # A file that would pass the budget is left out; those after it that fit are taken.
    assert file_reads.read_ahead(paths, budget=6000) == 5010
    assert file_reads.read_ahead(paths, budget=0) == 0


def test_the_page_cache_budget_is_a_share_of_the_memory_available() -> None:
    whole = file_reads.page_cache_budget(1.0)
    assert whole > 0  # Linux reports MemAvailable
    assert abs(file_reads.page_cache_budget(0.5) - whole // 2) < whole // 50
