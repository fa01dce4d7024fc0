"""Every request: an id (the caller's ``X-Request-ID`` when sane, else a new one, echoed back), one
log line with method, path, status, time and worker pid, and the request metrics.

A pure ASGI middleware rather than ``@app.middleware("http")``: Starlette's ``BaseHTTPMiddleware``
runs each request through a task group and a memory stream, about a millisecond per request on
2 cores, which is most of what the HTTP stack adds to a warm search.
"""

from __future__ import annotations

import logging
import os
import re
import time
import uuid
from typing import Any

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rag.core.config import Settings
from rag.core.observability import metrics

log = logging.getLogger("api")
REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestLog:
    """Tags, times, counts and logs each HTTP request; the id is in ``request.state.request_id``."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.metrics = settings.metrics_enabled

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"x-request-id"), "")
        request_id = incoming if REQUEST_ID.match(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500  # what the server error handler answers when the app raises before replying

        async def tagged(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, tagged)
        finally:
            self._done(scope, status, request_id, (time.perf_counter() - started) * 1000)

    def _done(self, scope: Scope, status: int, request_id: str, ms: float) -> None:
        method, path = scope["method"], scope["path"]
        if self.metrics:
            m, route = metrics(), route_of(scope)
            m.requests.labels(method, route, str(status)).inc()
            m.request_seconds.labels(method, route, str(status)).observe(ms / 1000)
        fields: dict[str, Any] = {"request_id": request_id, "method": method, "path": path, "status": status,
                                  "ms": round(ms, 1)}  # fmt: skip
        log.info("%s %s %d %.1fms id=%s pid=%d", method, path, status, ms, request_id, os.getpid(), extra=fields)


def install(app: FastAPI, settings: Settings) -> None:
    """Outermost of the app's own middleware, so requests the admission gate turns away are logged too."""
    app.add_middleware(RequestLog, settings=settings)


def route_of(scope: Scope) -> str:
    """The matched route's template (``/v1/documents/{doc_id}``), so metric labels stay few."""
    route = scope.get("route")
    return str(getattr(route, "path", "")) or "unmatched"
