"""The answer mode from examples, not a regex: a small classifier over the embedding model we load.

Multinomial logistic regression on MiniLM's normalised question vectors, trained by ``python -m
evals.modes`` on labelled questions written for this purpose (``evals/datasets/modes.jsonl``, none
from the evaluation sets), its accuracy measured on questions held out from training. A question it
is unsure of (top probability under ``MIN_CONFIDENCE``) is answered as an explanation, the safe
default.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from rag.answer.model import Mode

WEIGHTS = Path(__file__).resolve().parent / "modes.json"
LABELS = (Mode.howto, Mode.precedent, Mode.explain)
MIN_CONFIDENCE = 0.5


class Encoder(Protocol):
    def embed_cached(self, texts: list[str]) -> np.ndarray: ...


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


@dataclass
class ModeClassifier:
    """Picks how-to, precedent or explain for a question; unsure means explain."""

    encoder: Encoder
    path: Path = WEIGHTS

    def __post_init__(self) -> None:
        self._w: np.ndarray | None = None

    @property
    def weights(self) -> np.ndarray:
        if self._w is None:
            self._w = np.asarray(json.loads(self.path.read_text(encoding="utf-8"))["weights"])
        return self._w

    def probabilities(self, question: str) -> dict[Mode, float]:
        x = self.encoder.embed_cached([question])
        p = softmax(np.hstack([x, np.ones((1, 1))]) @ self.weights)[0]
        return {m: float(p[i]) for i, m in enumerate(LABELS)}

    def __call__(self, question: str) -> Mode:
        probs = self.probabilities(question)
        mode, p = max(probs.items(), key=lambda kv: kv[1])
        return mode if p >= MIN_CONFIDENCE else Mode.explain
