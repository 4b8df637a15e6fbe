"""Sentence-aware chunks counted in tiktoken tokens, each with character offsets into its article
and the BlingFire sentences it holds. Breaks are llama-index's `SentenceSplitter`'s, merged here
from offsets, so a chunk's text is always `article.text[start:end]` (docs/ingestion.md,
"Chunks"; docs/operations.md, "Ingestion limits").
"""

from __future__ import annotations

import bisect
import functools
import itertools
from collections import deque
from collections.abc import Iterator
from dataclasses import replace
from typing import TYPE_CHECKING

from index.speakers import Attribution, attribute_speakers, statements_in
from rag.config import Settings
from rag.errors import NewsragError
from rag.schemas import Article, Chunk, article_id_for
from rag.sentences import sentence_spans
from rag.tokens import encoding

if TYPE_CHECKING:
    from llama_index.core.node_parser import SentenceSplitter

# The longest article text chunked by default (RAG_MAX_ARTICLE_CHARS).
MAX_ARTICLE_CHARS: int = Settings.model_fields["max_article_chars"].default
# Speakers are resolved within windows of about this many characters, cut between paragraphs:
# a news story fits in one, so its attributions are those of the whole text, while the cost of a
# huge text (many stories pasted together) stays linear in its length.
SPEAKER_WINDOW_CHARS = 200_000


class ArticleTooLong(NewsragError, ValueError):
    """An article over the size limit: chunking it would take unbounded time and memory."""

    code = "article_too_long"
    status = 413


def chunk_article(article: Article, chunk_tokens: int = 256, overlap: int = 32,
                  max_chars: int = MAX_ARTICLE_CHARS) -> list[Chunk]:
    """Split an article into chunks of at most `chunk_tokens` tokens, with article offsets.

    Raises `ArticleTooLong` when the text has more than `max_chars` characters.
    """
    text = article.text
    if len(text) > max_chars:
        raise ArticleTooLong(f"article text is {len(text):,} characters, over the limit of "
                             f"{max_chars:,} (RAG_MAX_ARTICLE_CHARS)")
    spans = _chunk_spans(_splitter(chunk_tokens, min(overlap, chunk_tokens // 2)), text)
    sentences = sentence_spans(text)
    starts = [start for start, _ in sentences]
    ends = [end for _, end in sentences]
    attributions = {(a.start, a.end): a for a in _speakers(text, sentences)}
    speakers = {span: a.speaker for span, a in attributions.items()}
    chunks: list[Chunk] = []
    for start, end in spans:
        # Sentences are in order and disjoint: those overlapping [start, end) are a slice.
        inside = sentences[bisect.bisect_right(ends, start) : bisect.bisect_left(starts, end)]
        clipped = [(max(s, start), min(e, end)) for s, e in inside]
        chunks.append(Chunk(
            id=f"{article.id}:{len(chunks)}", article_id=article.id, ordinal=len(chunks),
            text=text[start:end], start=start, end=end, title=article.title,
            source=article.source, published=article.published, url=article.url,
            sentences=tuple(clipped),
            speakers=tuple(speakers.get(span) for span in inside) if speakers else (),
            statements=statements_in(attributions, inside, clipped), story_id=article.story_id,
        ))
    return chunks


def warm_up(chunk_tokens: int = 256, overlap: int = 32) -> None:
    """Load what chunking uses (llama-index's splitter, the tokenizer, the sentence and
    speaker readers) by chunking a short text, so that the first article does not wait."""
    text = 'The council met on Monday. "We will vote next week," the mayor said.'
    chunk_article(Article(id=article_id_for(text), text=text, title="Warm-up"),
                  chunk_tokens, overlap)


def sentence_pieces(text: str) -> list[str]:
    """`text` cut before each sentence: pieces that join back to `text` exactly (the
    splitter's sentence tokenizer; leading spaces stay with the first piece)."""
    cuts = [start for start, _ in sentence_spans(text)][1:]
    return [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True) if a < b]


@functools.cache
def _splitter(chunk_tokens: int, overlap: int) -> SentenceSplitter:
    # Imported here, not at the top: llama-index is slow to import, and a server that only
    # answers questions never chunks (docs/benchmarks.md, "Cold start").
    from llama_index.core.node_parser import SentenceSplitter

    tokenizer = functools.partial(encoding().encode, disallowed_special=())
    return SentenceSplitter(chunk_size=chunk_tokens, chunk_overlap=overlap, tokenizer=tokenizer,
                            paragraph_separator="\n\n", chunking_tokenizer_fn=sentence_pieces)


def _chunk_spans(splitter: SentenceSplitter, text: str) -> list[tuple[int, int]]:
    """Where the splitter cuts `text` into chunks, as (start, end) offsets.

    The splitter's splits join back to the text, so each has an offset; they are merged as
    `SentenceSplitter._merge` merges them (a split goes into the current chunk while the
    budget allows, a sentence even beyond; a full chunk hands its last splits, up to the
    overlap, to the next), and each chunk's surrounding whitespace is trimmed as the splitter
    trims it. tests/index/test_chunk.py holds this to the splitter's own output.
    """
    if not text:
        return []
    splits = splitter._split(text, chunk_size=splitter.chunk_size)
    bounds = list(itertools.accumulate((len(split.text) for split in splits), initial=0))
    tokens = [split.token_size for split in splits]
    merged: list[tuple[int, int]] = []
    current: deque[int] = deque()  # the current chunk's splits
    length = 0  # its tokens
    fresh = True  # nothing added to it since the last chunk closed

    def close() -> None:
        nonlocal length, fresh
        merged.append((bounds[current[0]], bounds[current[-1] + 1]))
        last, length, fresh = list(current), 0, True
        current.clear()
        for index in reversed(last):  # the overlap: the last splits that fit in it
            if length + tokens[index] > splitter.chunk_overlap:
                break
            length += tokens[index]
            current.appendleft(index)

    index = 0
    while index < len(splits):
        size = tokens[index]
        if size > splitter.chunk_size:
            raise ValueError("a single token exceeds the chunk size")
        if length + size > splitter.chunk_size and not fresh:
            close()
            continue
        while fresh and current and length + size > splitter.chunk_size:
            length -= tokens[current.popleft()]  # less overlap, to make room
        if splits[index].is_sentence or length + size <= splitter.chunk_size or fresh:
            current.append(index)
            length, fresh, index = length + size, False, index + 1
        else:
            close()
    if not fresh:
        merged.append((bounds[current[0]], bounds[current[-1] + 1]))
    return [span for span in map(functools.partial(_trimmed, text), merged) if span]


def _trimmed(text: str, span: tuple[int, int]) -> tuple[int, int] | None:
    """`span` without the whitespace at its ends (as `str.strip`), or None when blank."""
    start, end = span
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if start < end else None


def _speakers(text: str, sentences: list[tuple[int, int]]) -> Iterator[Attribution]:
    """Speaker attributions in article offsets, resolved window by window: a window ends at the
    first line break after `SPEAKER_WINDOW_CHARS`, or inside a longer paragraph at a sentence."""
    starts = [start for start, _ in sentences]
    begin = 0
    while begin < len(sentences):
        offset = starts[begin]
        target = offset + SPEAKER_WINDOW_CHARS
        newline = text.find("\n", target, target + SPEAKER_WINDOW_CHARS)
        end = bisect.bisect_left(starts, target if newline < 0 else newline, lo=begin + 1)
        limit = starts[end] if end < len(sentences) else len(text)
        window = [(s - offset, e - offset) for s, e in sentences[begin:end]]
        for found in attribute_speakers(text[offset:limit], window):
            yield replace(found, start=found.start + offset, end=found.end + offset)
        begin = end
