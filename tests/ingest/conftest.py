"""The seed corpus ingested into a private data dir, for tests that then change it."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from ingest.pipeline import Ingestor
from rag.core.config import Settings
from rag.index.retrieval import SearchIndex


@pytest.fixture
def ingested(
    make_settings: Callable[..., Settings], index_for: Callable[[Settings], SearchIndex]
) -> tuple[Settings, SearchIndex]:
    """A fresh ingest of the five seed documents: every passage embedded, every sentence stored."""
    settings = make_settings()
    index = index_for(settings)
    first = Ingestor(settings, index).run()
    assert first.files_ingested == 5 and first.embeddings_computed == first.chunks_total > 0
    assert first.sentences_encoded > 0
    return settings, index
