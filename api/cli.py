"""``policyrag serve``: the API under uvicorn."""

from __future__ import annotations

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
    from rag.config import get_settings
    from rag.local_server import announced

    settings = get_settings()
    with announced(settings, host, port):  # a one-shot `policyrag ask` on this data dir asks this server
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


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_command)
