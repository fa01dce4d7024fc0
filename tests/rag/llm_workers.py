"""Stand-in model processes for the local generator's crash tests (importable by a spawned child)."""

from __future__ import annotations

import signal
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any


def crashes_once(conn: Connection, params: dict[str, Any]) -> None:
    """Loads, then dies of SIGILL on its first request, as llama.cpp does on a CPU that traps on an
    instruction it was built for; a later process (the marker file exists) answers "hello" to each."""
    marker = Path(params["model_path"] + ".crashed")
    conn.send(("ready", None))
    while True:
        try:
            request = conn.recv()
        except EOFError:  # the parent closed the pipe
            return
        if not isinstance(request, dict):
            continue  # a "cancel" after a completion that already ended
        if not marker.exists():
            marker.touch()
            signal.raise_signal(signal.SIGILL)
        for token in ("hel", "lo") if request.get("stream") else ("hello",):
            conn.send(("token", token))
        conn.send(("done", None))
