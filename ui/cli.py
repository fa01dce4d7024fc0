"""``policyrag ui`` (Streamlit) and ``policyrag up`` (the API and the UI together)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

APP = Path(__file__).resolve().parent / "Chat.py"  # the file name is the page's name in the navigation


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
    args = streamlit_args(host, port)
    # Become Streamlit rather than wait on it, so a signal to this process reaches the server
    # (a stopped parent would otherwise leave an orphaned Streamlit holding the port).
    os.execv(args[0], args)


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in reversed(procs):
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 20  # for all of them together, then they are killed
    for proc in reversed(procs):
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _start(
    procs: list[subprocess.Popen[bytes]],
    args: list[str],
    env: dict[str, str],
    ready: str,
    what: str,
    log: Path | None = None,
) -> None:
    from rag.local_server import ends_with_parent, wait_ready

    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as out:
            proc = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT, preexec_fn=ends_with_parent)
    else:
        proc = subprocess.Popen(args, env=env, preexec_fn=ends_with_parent)
    procs.append(proc)

    if not wait_ready(ready, proc, 180, every=0.5):
        typer.echo(f"error: {what} did not become ready; see {log or 'its log above'}", err=True)
        raise typer.Exit(1)


def _start_chroma(procs: list[subprocess.Popen[bytes]], env: dict[str, str], data_dir: Path, host: str,
                  port: int) -> str:  # fmt: skip
    """A local Chroma server (``chroma run``) with the corpus ingested into it; its line for the banner."""
    chroma_url = f"http://{host}:{port}"
    env["POLICYRAG_CHROMA_URL"] = chroma_url
    chroma_dir = data_dir / "chroma-server"
    chroma = [str(Path(sys.executable).parent / "chroma"), "run", "--path", str(chroma_dir), "--host", host,
              "--port", str(port)]  # fmt: skip
    _start(procs, chroma, env, f"{chroma_url}/api/v2/heartbeat", "the Chroma server",
           log=data_dir / "chroma-server.log")  # fmt: skip
    if subprocess.call([sys.executable, "-m", "rag.cli", "ingest"], env=env) != 0:
        typer.echo("error: ingest into the Chroma server failed; see above", err=True)
        raise typer.Exit(1)
    return f"  Chroma: {chroma_url}  (data in {chroma_dir}, log in {chroma_dir}.log)"


def up_command(
    host: Annotated[str, typer.Option(help="Interface for the servers.")] = "127.0.0.1",
    api_port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    ui_port: Annotated[int, typer.Option(min=1, max=65535)] = 8501,
    scaled: Annotated[
        bool,
        typer.Option(
            "--scaled",
            help="The scaled deployment in miniature: a local Chroma server (chroma run), the corpus "
            "ingested into it, and two stateless API workers in front of it.",
        ),
    ] = False,
    chroma_port: Annotated[int, typer.Option(min=1, max=65535, help="Chroma server port (--scaled).")] = 8001,
    workers: Annotated[int, typer.Option(min=0, max=32, help="API worker processes; 0: 1, or 2 with --scaled.")] = 0,
) -> None:
    """Start the API and the UI together, print the addresses, stop everything on Ctrl-C."""
    from rag.core.config import get_settings

    settings = get_settings()
    # Stop everything on Ctrl-C and on SIGTERM alike, even when started with SIGINT ignored
    # (a background job, a CI runner): Python only maps SIGINT to KeyboardInterrupt by default.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.default_int_handler)
    api_url = f"http://{host}:{api_port}"
    env = {**os.environ, "POLICYRAG_API_URL": api_url, "ANONYMIZED_TELEMETRY": "False"}
    procs: list[subprocess.Popen[bytes]] = []
    lines = []
    try:
        if scaled:
            lines.append(_start_chroma(procs, env, settings.data_dir, host, chroma_port))
        n_workers = workers or (2 if scaled else 1)
        _start(
            procs,
            [sys.executable, "-m", "rag.cli", "serve", "--host", host, "--port", str(api_port),
             "--workers", str(n_workers)],
            env,
            f"{api_url}/readyz",
            "the API",
        )  # fmt: skip
        lines.append(f"  API:    {api_url}  ({n_workers} worker{'s' if n_workers > 1 else ''}; docs: {api_url}/docs)")
        _start(procs, streamlit_args(host, ui_port), env, f"http://{host}:{ui_port}/_stcore/health", "the UI")
        lines.append(f"  UI:     http://{host}:{ui_port}")
        typer.echo("\n" + "\n".join(lines) + "\n\n  Ctrl-C stops everything.\n")
        while all(proc.poll() is None for proc in procs):
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        _stop(procs)


def register(app: typer.Typer) -> None:
    app.command("ui")(ui_command)
    app.command("up")(up_command)
