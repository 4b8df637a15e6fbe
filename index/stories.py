"""Syndicated copies: which stored story a new article is a lightly edited copy of, found by
MinHash signatures (datasketch) of its word shingles in a banded index (`index.bands`), kept in
step with the store's article rows (docs/ingestion.md, "Syndicated copies").
"""

from __future__ import annotations

import base64
import functools
import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from index.bands import BandIndex
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

log = logging.getLogger(__name__)


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
    from datasketch import LeanMinHash

    return LeanMinHash(seed=SEED, hashvalues=unpack_values(packed, size).astype(np.uint64),
                       scheme=SCHEME)


def unpack_values(packed: str, size: int = SHINGLE_WORDS) -> np.ndarray:
    """`unpack`'s hash values alone (uint32); raises ValueError as it does."""
    stated, _, encoded = packed.partition(":")
    if stated != str(size):
        raise ValueError(f"a signature of {stated}-word shingles, not {size}")
    values = np.frombuffer(base64.b64decode(encoded, validate=True), dtype=_DTYPE)
    if len(values) != NUM_PERM:
        raise ValueError(f"a signature of {len(values)} values, not {NUM_PERM}")
    return values


class StoryIndex:
    """Every stored article's signature in a banded index, with its story.

    One process's view of the store: `sync` brings it to the store's current articles (those
    written by another replica too, those deleted since), reading only the new rows'
    metadata; `assign` gives an article its story and holds it at once, so copies within one
    batch fold too.
    """

    def __init__(self, threshold: float = THRESHOLD, shingle_words: int = SHINGLE_WORDS) -> None:
        self.threshold = threshold
        self.shingle_words = shingle_words
        self._stories: dict[str, str] = {}  # article id: story id

    @functools.cached_property
    def _index(self) -> BandIndex:
        """The banded index, made on first use with datasketch's banding for the threshold
        (datasketch, with scipy, is slow to import: a server that only answers questions
        never signs an article)."""
        from datasketch import MinHashLSH

        lsh = MinHashLSH(threshold=self.threshold, num_perm=NUM_PERM)
        return BandIndex(lsh.b, lsh.r, NUM_PERM)

    def __len__(self) -> int:
        return len(self._stories)

    def sync(self, store: Store) -> int:
        """Drop the articles no longer stored, add those stored since (their stored
        signature; one stored without, before stories were kept, is signed from its text and
        stands as its own story). Returns how many articles were dropped or added."""
        stored = set(store.article_ids())
        gone = [a for a in self._stories if a not in stored]
        for article_id in gone:
            self._forget(article_id)
        new = sorted(stored - self._stories.keys())
        unsigned: dict[str, str] = {}  # id: story
        signed: dict[str, np.ndarray] = {}
        signatures = store.article_signatures(new)
        for article_id, meta in store.stored_metadata(new).items():
            story_id = str(meta.get("story_id") or article_id)
            try:
                signed[article_id] = unpack_values(signatures.get(article_id, ""),
                                                   self.shingle_words)
            except ValueError:
                unsigned[article_id] = story_id
                continue
            self._stories[article_id] = story_id
        for article_id, text in store.article_texts(sorted(unsigned)).items():
            self._stories[article_id] = unsigned[article_id]
            signed[article_id] = _values(signature(text, self.shingle_words))
        if signed:
            self._index.add(list(signed), np.stack(list(signed.values())))
        return len(gone) + len(new)

    def save(self, path: Path, identity: str) -> None:
        """Write what the index holds to `path` (atomically), for the store `identity` names
        (`Store.identity`): a restart then reads only the articles stored since (`restore`)."""
        keys = list(self._stories)
        values = self._index.signatures(keys)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.partial")
        with partial.open("wb") as file:
            np.savez(file, ids=np.array(keys, dtype=str),
                     stories=np.array([self._stories[k] for k in keys], dtype=str),
                     signatures=values, identity=np.array(identity),
                     shingle_words=np.array(self.shingle_words))
        partial.replace(path)

    def restore(self, path: Path, identity: str) -> bool:
        """Hold what `save` wrote to `path` for this same store and shingle size; False
        (holding nothing new) when there is no such file, or it is another store's, another
        shingle size's, or unreadable."""
        try:
            with np.load(path) as saved:
                if (str(saved["identity"]) != identity
                        or int(saved["shingle_words"]) != self.shingle_words):
                    return False
                ids, stories = saved["ids"].tolist(), saved["stories"].tolist()
                signatures = saved["signatures"]
        except (OSError, KeyError, ValueError) as error:
            log.info("no saved story index read from %s: %s", path, error)
            return False
        self._stories.update(zip(ids, stories, strict=True))
        if ids:
            self._index.add(ids, signatures)
        return True

    def assign(self, article: Article) -> Article:
        """The article with its story id and signature: the story of the most similar held
        article at or above the threshold (its estimated Jaccard similarity, checked on the
        index's candidates), else a story of its own (its id). The article is held from
        then on."""
        minhash = signature(article.text, self.shingle_words)
        values = _values(minhash)
        story_id = article.id
        if article.id in self._stories:
            story_id = self._stories[article.id]
        else:
            matches = [(_similarity(values, self._index.signature(c)), c)
                       for c in self._index.candidates(values)]
            matches = [m for m in matches if m[0] >= self.threshold]
            if matches:
                story_id = self._stories[max(matches)[1]]
        self._stories[article.id] = story_id
        self._index.add([article.id], values[None, :])
        return article.model_copy(update={"story_id": story_id,
                                          "signature": pack(minhash, self.shingle_words)})

    def _forget(self, article_id: str) -> None:
        del self._stories[article_id]
        self._index.remove(article_id)


def _values(minhash: LeanMinHash) -> np.ndarray:
    """A signature's hash values as stored (uint32)."""
    return np.asarray(minhash.hashvalues, dtype=_DTYPE)


def _similarity(first: np.ndarray, second: np.ndarray) -> float:
    """Two signatures' estimated Jaccard similarity (datasketch's `MinHash.jaccard`)."""
    return float(np.count_nonzero(first == second)) / float(len(first))
