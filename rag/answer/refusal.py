"""The refusal gate's threshold, calibrated per library on questions no policy library answers.

How close a question must come to the library before it is worth answering depends on the
library: broad guidance sits nearer to any question than five essays do, so an absolute cut
chosen on one library refuses covered questions on another and answers off-topic ones
(0.257, chosen on our five documents, let 8 of 40 everyday questions through on a 133-page
service manual). So the cut is read off the library itself: the probes (``probes.txt``,
everyday questions written before any library was looked at) are searched as a question would
be, and a question is answered only when its closest passage is nearer than ``quantile`` of
the probes' closest passages: no nearer than unrelated questions come is no evidence. It is
worked out again when the library changes (the index reloads) and costs one search per probe.
"""

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
    """The calibration questions, one per line of ``probes.txt``."""
    text = resources.files("rag.answer").joinpath("probes.txt").read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip()]


def best_similarity(results: list[SearchResult]) -> float:
    """The closest passage's dense similarity to the question: the refusal gate's signal."""
    return max((r.dense_score or 0.0 for r in results), default=0.0)


class RefusalThreshold:
    """``settings.refusal_threshold`` when set; else the library's own, cached per loaded index."""

    def __init__(self, settings: Settings, index: SearchIndex) -> None:
        self.settings = settings
        self.index = index
        self._lock = threading.Lock()
        self._for: object = None  # the lexical index the cached value was read from
        self._value = 0.0

    def __call__(self) -> float:
        if self.settings.refusal_threshold is not None:
            return self.settings.refusal_threshold
        library = self.index.lexical  # replaced whenever the index reloads
        if self._for is library:
            return self._value
        with self._lock:
            if self._for is not library:
                self._value = self.calibrate()
                self._for = library
        return self._value

    def calibrate(self) -> float:
        """The ``refusal_quantile`` of the probes' gate signals over the library as it is now."""
        scores = [best_similarity(self.index.search(q, self.settings.answer_k)) for q in probes()]
        value = round(float(np.quantile(scores, self.settings.refusal_quantile)), 4) if scores else 0.0
        logger.info("refusal threshold for this library: %.4f (%d probes)", value, len(scores))
        return value
