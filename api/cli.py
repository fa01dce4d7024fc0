"""``policyrag serve``: the API under uvicorn."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer


def serve_command(
    host: Annotated[str, typer.Option(help="Interface to bind; loopback by default.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=32, help="Worker processes sharing the data dir.")] = 1,
) -> None:
    """Serve the HTTP API (docs at /docs)."""
    import uvicorn

    from api.logs import log_config
    from api.memory import cap_malloc_arenas
    from rag.core.config import get_settings
    from rag.local_server import announced

    settings = get_settings()
    cap_malloc_arenas(settings.malloc_arenas)
    # announced: a one-shot `policyrag ask` on this data dir asks this server
    with announced(settings, host, port), _multiprocess_metrics(workers):
        uvicorn.run(
            "api.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_config=log_config(settings.log_level, settings.log_format),
            access_log=False,  # the app logs each request with its id and timing
            proxy_headers=False,
        )


@contextmanager
def _multiprocess_metrics(workers: int) -> Iterator[None]:
    """With several workers, each writes its metrics to a shared folder that /metrics sums, so a
    scrape that reaches any worker sees them all. Set before any worker imports prometheus-client."""
    if workers == 1 or os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        yield
        return
    folder = tempfile.mkdtemp(prefix="policyrag-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
    try:
        yield
    finally:
        os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
        shutil.rmtree(folder, ignore_errors=True)


def mcp_command() -> None:
    """Serve the library's MCP tools over stdio, for a desktop client or IDE to start."""
    import logging

    from api.mcp_server import run_stdio
    from rag.core.config import get_settings

    logging.getLogger("mcp").setLevel(logging.WARNING)  # stdout carries the protocol; logs go to stderr
    run_stdio(get_settings())


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_command)
    app.command("mcp")(mcp_command)
