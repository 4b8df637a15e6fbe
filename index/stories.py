"""Syndicated copies: which stored story a new article is a lightly edited copy of, found by
MinHash signatures of its word shingles in an LSH index (datasketch), kept in step with the
store's article rows (docs/ingestion.md, "Syndicated copies").
"""

from __future__ import annotations

import base64
import functools
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from rag.schemas import Article
from rag.store import Store

if TYPE_CHECKING:
    from datasketch import LeanMinHash

# Chosen on the fit half of bench/syndication.py's synthetic set (docs/ingestion.md,
# "Syndicated copies"): words a shingle, and the estimated Jaccard similarity of two texts'
# shingle sets above which they are one story.
SHINGLE_WORDS = 4
THRESHOLD = 0.5
NUM_PERM = 128
SEED = 1
SCHEME = "affine32"  # datasketch's: signatures stored by one version are read by the next
_DTYPE = np.dtype("<u4")  # affine32 hash values, as stored
_WORD = re.compile(r"\w+")


def shingles(text: str, size: int = SHINGLE_WORDS) -> set[bytes]:
    """The text's word shingles (`size` words each, lower case, punctuation aside); a text
    shorter than one shingle is its one shingle of all its words."""
    words = _WORD.findall(text.lower())
    if len(words) <= size:
        return {" ".join(words).encode()} if words else set()
    return {" ".join(words[i : i + size]).encode() for i in range(len(words) - size + 1)}


def signature(text: str, size: int = SHINGLE_WORDS) -> LeanMinHash:
    """The MinHash signature of the text's shingles."""
    from datasketch import LeanMinHash, MinHash

    minhash = MinHash(num_perm=NUM_PERM, seed=SEED, scheme=SCHEME)
    minhash.update_batch(sorted(shingles(text, size)))
    return LeanMinHash(minhash)


def pack(minhash: LeanMinHash, size: int = SHINGLE_WORDS) -> str:
    """A signature of `size`-word shingles as text (`Article.signature`; the store keeps its
    values as bytes): "<size>:<hash values, base64>"."""
    values = base64.b64encode(np.asarray(minhash.hashvalues, dtype=_DTYPE).tobytes()).decode()
    return f"{size}:{values}"


def unpack(packed: str, size: int = SHINGLE_WORDS) -> LeanMinHash:
    """What `pack` wrote for shingles of `size` words; raises ValueError for text that is not
    such a signature (another shingle size's cannot be compared: the text is signed again)."""
    stated, _, encoded = packed.partition(":")
    if stated != str(size):
        raise ValueError(f"a signature of {stated}-word shingles, not {size}")
    values = np.frombuffer(base64.b64decode(encoded, validate=True), dtype=_DTYPE)
    if len(values) != NUM_PERM:
        raise ValueError(f"a signature of {len(values)} values, not {NUM_PERM}")
    from datasketch import LeanMinHash

    return LeanMinHash(seed=SEED, hashvalues=values.astype(np.uint64), scheme=SCHEME)


@dataclass(frozen=True)
class Held:
    """A stored article as the index knows it."""

    story_id: str
    minhash: LeanMinHash


class StoryIndex:
    """Every stored article's signature in an LSH index, with its story.

    One process's view of the store: `sync` brings it to the store's current articles (those
    written by another replica too, those deleted since), reading only the new rows'
    metadata; `assign` gives an article its story and holds it at once, so copies within one
    batch fold too.
    """

    def __init__(self, threshold: float = THRESHOLD, shingle_words: int = SHINGLE_WORDS) -> None:
        self.threshold = threshold
        self.shingle_words = shingle_words
        self._held: dict[str, Held] = {}

    @functools.cached_property
    def _index(self) -> Any:
        """The LSH index, made on first use: datasketch (with scipy) is slow to import, and a
        server that only answers questions never signs an article."""
        from datasketch import MinHashLSH

        return MinHashLSH(threshold=self.threshold, num_perm=NUM_PERM)

    def __len__(self) -> int:
        return len(self._held)

    def sync(self, store: Store) -> None:
        """Drop the articles no longer stored, add those stored since (their stored
        signature; one stored without, before stories were kept, is signed from its text and
        stands as its own story)."""
        stored = set(store.article_ids())
        for gone in [a for a in self._held if a not in stored]:
            self._forget(gone)
        new = sorted(stored - self._held.keys())
        unsigned: dict[str, str] = {}  # id: story
        signatures = store.article_signatures(new)
        for article_id, meta in store.stored_metadata(new).items():
            story_id = str(meta.get("story_id") or article_id)
            try:
                self._hold(article_id, Held(story_id, unpack(signatures.get(article_id, ""),
                                                             self.shingle_words)))
            except ValueError:
                unsigned[article_id] = story_id
        for article_id, text in store.article_texts(sorted(unsigned)).items():
            self._hold(article_id, Held(unsigned[article_id],
                                        signature(text, self.shingle_words)))

    def assign(self, article: Article) -> Article:
        """The article with its story id and signature: the story of the most similar held
        article at or above the threshold (its estimated Jaccard similarity, checked on the
        LSH index's candidates), else a story of its own (its id). The article is held from
        then on."""
        minhash = signature(article.text, self.shingle_words)
        story_id = article.id
        if article.id in self._held:
            story_id = self._held[article.id].story_id
        else:
            matches = [(minhash.jaccard(self._held[c].minhash), c)
                       for c in self._index.query(minhash)]
            matches = [m for m in matches if m[0] >= self.threshold]
            if matches:
                story_id = self._held[max(matches)[1]].story_id
            self._hold(article.id, Held(story_id, minhash))
        return article.model_copy(update={"story_id": story_id,
                                          "signature": pack(minhash, self.shingle_words)})

    def _hold(self, article_id: str, held: Held) -> None:
        self._held[article_id] = held
        self._index.insert(article_id, held.minhash, check_duplication=False)

    def _forget(self, article_id: str) -> None:
        del self._held[article_id]
        self._index.remove(article_id)
