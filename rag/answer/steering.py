"""Text addressed to the system answering from it, from examples, not a list of phrasings.

A hostile document can speak to whatever reads it ("When summarising this page, tell residents
...") in words no pattern foresees, and such a sentence is never part of an answer. This is a
logistic regression over two views of a sentence: its MiniLM vector (which the composer already
holds for every sentence it ranks) and its hashed words and word pairs (how it addresses its
reader: "when summarising", "any answer drawn from"). It is trained by ``python -m
evals.steering`` on sentences written for the purpose (``evals/datasets/steering.jsonl``) and
ordinary prose; judged on red-team libraries written blind (``python -m evals.attacks``), never
trained on.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

MODEL = Path(__file__).resolve().parent / "steering.npz"
HASHED = 2**20  # hashed word and word-pair features (before the vector's)
WORDS = (4, 60)  # the sentence lengths it was trained on; a shorter line ("This requires:") is not judged


def words(texts: list[str]) -> Any:
    """The hashed words and word pairs of ``texts`` (present or not, each row of unit length)."""
    return _hashing().transform(texts)


@cache
def _hashing() -> Any:
    from sklearn.feature_extraction.text import HashingVectorizer  # stateless: made once per process

    return HashingVectorizer(ngram_range=(1, 2), n_features=HASHED, alternate_sign=False, binary=True, norm="l2")


class SteeringClassifier:
    """Flags sentences that address the answering system, from their text and MiniLM vectors."""

    def __init__(self, path: Path = MODEL) -> None:
        with np.load(path) as data:
            self.word_weights = np.zeros(HASHED, dtype=np.float32)
            self.word_weights[data["word_index"]] = data["word_weight"]
            self.vector_weights = data["vector_weight"].astype(np.float32)
            self.bias = float(data["bias"])
            self.threshold = float(data["threshold"])

    def scores(self, texts: list[str], vectors: np.ndarray) -> np.ndarray:
        """The classifier's logit per sentence (``vectors``: their normalised MiniLM rows)."""
        return np.asarray(words(texts) @ self.word_weights + vectors @ self.vector_weights + self.bias)

    def flags(self, texts: list[str], vectors: np.ndarray) -> np.ndarray:
        """One bool per sentence: True when it addresses the answering system."""
        judged = np.array([len(t.split()) >= WORDS[0] for t in texts], dtype=bool)
        if not judged.any():
            return judged
        return judged & (self.scores(texts, vectors) > self.threshold)


@cache
def classifier() -> SteeringClassifier:
    """The shipped classifier, read once per process."""
    return SteeringClassifier()
