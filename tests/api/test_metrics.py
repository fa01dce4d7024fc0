"""``/metrics`` as Prometheus would scrape it, from a real ``policyrag serve``: parsed with
prometheus-client's own parser, before and after the requests it should count."""

from __future__ import annotations

import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.api.conftest import ADMIN, Server, start_server, stop

OUT_OF_SCOPE = "What is the boiling point of liquid nitrogen?"
UPLOAD = b"---\ntitle: Parish pump notes\n---\n\n# Notes\n\nThe parish council ran a repair cafe in the old library.\n"


def scrape(server: Server, key: str | None = ADMIN) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of one scrape, by name and labels."""
    with server.client(key) as c:
        r = c.get("/metrics")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def value(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_one_ask_moves_the_request_counter_stage_histograms_and_refusals(api: Server) -> None:
    before = scrape(api)
    with api.client() as c:
        r = c.post("/v1/ask", json={"question": OUT_OF_SCOPE})
    assert r.status_code == 200 and r.json()["refused"], r.text
    reason = r.json()["refusal_reason"]
    after = scrape(api)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("policyrag_http_requests_total", method="POST", route="/v1/ask", status="200") == 1
    assert moved("policyrag_http_request_duration_seconds_count", method="POST", route="/v1/ask", status="200") == 1
    for stage in ("retrieve", "gate", "generate", "verify", "total"):
        assert moved("policyrag_stage_duration_seconds_count", stage=stage) == 1, stage
    assert moved("policyrag_refusals_total", reason=reason) == 1
    assert moved("policyrag_answers_total", mode=r.json()["mode"], generator="extractive") == 1
    # the previous scrape is itself counted, under its route template
    assert value(after, "policyrag_http_requests_total", method="GET", route="/metrics", status="200") >= 1
    # nothing else runs while /metrics (outside the gate) is scraped: the gauge is there, at zero
    assert ("policyrag_admission_active", ()) in after and value(after, "policyrag_admission_active") == 0
    assert ("policyrag_answers_active", ()) in after and value(after, "policyrag_answers_active") == 0


def test_an_answer_reads_the_sentence_vectors_ingest_stored_and_the_caches_show_their_size(api: Server) -> None:
    before = scrape(api)
    with api.client() as c:
        r = c.post("/v1/ask", json={"question": "What did the Mayor of Bogota ask residents for? (metrics)"})
    assert r.status_code == 200 and not r.json()["refused"], r.text
    after = scrape(api)
    read = value(after, "policyrag_sentence_vectors_total", event="read")
    assert read - value(before, "policyrag_sentence_vectors_total", event="read") > 0
    assert value(after, "policyrag_sentence_vectors_total", event="encoded") == 0  # ingest had stored them all
    assert value(after, "policyrag_query_batched_total") >= value(after, "policyrag_query_batches_total") >= 1
    for cache in ("queries", "sentence_docs"):
        entries, limit = (
            value(after, "policyrag_cache_entries", cache=cache),
            value(after, "policyrag_cache_limit", cache=cache),
        )
        assert 1 <= entries <= limit, cache


def test_an_upload_moves_the_ingest_counters_and_a_404_is_one_label(api: Server) -> None:
    before = scrape(api)
    with api.client(ADMIN) as admin:
        r = admin.post("/v1/documents", files={"file": ("pump.md", UPLOAD, "text/markdown")})
        assert r.status_code in (200, 201), r.text
        for n in range(3):
            assert admin.get(f"/v1/documents/no-such-doc-{n}").status_code == 404
            assert admin.get(f"/no/such/path/{n}").status_code == 404
    after = scrape(api)
    assert (
        value(after, "policyrag_ingest_documents_total", outcome="ingested")
        - value(before, "policyrag_ingest_documents_total", outcome="ingested")
        == 1
    )
    assert value(after, "policyrag_ingest_chunks_total", change="added") > value(
        before, "policyrag_ingest_chunks_total", change="added"
    )
    # route templates, not paths: three missing documents are one series, unmatched paths another
    assert (
        value(after, "policyrag_http_requests_total", method="GET", route="/v1/documents/{doc_id}", status="404") == 3
    )
    assert value(after, "policyrag_http_requests_total", method="GET", route="unmatched", status="404") == 3


def test_metrics_need_an_admin_key_when_keys_are_set(api: Server) -> None:
    with api.client(None) as anonymous, api.client() as reader:
        assert anonymous.get("/metrics").status_code == 401
        assert reader.get("/metrics").status_code == 403


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = start_server(tmp_path_factory.mktemp("metrics2"), workers=2)
    yield server
    stop(server)


def _pids(log: Path) -> set[str]:
    return set(re.findall(r"POST /v1/search 200 .* pid=(\d+)", log.read_text(errors="replace")))


@pytest.mark.slow
def test_with_two_workers_every_workers_requests_are_counted(two_workers: Server) -> None:
    sent = 0

    def search(n: int) -> int:
        r = httpx.post(f"{two_workers.url}/v1/search", json={"query": f"shared value case {n}", "k": 3}, timeout=60)
        return r.status_code

    with ThreadPoolExecutor(8) as pool:
        while len(_pids(two_workers.log)) < 2 and sent < 400:  # until both workers have answered some
            assert set(pool.map(search, range(sent, sent + 16))) == {200}
            sent += 16
    assert len(_pids(two_workers.log)) == 2, "the kernel sent every request to one worker"
    for _ in range(4):  # whichever worker answers the scrape, it reports both workers' requests
        samples = scrape(two_workers, None)
        assert value(samples, "policyrag_http_requests_total", method="POST", route="/v1/search", status="200") == sent
