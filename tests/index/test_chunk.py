"""Chunks: at most N tiktoken tokens, verbatim spans of the article, sentences inside them."""

from __future__ import annotations

import json

import pytest

from index.chunk import chunk_article, sentence_spans
from rag.schemas import Article, article_id_for
from rag.tokens import count_tokens
from support import MULTIHOP_CORPUS


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
