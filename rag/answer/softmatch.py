"""Word-level soft matching (BERTScore's recall over the embedding model's contextual word pieces):
what credits "success should be measured by the impact" for "how should I judge whether it is
working?", which neither the sentence vector nor shared words see."""

from __future__ import annotations

import re

import numpy as np

from rag.core.text import function_words
from rag.index.embeddings import TokenVectors

SUBJECT_PIECE = re.compile(r"^[a-z]{3,}")  # a word piece that can carry a subject (not "##s", "-", "of")


def subject_vectors(question: TokenVectors) -> np.ndarray:
    """The vectors of the question's word pieces that can carry its subject: not function words,
    not sub-word endings; the letters of a name joined by "&" ("B&Q") count."""
    stop, pieces = function_words(), question.pieces
    joined = {i for i, p in enumerate(pieces) if p == "&"}
    keep = [i for i, p in enumerate(pieces)
            if (SUBJECT_PIECE.match(p) and p not in stop) or (p.isalpha() and {i - 1, i + 1} & joined)]  # fmt: skip
    return (question.vectors[keep] if keep else question.vectors).astype(np.float32)


def soft_overlap(rows: np.ndarray, text: TokenVectors) -> float:
    """How closely ``text`` matches the question word by word: the mean, over the question's
    subject words (``rows``, from ``subject_vectors``), of the cosine to the closest contextual
    word piece of ``text`` (BERTScore's recall). It credits what neither the sentence vector nor
    shared words see: "how should I judge whether it is working?" against "success should be
    measured by the impact"."""
    if not len(rows) or not len(text.vectors):
        return 0.0
    return float((rows @ text.vectors.astype(np.float32).T).max(axis=1).mean())
