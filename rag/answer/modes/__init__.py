"""The answer mode from examples, not a regex: a small classifier over the embedding model we load.

    python -m rag.answer.modes          # retrain from questions.jsonl, report held-out accuracy, write weights.json

``questions.jsonl`` holds labelled questions (how-to, precedent, explain) written for this purpose,
none from the evaluation sets. The classifier is multinomial logistic regression on MiniLM's
normalised question vectors, fitted by plain gradient descent (deterministic: the same data and
model give the same weights). Its accuracy is measured on a fixed, stratified 20% held out from
training; the shipped weights are then fitted on every example. A question it is unsure of
(top probability under ``MIN_CONFIDENCE``) is answered as an explanation, the safe default.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from rag.answer.model import Mode

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
QUESTIONS = HERE / "questions.jsonl"
WEIGHTS = HERE / "weights.json"
LABELS = (Mode.howto, Mode.precedent, Mode.explain)
MIN_CONFIDENCE = 0.5
HOLDOUT = 0.2


class Encoder(Protocol):
    def embed_cached(self, texts: list[str]) -> np.ndarray: ...


def examples(path: Path = QUESTIONS) -> list[tuple[str, Mode]]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [(str(r["question"]), Mode(r["mode"])) for r in rows]


def data_hash(path: Path = QUESTIONS) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def fit(x: np.ndarray, y: np.ndarray, l2: float = 1e-3, steps: int = 800, rate: float = 2.0) -> np.ndarray:
    """Softmax regression weights ``(features + 1, classes)`` by full-batch gradient descent."""
    xb = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros((xb.shape[1], len(LABELS)))
    onehot = np.eye(len(LABELS))[y]
    for _ in range(steps):
        p = softmax(xb @ w)
        w -= rate * (xb.T @ (p - onehot) / len(x) + l2 * w)
    return w


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def split(labels: np.ndarray, holdout: float = HOLDOUT) -> tuple[np.ndarray, np.ndarray]:
    """Every fifth example of each class held out (stratified, no randomness)."""
    test = np.zeros(len(labels), dtype=bool)
    for k in range(len(LABELS)):
        idx = np.flatnonzero(labels == k)
        test[idx[:: round(1 / holdout)]] = True
    return np.flatnonzero(~test), np.flatnonzero(test)


def train(encoder: Encoder, path: Path = QUESTIONS) -> dict[str, Any]:
    data = examples(path)
    x = encoder.embed_cached([q for q, _ in data])
    y = np.array([LABELS.index(m) for _, m in data])
    tr, te = split(y)
    held = fit(x[tr], y[tr])
    predicted = softmax(np.hstack([x[te], np.ones((len(te), 1))]) @ held).argmax(axis=1)
    accuracy = float((predicted == y[te]).mean())
    weights = fit(x, y)
    return {
        "labels": [m.value for m in LABELS],
        "data_sha256_16": data_hash(path),
        "examples": len(data),
        "heldout": len(te),
        "heldout_accuracy": round(accuracy, 4),
        "heldout_errors": [data[i][0] for i, ok in zip(te, predicted == y[te], strict=True) if not ok],
        "min_confidence": MIN_CONFIDENCE,
        "weights": np.round(weights, 6).tolist(),
    }


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


def main() -> int:
    from rag.core.config import get_settings
    from rag.index.embeddings import embedder

    logging.basicConfig(level=logging.WARNING)
    report = train(embedder(get_settings()))
    WEIGHTS.write_text(json.dumps(report) + "\n", encoding="utf-8")
    summary = {k: v for k, v in report.items() if k != "weights"}
    log.warning("mode classifier: %s", json.dumps(summary, indent=2))
    return 0
