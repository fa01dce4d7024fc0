"""``policyrag ui`` (Streamlit) and ``policyrag up`` (the API and the UI together)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Annotated

import typer

APP = Path(__file__).resolve().parent / "app.py"


def streamlit_args(host: str, port: int) -> list[str]:
    return [
        sys.executable, "-m", "streamlit", "run", str(APP),
        "--server.address", host, "--server.port", str(port), "--server.headless", "true",
        "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
        "--global.developmentMode", "false", "--client.toolbarMode", "minimal",
    ]  # fmt: skip


def ui_command(
    host: Annotated[str, typer.Option(help="Interface to bind; loopback by default.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8501,
) -> None:
    """Start the chat UI (it talks to the API at POLICYRAG_API_URL)."""
    raise typer.Exit(subprocess.call(streamlit_args(host, port)))


def _wait(url: str, proc: subprocess.Popen[bytes], seconds: float = 180) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return True
        except OSError:
            time.sleep(0.5)
    return False


def up_command(
    host: Annotated[str, typer.Option(help="Interface for both servers.")] = "127.0.0.1",
    api_port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    ui_port: Annotated[int, typer.Option(min=1, max=65535)] = 8501,
) -> None:
    """Start the API and the UI together, print both addresses, stop both on Ctrl-C."""
    api_url = f"http://{host}:{api_port}"
    env = {**os.environ, "POLICYRAG_API_URL": api_url}
    api = subprocess.Popen([sys.executable, "-m", "rag.cli", "serve", "--host", host, "--port", str(api_port)], env=env)
    ui: subprocess.Popen[bytes] | None = None
    try:
        if not _wait(f"{api_url}/readyz", api):
            typer.echo("error: the API did not become ready; see its log above", err=True)
            raise typer.Exit(1)
        ui = subprocess.Popen(streamlit_args(host, ui_port), env=env)
        if not _wait(f"http://{host}:{ui_port}/_stcore/health", ui):
            typer.echo("error: the UI did not start; see its log above", err=True)
            raise typer.Exit(1)
        typer.echo(f"\n  API: {api_url}  (docs: {api_url}/docs)\n  UI:  http://{host}:{ui_port}\n")
        typer.echo("  Ctrl-C stops both.\n")
        while api.poll() is None and ui.poll() is None:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        for proc in (ui, api):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in (ui, api):
            if proc is not None:
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()


def register(app: typer.Typer) -> None:
    app.command("ui")(ui_command)
    app.command("up")(up_command)
