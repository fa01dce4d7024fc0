"""Concurrent queries encoded together: one model call for every query waiting at that moment.

On 2 cores MiniLM encodes a batch of 16 short queries in little more than the time of one, while
16 requests encoding one query each at once fight over the same cores. So a request thread that
needs a query vector joins a queue; if no batch is being encoded, it takes everything waiting (up
to ``max_batch``) and encodes it for all of them, then hands the queue to the next waiting thread.
A lone request is its own batch straight away (no collection window unless ``window_s`` is set),
so it pays nothing for this; under load, the queries that arrive during one encode form the next.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future

import numpy as np

from rag.core.observability import metrics


class QueryBatcher:
    """Leader-follower batching: no thread of its own; waiting request threads take turns encoding."""

    def __init__(
        self,
        encode: Callable[[list[str]], np.ndarray],
        max_batch: int = 64,
        window_s: float = 0.0,
        record: bool = False,
    ) -> None:
        self.encode = encode
        self.record = record  # count batches in /metrics
        self.max_batch = max_batch
        self.window_s = window_s
        self._queue: list[tuple[str, Future[np.ndarray]]] = []
        self._turn = threading.Condition()
        self._busy = False
        self.batches = 0  # model calls made, and the queries they carried (for /metrics)
        self.queries = 0

    def embed(self, text: str) -> np.ndarray:
        """The vector of ``text``, encoded in this thread or another's batch."""
        mine: Future[np.ndarray] = Future()
        with self._turn:
            self._queue.append((text, mine))
        while True:
            with self._turn:
                while self._busy and not mine.done():
                    self._turn.wait()
                if mine.done():
                    break
                self._busy = True
            try:
                if self.window_s:
                    time.sleep(self.window_s)  # let more queries join this batch
                with self._turn:
                    batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch :]
                self._run(batch)
            finally:
                with self._turn:
                    self._busy = False
                    self._turn.notify_all()
        return mine.result()

    def _run(self, batch: list[tuple[str, Future[np.ndarray]]]) -> None:
        texts = list(dict.fromkeys(t for t, _ in batch))  # the same query twice is encoded once
        try:
            vectors = dict(zip(texts, self.encode(texts), strict=True))
        except Exception as exc:  # noqa: BLE001 - every request of the batch hears of it, not only this one
            for _, future in batch:
                future.set_exception(exc)
            return
        self.batches += 1
        self.queries += len(batch)
        if self.record:
            metrics().query_batches.inc()
            metrics().query_batched.inc(len(batch))
        for text, future in batch:
            future.set_result(vectors[text])
