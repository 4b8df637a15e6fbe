"""The scale benchmark's synthetic stores: copies with rare terms grow the lexical vocabulary as
Heaps' law says, and keep every word's offsets true."""

from __future__ import annotations

import re
from pathlib import Path

from bench.common import RareTerms, vocabulary
from index.chunk import chunk_article
from index.load import read_file
from rag.schemas import Article, Chunk

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "articles"
WORD = re.compile(r"\w+")


def _articles() -> list[tuple[Article, list[Chunk]]]:
    out = []
    for path in sorted(EXAMPLES.glob("*.txt"))[:4]:
        document = read_file(path)[0]
        article = Article(id=path.stem, text=document.text, title=document.title)
        out.append((article, chunk_article(article, chunk_tokens=64, overlap=8)))
    return out


def test_copies_bring_the_vocabulary_heaps_law_expects_with_offsets_unchanged() -> None:
    originals = _articles()
    base = [c for _, chunks in originals for c in chunks]
    terms, _, known = vocabulary(base)
    rare = RareTerms(len(base), terms, set(known))
    everything, swapped = list(base), 0
    for copy in range(6):
        for article, chunks in originals:
            text = rare.rewrite(article.text, chunks)
            old_words = [(m.span(), m.group()) for m in WORD.finditer(article.text)]
            new_words = [(m.span(), m.group()) for m in WORD.finditer(text)]
            assert [s for s, _ in new_words] == [s for s, _ in old_words]  # same spans
            for (_, old), (_, new) in zip(old_words, new_words, strict=True):
                if old != new:
                    swapped += 1
                    assert re.fullmatch(r"[A-Z][bdfgklmnprtvzaiou]+", new), new
            everything += [c.model_copy(update={"id": f"{c.id}:{copy}",
                                                "text": text[c.start:c.end]}) for c in chunks]
    assert swapped == rare.generated > 0
    grown = vocabulary(everything)[0]
    assert grown == rare.target(len(everything)) == terms + rare.generated
