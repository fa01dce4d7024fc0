"""Train the answer-mode classifier (``rag.answer.modes``) and measure it on questions held out.

    python -m evals.modes      # fit, report held-out accuracy, write rag/answer/modes.json

The examples are ``evals/datasets/modes.jsonl``: labelled questions (how-to, precedent, explain)
written for this purpose, none from the evaluation sets. Softmax regression by plain full-batch
gradient descent (deterministic: the same data and model give the same weights). Its accuracy is
measured on a fixed, stratified 20% held out from training; the shipped weights are then fitted on
every example.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from rag.answer.model import Mode
from rag.answer.modes import LABELS, MIN_CONFIDENCE, WEIGHTS, Encoder, softmax

QUESTIONS = Path(__file__).resolve().parent / "datasets" / "modes.jsonl"
HOLDOUT = 0.2

log = logging.getLogger(__name__)


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


def main() -> int:
    from rag.core.config import get_settings
    from rag.index.embeddings import embedder

    logging.basicConfig(level=logging.WARNING)
    report = train(embedder(get_settings()))
    WEIGHTS.write_text(json.dumps(report) + "\n", encoding="utf-8")
    log.warning("mode classifier: %s", json.dumps({k: v for k, v in report.items() if k != "weights"}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
