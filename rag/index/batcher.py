"""Concurrent requests' work done together: one call for every request waiting at that moment.

On 2 cores MiniLM encodes a batch of 16 short queries in little more than the time of one, and
Chroma answers 16 nearest-neighbour queries in one call in well under half the time of 16 calls
(each call holds the GIL), while 16 requests doing their own fight over the same cores. So a
request thread that needs the work done joins a queue; if no batch is running, it takes
everything waiting (up to ``max_batch``) and runs it for all of them, then hands the queue to the
next waiting thread. A lone request is its own batch straight away (no collection window unless
``window_s`` is set), so it pays nothing for this; under load, what arrives during one call forms
the next.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from typing import Generic, TypeVar

import numpy as np

from rag.core.observability import metrics

T = TypeVar("T", bound=Hashable)
R = TypeVar("R")


class Batcher(Generic[T, R]):
    """Leader-follower batching: no thread of its own; waiting request threads take turns running
    ``run`` (items → one result each, in order) over what is queued."""

    def __init__(self, run: Callable[[list[T]], list[R]], max_batch: int = 64, window_s: float = 0.0) -> None:
        self.run = run
        self.max_batch = max_batch
        self.window_s = window_s
        self._queue: list[tuple[T, Future[R]]] = []
        self._turn = threading.Condition()
        self._busy = False
        self.batches = 0  # calls made, and the items they carried
        self.items = 0

    def submit(self, item: T) -> R:
        """The result for ``item``, computed in this thread or another's batch."""
        mine: Future[R] = Future()
        with self._turn:
            self._queue.append((item, mine))
        while True:
            with self._turn:
                while self._busy and not mine.done():
                    self._turn.wait()
                if mine.done():
                    break
                self._busy = True
            try:
                if self.window_s:
                    time.sleep(self.window_s)  # let more requests join this batch
                with self._turn:
                    batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch :]
                self._run(batch)
            finally:
                with self._turn:
                    self._busy = False
                    self._turn.notify_all()
        return mine.result()

    def _run(self, batch: list[tuple[T, Future[R]]]) -> None:
        items = list(dict.fromkeys(t for t, _ in batch))  # the same item twice is done once
        try:
            results = dict(zip(items, self.run(items), strict=True))
        except Exception as exc:  # noqa: BLE001 - every request of the batch hears of it, not only this one
            for _, future in batch:
                future.set_exception(exc)
            return
        self.batches += 1
        self.items += len(batch)
        self.done(len(batch))
        for item, future in batch:
            future.set_result(results[item])

    def done(self, size: int) -> None:
        """Called after each batch of ``size`` requests (a subclass records it)."""


class QueryBatcher(Batcher[str, np.ndarray]):
    """Search queries encoded together (``encode``: texts → one row each)."""

    def __init__(
        self, encode: Callable[[list[str]], np.ndarray], max_batch: int = 64, window_s: float = 0.0,
        record: bool = False,
    ) -> None:  # fmt: skip
        super().__init__(lambda texts: list(encode(texts)), max_batch, window_s)
        self.record = record  # count batches in /metrics

    @property
    def queries(self) -> int:
        return self.items

    def embed(self, text: str) -> np.ndarray:
        return self.submit(text)

    def done(self, size: int) -> None:
        if self.record:
            metrics().query_batches.inc()
            metrics().query_batched.inc(size)
