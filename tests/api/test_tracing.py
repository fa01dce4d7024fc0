"""Tracing: a real ``policyrag serve`` exports its spans over OTLP/HTTP to a collector stub on
loopback (a plain HTTP server that records the protobuf posts); without an endpoint, nothing is
exported and no connection is attempted."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fastapi.testclient import TestClient
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from api.app import create_app
from rag.core import observability
from rag.index.retrieval import SearchIndex
from tests.api.conftest import Server, start_server, stop
from tests.api.test_app import services

STAGES = ["retrieve", "gate", "generate", "verify"]
CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


class Collector(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Receiver)
        self.requests: list[ExportTraceServiceRequest] = []
        self.paths: list[str] = []

    def spans(self) -> list[Any]:
        return [s for r in self.requests for rs in r.resource_spans for ss in rs.scope_spans for s in ss.spans]


class Receiver(BaseHTTPRequestHandler):
    server: Collector

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        self.server.paths.append(self.path)
        self.server.requests.append(request)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def collector() -> Iterator[Collector]:
    server = Collector()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()


@pytest.fixture(scope="module")
def traced(tmp_path_factory: pytest.TempPathFactory, collector: Collector) -> Iterator[Server]:
    endpoint = f"http://127.0.0.1:{collector.server_address[1]}"
    server = start_server(
        tmp_path_factory.mktemp("traced"), OTEL_EXPORTER_OTLP_ENDPOINT=endpoint, OTEL_BSP_SCHEDULE_DELAY="100"
    )
    yield server
    stop(server)


def test_one_ask_is_one_trace_with_a_span_per_stage(traced: Server, collector: Collector) -> None:
    headers = {"traceparent": f"00-{CALLER_TRACE}-00f067aa0ba902b7-01"}  # the caller's trace, joined
    with traced.client() as c:
        r = c.post("/v1/ask", json={"question": "Who set up the Zero Carbon Hub?"}, headers=headers)
    assert r.status_code == 200 and not r.json()["refused"]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not any(s.name == "policyrag.answer" for s in collector.spans()):
        time.sleep(0.2)
    assert collector.paths and set(collector.paths) == {"/v1/traces"}
    spans = [s for s in collector.spans() if s.trace_id.hex() == CALLER_TRACE]
    by_name: dict[str, list[Any]] = {}
    for s in spans:
        by_name.setdefault(s.name, []).append(s)
    (request,) = by_name["POST /v1/ask"]  # FastAPI's own server span, joined to the caller's trace
    (answer,) = by_name["policyrag.answer"]
    assert request.parent_span_id == bytes.fromhex("00f067aa0ba902b7")
    parents = {s.span_id: s.parent_span_id for s in spans}
    chain, at = [], answer.span_id
    while at in parents:
        chain.append(at)
        at = parents[at]
    assert request.span_id in chain  # the answer's spans sit inside the request's
    stages = sorted((s for s in spans if s.parent_span_id == answer.span_id), key=lambda s: s.start_time_unix_nano)
    assert [s.name for s in stages] == STAGES  # one span per stage, in the order they ran
    for s in stages:
        assert answer.start_time_unix_nano <= s.start_time_unix_nano <= s.end_time_unix_nano
    retrieve_ms = (stages[0].end_time_unix_nano - stages[0].start_time_unix_nano) / 1e6
    assert abs(retrieve_ms - r.json()["timings_ms"]["retrieve"]) < 1.0  # the times the answer reports


def test_without_an_endpoint_no_connection_is_attempted(
    corpus_index: SearchIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    observability.tracing_enabled.cache_clear()
    attempts: list[Any] = []
    real_connect = socket.socket.connect

    def recorded(self: socket.socket, address: Any) -> Any:  # any host, loopback included
        attempts.append(address)
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", recorded)
    settings = corpus_index.settings
    with TestClient(create_app(settings, services(corpus_index, settings))) as client:
        r = client.post("/v1/ask", json={"question": "Who set up the Zero Carbon Hub?"})
        assert r.status_code == 200 and not r.json()["refused"]
    observability.shutdown_tracing()
    assert observability.tracing_enabled() is False
    assert attempts == []
