"""The app factory. ``uvicorn api.app:create_app --factory`` or ``policyrag serve``."""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.middleware.cors import CORSMiddleware
from starlette.routing import Route

from api import errors, request_log
from api.admission import AdmissionMiddleware
from api.deps import Services, build_services
from api.routes import answers, cases, documents, feedback, health, metrics, openai_compat
from rag.core.config import Settings, get_settings
from rag.core.observability import shutdown_tracing, tracing_enabled, worker_exit

log = logging.getLogger("api")
REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def create_app(settings: Settings | None = None, services: Services | None = None) -> FastAPI:
    settings = settings or get_settings()

    mcp = None
    if settings.mcp_enabled:
        from api.mcp_server import build_mcp

        mcp = build_mcp(lambda: get_services_of(app))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        started = time.perf_counter()
        app.state.services = services or await run_in_threadpool(build_services, settings)
        log.info("worker %d ready in %.1f s", os.getpid(), time.perf_counter() - started)
        try:
            if mcp is not None:
                async with mcp.session_manager.run():
                    yield
            else:
                yield
        finally:
            app.state.services = None
            shutdown_tracing()
            worker_exit()

    tracing_enabled()  # FastAPI's own request spans, and ours per stage, go to OTLP when an endpoint is set
    app = FastAPI(
        title="policyrag",
        version="0.1.0",
        description="Answers from policy literature, every sentence cited to a verbatim passage, or a refusal.",
        lifespan=lifespan,
    )
    app.state.services = None
    app.state.settings = settings
    errors.install(app)
    app.add_middleware(AdmissionMiddleware, settings=settings)
    if settings.cors_origin_list:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origin_list,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
        )

    request_log.install(app, settings)

    for module in (health, answers, documents, cases, feedback, openai_compat, metrics):
        app.include_router(module.router)
    if mcp is not None:
        from api.mcp_server import http_app

        app.router.routes.append(Route("/mcp", http_app(mcp, settings), methods=["GET", "POST", "DELETE"]))
    return app


def get_services_of(app: FastAPI) -> Services:
    """The loaded services, for the MCP tools (which have no FastAPI request to depend on)."""
    from mcp.server.mcpserver.exceptions import ToolError

    if app.state.services is None:
        raise ToolError("the service is still loading; try again shortly")
    return app.state.services
