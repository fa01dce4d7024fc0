"""A ``policyrag serve`` running on this machine, found through the data dir it serves.

The server writes ``<data_dir>/server.json`` (its URL and pid) when it starts and removes it when
it stops. A one-shot ``policyrag ask`` or ``policyrag search`` that finds a live one asks it over
HTTP: the model and indexes are already loaded there, so it takes the server's own time instead of a
cold start.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import logging
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rag.answer.model import Answer
from rag.core.config import Settings
from rag.core.models import SearchResult

log = logging.getLogger(__name__)
FILE = "server.json"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        return True
    return True


@contextlib.contextmanager
def announced(settings: Settings, host: str, port: int) -> Iterator[None]:
    """Announce a server on ``host:port`` in the data dir for as long as the block runs."""
    path = settings.data_dir / FILE
    reach = "127.0.0.1" if host in {"0.0.0.0", "::", ""} else host
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"url": f"http://{reach}:{port}", "pid": os.getpid()}), encoding="utf-8")

    def stop(signum: int, frame: object) -> None:  # uvicorn re-raises SIGTERM after its shutdown:
        raise SystemExit(128 + signum)  # end by unwinding, so the announcement is removed

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        with contextlib.suppress(OSError):
            if json.loads(path.read_text(encoding="utf-8")).get("pid") == os.getpid():
                path.unlink()


def running(settings: Settings, timeout: float = 0.5) -> str | None:
    """The URL of a live local server for this data dir, or None (a stale file is ignored)."""
    import httpx

    path: Path = settings.data_dir / FILE
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
        url, pid = str(info["url"]), int(info["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not _alive(pid):
        return None
    try:
        ok = httpx.get(f"{url}/readyz", timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return None
    return url if ok else None


def _post(url: str, path: str, settings: Settings, body: dict[str, Any], timeout: float) -> Any:
    """``POST`` to the local server with a reader key; an error it answers with is raised as its message."""
    import httpx

    keys = sorted(settings.reader_key_set)
    headers = {"Authorization": f"Bearer {keys[0]}"} if keys else {}
    r = httpx.post(f"{url}{path}", json=body, headers=headers, timeout=timeout)
    if r.status_code != 200:
        try:
            message = r.json()["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = r.text[:200]
        raise RemoteError(f"the local server at {url} answered {r.status_code}: {message}")
    return r.json()


def ask(url: str, settings: Settings, body: dict[str, Any], timeout: float = 120.0) -> Answer:
    """``POST /v1/ask`` on the local server."""
    return Answer.model_validate(_post(url, "/v1/ask", settings, body, timeout))


def search(url: str, settings: Settings, query: str, k: int, timeout: float = 60.0) -> list[SearchResult]:
    """``POST /v1/search`` on the local server: its hits as search results."""
    found = _post(url, "/v1/search", settings, {"query": query, "k": k}, timeout)
    return [SearchResult.model_validate(hit) for hit in found["results"]]


class RemoteError(RuntimeError):
    """The local server refused or failed the request."""


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def ends_with_parent() -> None:
    """``preexec_fn`` for a server we start: it gets SIGTERM when the process that started it dies
    (Linux), so a test run or a ``policyrag up`` that is killed outright leaves no server running."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float, every: float = 0.3) -> bool:
    """Poll ``url`` until it answers 200 (True), or the process exits or ``timeout`` passes (False):
    how ``policyrag up``, the benchmarks and the tests wait for a server they started."""
    import httpx

    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            return False
        time.sleep(every)


@contextlib.contextmanager
def llama_server(gguf: Path, port: int, log: Path, timeout: float = 120, extra_buffers: bool = False) -> Iterator[str]:
    """A local OpenAI-compatible LLM: llama.cpp's server (``rag.llm.worker``) over ``gguf`` on loopback, for
    as long as the block runs; yields its ``/v1`` base URL. Raises ``RuntimeError`` with the tail of
    the server's log when it does not come up. Extra buffer types stay off unless asked for (see
    ``Settings.llm_extra_buffers``): with them, a CPU that advertises AMX and traps on it kills the
    server on its first request."""
    import sys

    command = [sys.executable, "-m", "rag.llm.worker", "--model", str(gguf), "--model_alias", "smollm2",
               "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096", "--seed", "0",
               "--use_extra_bufts", str(extra_buffers)]  # fmt: skip
    with log.open("wb") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, preexec_fn=ends_with_parent)
    base = f"http://127.0.0.1:{port}/v1"
    try:
        if not wait_ready(f"{base}/models", proc, timeout):
            proc.kill()
            raise RuntimeError(f"the llama.cpp server did not start:\n{log.read_text(errors='replace')[-3000:]}")
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)
