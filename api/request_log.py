"""Every request: an id (the caller's ``X-Request-ID`` when sane, else a new one, echoed back), one
log line with method, path, status, time and worker pid, and the request metrics."""

from __future__ import annotations

import logging
import os
import re
import time
import uuid
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response

from rag.core.config import Settings
from rag.core.observability import metrics

log = logging.getLogger("api")
REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def install(app: FastAPI, settings: Settings) -> None:
    @app.middleware("http")
    async def request_log(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        incoming = request.headers.get("x-request-id", "")
        request_id = incoming if REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.state.request_id = request_id
        started = time.perf_counter()
        response = await call_next(request)
        ms = (time.perf_counter() - started) * 1000
        if settings.metrics_enabled:
            m, route, status = metrics(), route_of(request), str(response.status_code)
            m.requests.labels(request.method, route, status).inc()
            m.request_seconds.labels(request.method, route, status).observe(ms / 1000)
        response.headers["X-Request-ID"] = request_id
        fields = {"request_id": request_id, "method": request.method, "path": request.url.path,
                  "status": response.status_code, "ms": round(ms, 1)}  # fmt: skip
        log.info("%s %s %d %.1fms id=%s pid=%d", request.method, request.url.path, response.status_code, ms,
                 request_id, os.getpid(), extra=fields)  # fmt: skip
        return response


def route_of(request: Request) -> str:
    """The matched route's template (``/v1/documents/{doc_id}``), so metric labels stay few."""
    route = request.scope.get("route")
    return str(getattr(route, "path", "")) or "unmatched"
