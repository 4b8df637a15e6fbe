"""Chunks: at most N tiktoken tokens, verbatim spans of the article, sentences inside them."""

from __future__ import annotations

import dataclasses
import json

import pytest

from index import chunk as chunking
from index.chunk import ArticleTooLong, chunk_article, sentence_pieces, sentence_spans
from index.speakers import attribute_speakers
from rag.schemas import Article, article_id_for
from rag.tokens import count_tokens
from support import EXAMPLES, MULTIHOP_CORPUS


def article(text: str) -> Article:
    return Article(id=article_id_for(text), text=text, title="T", source="S")


def sample_bodies(limit: int) -> list[str]:
    if not MULTIHOP_CORPUS.is_file():
        pytest.skip("MultiHop-RAG corpus not found in ../shared")
    return [row["body"] for row in json.loads(MULTIHOP_CORPUS.read_text())[:limit]]


@pytest.mark.parametrize("tokens", [64, 256])
def test_chunks_respect_the_token_limit_and_are_spans(tokens: int) -> None:
    for body in sample_bodies(40):
        item = article(body)
        chunks = chunk_article(item, chunk_tokens=tokens, overlap=16)
        assert chunks
        for position, chunk in enumerate(chunks):
            assert count_tokens(chunk.text) <= tokens
            assert chunk.text == item.text[chunk.start : chunk.end]
            assert chunk.id == f"{item.id}:{position}"


def test_chunks_cover_the_whole_article() -> None:
    body = "\n\n".join(f"Paragraph {i} says something about the port strike." for i in range(60))
    chunks = chunk_article(article(body), chunk_tokens=64, overlap=8)
    covered = set()
    for chunk in chunks:
        covered.update(range(chunk.start, chunk.end))
    words = [i for i, ch in enumerate(body) if not ch.isspace()]
    assert set(words) <= covered


def test_sentence_spans_know_abbreviations_and_quotes() -> None:
    text = ("Dr. Ana Ruiz arrived on Jan. 8 in the U.S. capital. “We will not back down,” "
            "she said.\nA new line starts a new sentence")
    sentences = [text[s:e] for s, e in sentence_spans(text)]
    assert sentences == [
        "Dr. Ana Ruiz arrived on Jan. 8 in the U.S. capital.",
        "“We will not back down,” she said.",
        "A new line starts a new sentence",
    ]


def test_one_long_paragraph_is_chunked_without_a_time_limit() -> None:
    """A megabyte with no line break: nltk punkt's regular expressions gave up on such text
    (a 5 s wall-clock limit); BlingFire's sentences do not time out."""
    sentence = "The port authority said on Monday that the night-shift rosters would change. "
    text = (sentence * (1_000_000 // len(sentence))).strip()
    item = article(text)
    chunks = chunk_article(item, chunk_tokens=256, overlap=32)
    assert len(chunks) > 900  # ~1,080 tokens a kilobyte, 224 new tokens a chunk
    covered = 0
    for chunk in chunks:
        assert chunk.text == text[chunk.start : chunk.end]
        assert chunk.start <= covered  # no gap between neighbours
        covered = chunk.end
        assert chunk.sentences and all(chunk.start <= s < e <= chunk.end
                                        for s, e in chunk.sentences)
    assert covered == len(text)


def test_an_article_over_the_limit_is_refused() -> None:
    with pytest.raises(ArticleTooLong, match=r"10,001 characters, over the limit of 10,000 "
                                             r"\(RAG_MAX_ARTICLE_CHARS\)"):
        chunk_article(article("x" * 10_001), max_chars=10_000)


def test_sentence_pieces_join_back_to_the_text() -> None:
    text = "\n\n  Dr. Ruiz arrived. She spoke!\nA new line\tand more.  "
    pieces = sentence_pieces(text)
    assert "".join(pieces) == text
    assert pieces[1:] == ["She spoke!\n", "A new line\tand more.  "]


def test_speakers_of_a_long_text_are_found_window_by_window(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Beyond a window's length (cut between paragraphs) speakers are resolved anew, at their
    article offsets: a story repeated after the first window is attributed as the first."""
    story = (EXAMPLES / "03_rate_decision_northwind.txt").read_text().strip()
    alone = attribute_speakers(story, sentence_spans(story))
    assert alone
    monkeypatch.setattr(chunking, "SPEAKER_WINDOW_CHARS", len(story) + 1)
    twice = story + "\n\n" + story
    found = list(chunking._speakers(twice, sentence_spans(twice)))
    shift = len(story) + 2
    assert found == alone + [dataclasses.replace(a, start=a.start + shift, end=a.end + shift)
                             for a in alone]


@pytest.mark.parametrize("tokens", [64, 256])
def test_chunk_offsets_cut_where_the_splitter_cuts(tokens: int) -> None:
    """Offsets come from llama-index's splits merged as its SentenceSplitter merges them: the
    chunk texts are exactly the splitter's own output."""
    splitter = chunking._splitter(tokens, min(32, tokens // 2))
    bodies = [*sample_bodies(40), "Short.", "  padded  ", "One, two,, three;; four. " * 300]
    for body in bodies:
        spans = chunking._chunk_spans(splitter, body)
        assert [body[start:end] for start, end in spans] == splitter.split_text(body)


def test_warm_up_loads_the_splitter_before_the_first_article() -> None:
    """In a new interpreter, so that nothing chunked before this test."""
    import subprocess
    import sys

    script = ("import sys\n"
              "from index.chunk import _splitter, warm_up\n"
              "assert 'llama_index.core' not in sys.modules\n"
              "warm_up(200, 20)\n"
              "assert 'llama_index.core' in sys.modules\n"
              "print(_splitter.cache_info().currsize)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, check=True)
    assert done.stdout.split() == ["1"]
