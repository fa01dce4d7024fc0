"""Stand-in model processes for the local generator's crash tests (importable by a spawned child)."""

from __future__ import annotations

import signal
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any


def crashes_once(conn: Connection, params: dict[str, Any]) -> None:
    """Loads, then dies of SIGILL on its first request, as llama.cpp does on a CPU that traps on an
    instruction it was built for; a second process (the marker file exists) answers "hello"."""
    marker = Path(params["model_path"] + ".crashed")
    conn.send(("ready", None))
    request = conn.recv()
    if not marker.exists():
        marker.touch()
        signal.raise_signal(signal.SIGILL)
    if request.get("stream"):
        for token in ("hel", "lo"):
            conn.send(("token", token))
    else:
        conn.send(("token", "hello"))
    conn.send(("done", None))
    while conn.recv() is not None:  # answer nothing more; end when the parent closes the pipe
        pass
