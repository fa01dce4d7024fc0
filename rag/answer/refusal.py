"""The refusal gate's threshold, read off the library in use (one absolute cut, 0.257 chosen on our
five documents, let 28 of 60 off-topic questions past the gate on a 154-page service manual). A
question is answered only when its closest passage is nearer than everyday questions'
(``probes.txt``) typically are: their median plus ``refusal_spread`` median absolute deviations;
not the nearest probe, which a library may cover (the Berlin Wall, in State of the Union
addresses). Redone when the index reloads."""

from __future__ import annotations

import logging
import threading
from importlib import resources

import numpy as np

from rag.core.config import Settings
from rag.core.models import SearchResult
from rag.index.retrieval import SearchIndex

logger = logging.getLogger(__name__)


def probes() -> list[str]:
    text = resources.files("rag.answer").joinpath("probes.txt").read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip()]


def best_similarity(results: list[SearchResult]) -> float:
    """The closest passage's dense similarity to the question: the refusal gate's signal."""
    return max((r.dense_score or 0.0 for r in results), default=0.0)


class RefusalThreshold:
    """``settings.refusal_threshold`` when set; else the library's own, cached per loaded index."""

    def __init__(self, settings: Settings, index: SearchIndex) -> None:
        self.settings, self.index = settings, index
        self._lock, self._value = threading.Lock(), 0.0
        self._for: object = None  # the lexical index (replaced on every reload) the value was read from

    def __call__(self) -> float:
        if self.settings.refusal_threshold is not None:
            return self.settings.refusal_threshold
        with self._lock:
            if self._for is not (library := self.index.lexical):
                scores = np.array([best_similarity(self.index.search(q, self.settings.answer_k)) for q in probes()])
                middle = float(np.median(scores))  # how near everyday questions typically come
                self._value = round(middle + self.settings.refusal_spread * float(np.median(abs(scores - middle))), 4)
                self._for = library
                logger.info("refusal threshold for this library: %.4f (%d probes)", self._value, len(scores))
        return self._value
