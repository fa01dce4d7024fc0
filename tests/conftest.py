"""Shared fixtures: the real embedding model (loaded once), real Chroma in temp dirs, the real corpus."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from ingest.pipeline import Ingestor
from rag.config import Settings
from rag.embeddings import MiniLMEmbeddings
from rag.retrieval import SearchIndex

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
        return SearchIndex(settings, embeddings=embeddings)

    return make


@pytest.fixture(scope="session")
def corpus_index(tmp_path_factory: pytest.TempPathFactory, embeddings: MiniLMEmbeddings) -> SearchIndex:
    """The real corpus ingested once into real embedded Chroma, for read-only tests."""
    root = tmp_path_factory.mktemp("corpus-index")
    settings = Settings(data_dir=root / "data", corpus_dir=CORPUS)
    index = SearchIndex(settings, embeddings=embeddings)
    report = Ingestor(settings, index).run()
    assert report.files_ingested == 5 and not report.files_skipped
    return index
