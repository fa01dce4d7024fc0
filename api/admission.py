"""Back-pressure and per-key rate limits, in front of every ``/v1`` route and ``/mcp``.

A worker runs at most ``max_concurrent_requests`` requests at once; up to ``max_queued_requests``
more wait their turn for at most ``queue_timeout_s``. Anything beyond that is answered at once
with 503 and ``Retry-After``, so an overloaded node sheds load in microseconds instead of piling
up threads, memory and client timeouts. With API keys on, each key may make ``rate_limit``
requests (e.g. ``120/minute``) per node; the next gets 429 and ``Retry-After``.

Answers first pass a smaller gate of their own, ``max_concurrent_answers``: composing an answer is
CPU-bound Python, so sixteen at once on two cores answer no faster than four and hold more working
memory, while a search mostly waits on the batched encoder and gains from company.

A pure ASGI middleware, so a streamed answer keeps its slot until its last byte is sent.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import math
import time
from typing import Any

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.memory import IdleTrim
from rag.core.config import Settings
from rag.core.observability import metrics

log = logging.getLogger("api")
GATED = ("/v1/", "/mcp")
ANSWERS = ("/v1/ask", "/v1/chat/completions")


class Admission:
    """A counting gate with a bounded waiting room (one per worker process)."""

    def __init__(self, limit: int, queue: int, timeout_s: float, record: str = "") -> None:
        self.limit, self.queue, self.timeout_s = limit, queue, timeout_s
        self.active = 0
        self.waiting = 0
        self.record = record  # mirror active and waiting in these Prometheus gauges ("admission", "answers")
        self._cond: asyncio.Condition | None = None  # made on first use, inside the server's loop
        self._service_s = 0.1  # moving average of how long a request holds its slot

    def retry_after(self) -> int:
        """Seconds until the waiting room has likely drained: a hint, at least 1."""
        return max(1, math.ceil((self.waiting + 1) * self._service_s / self.limit))

    async def enter(self) -> str | None:
        """Take a slot; returns None, or why the request is turned away."""
        if self._cond is None:
            self._cond = asyncio.Condition()
        async with self._cond:
            if self.active < self.limit and self.waiting == 0:
                self.active += 1
                self._gauges()
                return None
            if self.waiting >= self.queue:
                return f"the server is at capacity ({self.active} running, {self.waiting} waiting)"
            self.waiting += 1
            self._gauges()
            try:
                await asyncio.wait_for(self._cond.wait_for(lambda: self.active < self.limit), self.timeout_s)
            except TimeoutError:
                return f"the server is busy: no slot came free within {self.timeout_s:g} s"
            finally:
                self.waiting -= 1
                self._gauges()
            self.active += 1
            self._gauges()
            return None

    async def leave(self, held_s: float | None) -> None:
        """Give the slot back; ``held_s``, how long it served (None: it served nothing)."""
        assert self._cond is not None
        if held_s is not None:
            self._service_s = 0.9 * self._service_s + 0.1 * held_s
        async with self._cond:
            self.active -= 1
            self._gauges()
            self._cond.notify_all()  # a waiter that just timed out must not swallow the wake-up

    def _gauges(self) -> None:
        if self.record:
            m = metrics()
            getattr(m, f"{self.record}_active").set(self.active)
            getattr(m, f"{self.record}_waiting").set(self.waiting)


class KeyRateLimit:
    """``limits``' moving window per API key, in this process's memory."""

    def __init__(self, spec: str, keys: set[str]) -> None:
        import limits
        from limits.storage import MemoryStorage
        from limits.strategies import MovingWindowRateLimiter

        self.item = limits.parse(spec)
        self.limiter = MovingWindowRateLimiter(MemoryStorage())
        self.keys = keys

    def check(self, headers: dict[bytes, bytes]) -> int | None:
        """None if allowed (or not a known key: authentication answers that); else Retry-After."""
        auth = headers.get(b"authorization", b"").decode("latin-1")
        scheme, _, key = auth.partition(" ")
        if scheme.lower() != "bearer" or key.strip() not in self.keys:
            return None
        ident = hashlib.sha256(key.strip().encode()).hexdigest()[:16]  # the key itself is never stored
        if self.limiter.hit(self.item, ident):
            return None
        reset = self.limiter.get_window_stats(self.item, ident).reset_time
        return max(1, math.ceil(reset - time.time()))


JSON_BODY_LIMIT = 2 * 1024 * 1024  # questions, history and feedback are far smaller
MULTIPART_OVERHEAD = 1024 * 1024


class AdmissionMiddleware:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.upload_limit = settings.max_file_bytes + MULTIPART_OVERHEAD
        self.max_file_mb = settings.max_file_mb
        self.record = settings.metrics_enabled
        queue, timeout = settings.max_queued_requests, settings.queue_timeout_s
        self.gate = Admission(settings.max_concurrent_requests, queue, timeout, "admission" if self.record else "")
        self.answers = Admission(settings.max_concurrent_answers, queue, timeout, "answers" if self.record else "")
        keys = settings.reader_key_set
        self.rate = KeyRateLimit(settings.rate_limit, keys) if keys and settings.rate_limit else None
        self.rate_spec = settings.rate_limit
        self.trim = IdleTrim(settings.memory_trim_idle_s)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith(GATED):
            await self.app(scope, receive, send)
            return
        if self.rate is not None:
            wait = self.rate.check(dict(scope.get("headers") or []))
            if wait is not None:
                message = f"rate limit of {self.rate_spec} per API key reached; retry in {wait} s"
                self._rejected("rate_limited")
                await json_error(scope, send, 429, "rate_limited", message, wait)
                return
        self.trim.enter()
        # an answer waits at its own gate first, so answers queued there hold none of the shared slots
        gates = [self.answers, self.gate] if str(scope["path"]).rstrip("/") in ANSWERS else [self.gate]
        held: list[Admission] = []
        started: float | None = None
        try:
            for gate in gates:
                refused = await gate.enter()
                if refused is not None:  # a gate already passed is given back below
                    retry = gate.retry_after()
                    log.warning("503 %s %s: %s", scope.get("method"), scope.get("path"), refused)
                    self._rejected("overloaded")
                    await json_error(scope, send, 503, "overloaded", f"{refused}; retry in {retry} s", retry)
                    return
                held.append(gate)
            started = time.perf_counter()
            await self._bounded(scope, receive, send)
        finally:
            served = None if started is None else time.perf_counter() - started
            for gate in reversed(held):
                await gate.leave(served)
            self.trim.leave()  # the last request out: freed heap goes back to the system once idle

    def _rejected(self, reason: str) -> None:
        if self.record:
            metrics().rejected.labels(reason).inc()

    async def _bounded(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse a body over the limit before reading it (Content-Length) or while reading it
        (chunked), so an oversized upload never reaches a temp file or memory."""
        upload = scope["path"].rstrip("/") == "/v1/documents"
        limit = self.upload_limit if upload else JSON_BODY_LIMIT
        message = (
            f"an upload may be at most {self.max_file_mb:g} MB (POLICYRAG_MAX_FILE_MB)"
            if upload
            else f"a request body may be at most {limit / 1048576:g} MB"
        )
        headers = dict(scope.get("headers") or [])
        try:
            declared = int(headers.get(b"content-length", b"0"))
        except ValueError:
            declared = 0
        if declared > limit:
            await json_error(scope, send, 413, "too_large", message, None)
            return
        seen = 0
        over = False  # the body ran past the limit: whatever the app answers becomes a 413
        replaced = False

        async def counted() -> Message:
            nonlocal seen, over
            if over:
                return {"type": "http.disconnect"}
            event = await receive()
            if event["type"] == "http.request":
                seen += len(event.get("body", b""))
                if seen > limit:
                    over = True
                    return {"type": "http.disconnect"}
            return event

        async def watched(event: Message) -> None:
            nonlocal replaced
            if not over:
                await send(event)
            elif not replaced and event["type"] == "http.response.start":
                replaced = True
                await json_error(scope, send, 413, "too_large", message, None)

        try:
            await self.app(scope, counted, watched)
        except ClientDisconnect:
            if not over:
                raise
        if over and not replaced:
            await json_error(scope, send, 413, "too_large", message, None)


async def json_error(scope: Scope, send: Send, status: int, type_: str, message: str, retry_after: int | None) -> None:
    request_id = (scope.get("state") or {}).get("request_id")  # set by the request-log middleware
    body: dict[str, Any] = {"error": {"type": type_, "message": message, "request_id": request_id}}
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                *([(b"retry-after", str(retry_after).encode())] if retry_after is not None else []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
