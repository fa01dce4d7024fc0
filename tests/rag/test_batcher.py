"""The query batcher on its own, with a stand-in encoder (unit tests only)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from rag.index.batcher import QueryBatcher


class SlowEncoder:
    """Encodes a text as its length, taking a while per call, and records each call's batch."""

    def __init__(self, seconds: float = 0.02, fail_on: str = "") -> None:
        self.seconds = seconds
        self.fail_on = fail_on
        self.calls: list[list[str]] = []
        self._lock = threading.Lock()

    def __call__(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            self.calls.append(list(texts))
        time.sleep(self.seconds)
        if self.fail_on in texts:
            raise RuntimeError("the model fell over")
        return np.asarray([[float(len(t))] for t in texts], dtype=np.float32)


def test_a_lone_query_is_encoded_at_once_in_its_own_call() -> None:
    encoder = SlowEncoder(seconds=0.0)
    batcher = QueryBatcher(encoder)
    assert batcher.embed("abc")[0] == 3.0
    assert encoder.calls == [["abc"]]


def test_concurrent_queries_share_calls_and_each_gets_its_own_vector() -> None:
    encoder = SlowEncoder()
    batcher = QueryBatcher(encoder, max_batch=8)
    texts = ["x" * n for n in range(1, 41)]
    with ThreadPoolExecutor(16) as pool:
        got = list(pool.map(batcher.embed, texts))
    assert [float(v[0]) for v in got] == [float(len(t)) for t in texts]
    assert sorted(t for call in encoder.calls for t in call) == sorted(texts), "each query encoded once"
    assert len(encoder.calls) < len(texts) and max(len(c) for c in encoder.calls) <= 8


def test_a_failed_call_reaches_every_query_of_its_batch_and_the_next_call_works() -> None:
    encoder = SlowEncoder(seconds=0.3, fail_on="bad")
    batcher = QueryBatcher(encoder)
    gate = threading.Event()

    def first() -> np.ndarray:
        gate.set()
        return batcher.embed("slow one")

    with ThreadPoolExecutor(3) as pool:
        lead = pool.submit(first)
        gate.wait()
        time.sleep(0.005)  # while "slow one" is being encoded, two queries queue for the next call
        bad, good = pool.submit(batcher.embed, "bad"), pool.submit(batcher.embed, "good")
        assert lead.result()[0] == 8.0
        for waiting in (bad, good):
            with pytest.raises(RuntimeError, match="fell over"):
                waiting.result()
    assert batcher.embed("fine")[0] == 4.0
