"""Concurrent requests' queries are encoded together (real servers on one data dir, real HTTP):
the same results and answers as one query at a time, in fewer model calls."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.api.conftest import ADMIN, READER, Server, start_server, stop
from tests.conftest import REPO


@pytest.fixture(scope="module")
def unbatched(api: Server) -> Iterator[Server]:
    """A second server on the same data dir, each query encoded alone."""
    server = start_server(api.root, ingest=False, POLICYRAG_API_KEYS=READER, POLICYRAG_QUERY_BATCH_MAX="0")
    yield server
    stop(server)


def dev_cases() -> list[dict[str, Any]]:
    lines = (REPO / "evals" / "datasets" / "dev.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def counter(server: Server, name: str) -> float:
    with server.client(ADMIN) as c:
        text = c.get("/metrics").text
    found = re.search(rf"^{name}_total (\S+)$", text, flags=re.M)
    return float(found.group(1)) if found else 0.0


def concurrently(server: Server, path: str, bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    def post(body: dict[str, Any]) -> dict[str, Any]:
        with server.client() as c:
            r = c.post(path, json=body)
            r.raise_for_status()
            return dict(r.json())

    with ThreadPoolExecutor(16) as pool:
        return list(pool.map(post, bodies))


def test_concurrent_searches_share_model_calls_and_each_gets_its_own_results(api: Server, unbatched: Server) -> None:
    bodies = [{"query": f"{c['question']} (search)", "k": 5} for c in dev_cases()[:48]]
    batches, queries = counter(api, "policyrag_query_batches"), counter(api, "policyrag_query_batched")
    together = concurrently(api, "/v1/search", bodies)
    batched = counter(api, "policyrag_query_batched") - queries
    assert batched == len(bodies), "every query was encoded by a batch"
    assert counter(api, "policyrag_query_batches") - batches < batched, "some queries shared a model call"
    with unbatched.client() as c:
        alone = [c.post("/v1/search", json=b).json() for b in bodies]
    for got, expected in zip(together, alone, strict=True):
        assert [h["chunk_id"] for h in got["results"]] == [h["chunk_id"] for h in expected["results"]]
        assert [h["score"] for h in got["results"]] == pytest.approx([h["score"] for h in expected["results"]])


def test_answers_to_the_development_set_are_the_same_with_batching_on_and_off(api: Server, unbatched: Server) -> None:
    bodies = [{"question": c["question"], "history": c.get("history") or []} for c in dev_cases()]
    together = concurrently(api, "/v1/ask", bodies)
    with unbatched.client() as c:
        alone = [c.post("/v1/ask", json=b).json() for b in bodies]
    differ = [b["question"] for b, x, y in zip(bodies, together, alone, strict=True) if x["answer"] != y["answer"]]
    assert not differ, differ
