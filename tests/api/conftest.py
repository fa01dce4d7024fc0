"""A real ``policyrag serve`` (uvicorn) on loopback over a private copy of the corpus."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from rag.local_server import ends_with_parent
from tests.conftest import CORPUS, free_port, wait_until_up

READER, ADMIN = "reader-key-123", "admin-key-456"


@dataclass
class Server:
    url: str
    root: Path
    proc: subprocess.Popen[bytes]
    log: Path
    env: dict[str, str] = field(default_factory=dict)

    def client(self, key: str | None = READER) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=120)


def start_server(root: Path, workers: int = 1, ingest: bool = True, **env: str) -> Server:
    corpus, data = root / "corpus", root / "data"
    if not corpus.exists():
        shutil.copytree(CORPUS, corpus)
    full_env = {
        **os.environ,
        "POLICYRAG_DATA_DIR": str(data),
        "POLICYRAG_CORPUS_DIR": str(corpus),
        "HF_HUB_OFFLINE": "1",
        "ANONYMIZED_TELEMETRY": "False",
        **env,
    }
    bin_dir = Path(sys.executable).parent
    if ingest:
        subprocess.run([bin_dir / "policyrag", "ingest", "--json"], env=full_env, check=True, capture_output=True)
    port = free_port()
    log = root / f"server-{port}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [bin_dir / "policyrag", "serve", "--port", str(port), "--workers", str(workers)],
            env=full_env, stdout=out, stderr=subprocess.STDOUT, preexec_fn=ends_with_parent,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    wait_until_up(f"{url}/readyz", proc, log, "the API")
    return Server(url=url, root=root, proc=proc, log=log, env=full_env)


def stop(server: Server) -> None:
    server.proc.terminate()
    try:
        server.proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.proc.kill()


def keyed_server(root: Path, max_file_mb: str) -> Server:
    """A server with the reader and admin keys and the given upload limit."""
    return start_server(root, POLICYRAG_API_KEYS=READER, POLICYRAG_ADMIN_KEYS=ADMIN, POLICYRAG_MAX_FILE_MB=max_file_mb)


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server per test module, with reader and admin keys and a small upload limit."""
    server = keyed_server(tmp_path_factory.mktemp("api"), "0.2")
    yield server
    stop(server)
