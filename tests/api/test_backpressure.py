"""Beyond capacity the API sheds load with 503 + Retry-After; a key over its rate gets 429.

The gate is tested on its own (deterministic, in an event loop) and then through a real
``policyrag serve`` on loopback with a deliberately tiny capacity, hit by concurrent clients.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import httpx
import pytest

from api.admission import Admission
from tests.api.conftest import ADMIN, READER, start_server, stop
from tests.conftest import REPO

ARTIFACTS = Path(os.environ.get("POLICYRAG_TEST_ARTIFACTS", REPO / "test-artifacts"))


def test_the_gate_runs_its_limit_queues_the_next_and_turns_the_rest_away() -> None:
    async def scenario() -> tuple[list[str | None], list[str | None]]:
        gate = Admission(limit=2, queue=1, timeout_s=5)
        first = [await gate.enter(), await gate.enter()]  # both run
        queued = asyncio.create_task(gate.enter())
        await asyncio.sleep(0.01)
        assert gate.waiting == 1 and not queued.done()
        turned_away = [await gate.enter(), await gate.enter()]  # the waiting room is full
        await gate.leave(0.05)
        assert await queued is None and gate.active == 2  # the queued one got the freed slot
        return first, turned_away

    first, away = asyncio.run(scenario())
    assert first == [None, None]
    assert all(reason and "at capacity (2 running, 1 waiting)" in reason for reason in away)


def test_a_queued_request_gives_up_after_the_timeout() -> None:
    async def scenario() -> str | None:
        gate = Admission(limit=1, queue=4, timeout_s=0.2)
        await gate.enter()
        return await gate.enter()

    reason = asyncio.run(scenario())
    assert reason is not None and "no slot came free within 0.2 s" in reason


QUESTIONS = [f"What did the programme number {i} change for local business and public services?" for i in range(24)]


async def burst(url: str, n: int, key: str) -> list[httpx.Response]:
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=60) as client:
        return list(await asyncio.gather(*(client.post("/v1/ask", json={"question": q}) for q in QUESTIONS[:n])))


@pytest.mark.server
@pytest.mark.slow
def test_an_overloaded_server_answers_503_with_retry_after_and_recovers(tmp_path: Path) -> None:
    server = start_server(
        tmp_path,
        POLICYRAG_API_KEYS=READER,
        POLICYRAG_ADMIN_KEYS=ADMIN,
        POLICYRAG_MAX_CONCURRENT_REQUESTS="1",
        POLICYRAG_MAX_QUEUED_REQUESTS="2",
        POLICYRAG_QUEUE_TIMEOUT_S="30",
    )
    try:
        responses = asyncio.run(burst(server.url, 24, READER))
        codes = [r.status_code for r in responses]
        assert set(codes) <= {200, 503}, codes
        assert codes.count(200) >= 3  # one running and two waiting were all served
        shed = [r for r in responses if r.status_code == 503]
        assert shed, "24 simultaneous questions against 1 slot + 2 waiting were all accepted"
        for r in shed:
            assert int(r.headers["retry-after"]) >= 1
            error = r.json()["error"]
            assert error["type"] == "overloaded" and "at capacity" in error["message"]
            assert error["request_id"] == r.headers["x-request-id"]

        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / "backpressure.txt").write_text(
            f"24 simultaneous /v1/ask, 1 slot + 2 waiting: {codes.count(200)} x 200, {len(shed)} x 503 "
            f"(Retry-After {sorted({r.headers['retry-after'] for r in shed})})\n",
            encoding="utf-8",
        )
        with server.client(READER) as client:  # the server is unharmed: health and a retry work
            assert client.get("/healthz").status_code == 200
            retry = client.post("/v1/ask", json={"question": QUESTIONS[codes.index(503)]})
            assert retry.status_code == 200 and retry.json()["citations"]
    finally:
        stop(server)


@pytest.mark.server
@pytest.mark.slow
def test_each_api_key_has_its_own_rate_limit(tmp_path: Path) -> None:
    server = start_server(
        tmp_path,
        POLICYRAG_API_KEYS=f"{READER},other-reader-789",
        POLICYRAG_ADMIN_KEYS=ADMIN,
        POLICYRAG_RATE_LIMIT="5/minute",
    )
    try:
        with server.client(READER) as reader:
            codes = [reader.post("/v1/search", json={"query": "shared value"}).status_code for _ in range(7)]
            assert codes == [200] * 5 + [429] * 2
            limited = reader.get("/v1/documents")
            assert limited.status_code == 429
            assert 1 <= int(limited.headers["retry-after"]) <= 60
            assert limited.json()["error"]["type"] == "rate_limited"
            assert "rate limit of 5/minute per API key" in limited.json()["error"]["message"]
            assert reader.get("/healthz").status_code == 200  # health checks are never limited
        with server.client("other-reader-789") as other, server.client(ADMIN) as admin:
            assert other.post("/v1/search", json={"query": "shared value"}).status_code == 200
            assert admin.get("/v1/documents").status_code == 200
        with server.client("not-a-key") as stranger:  # unknown keys are refused, not counted
            assert stranger.get("/v1/documents").status_code == 401
        assert READER not in server.log.read_text()
    finally:
        stop(server)


def test_answers_wait_at_their_own_gate_and_leave_the_shared_slots_to_searches() -> None:
    """With one answer slot taken, a second answer waits at the answer gate, and a search
    arriving after it still runs at once: waiting answers hold none of the shared slots."""
    from starlette.types import Receive, Scope, Send

    from api.admission import AdmissionMiddleware
    from rag.core.config import Settings

    async def scenario() -> list[str]:
        release = asyncio.Event()
        started: list[str] = []

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            started.append(scope["path"])
            if scope["path"] == "/v1/ask":
                await release.wait()

        settings = Settings(max_concurrent_requests=2, max_concurrent_answers=1, max_queued_requests=4)
        gate = AdmissionMiddleware(app, settings)

        async def call(path: str) -> None:
            scope = {"type": "http", "path": path, "method": "POST", "headers": []}
            await gate(scope, None, None)  # type: ignore[arg-type]

        first = asyncio.create_task(call("/v1/ask"))
        await asyncio.sleep(0.01)
        second = asyncio.create_task(call("/v1/ask"))
        await asyncio.sleep(0.01)
        assert gate.answers.waiting == 1 and gate.gate.active == 1  # the second waits, holding no shared slot
        await asyncio.wait_for(call("/v1/search"), 1)  # runs beside the first answer
        assert started == ["/v1/ask", "/v1/search"]
        release.set()
        await asyncio.wait_for(asyncio.gather(first, second), 1)
        assert gate.answers.active == 0 and gate.gate.active == 0
        return started

    assert asyncio.run(scenario()) == ["/v1/ask", "/v1/search", "/v1/ask"]
