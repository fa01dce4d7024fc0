"""The one place policyrag's components are built: the embedder, the chunk store, the change
marker and the index over them, once per process. The API, every CLI command, evaluation,
calibration, ingest and doctor take what they need from here; nothing else constructs them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from rag.core.config import Settings
from rag.index.embeddings import MiniLMEmbeddings, embedder
from rag.index.freshness import ChangeMarker
from rag.index.retrieval import SearchIndex
from rag.index.store import ChunkStore

if TYPE_CHECKING:
    from rag.answer.pipeline import AnswerPipeline
    from rag.cases.library import CaseLibrary
    from rag.persist.feedback import FeedbackStore


@dataclass
class Components:
    """What one process reads and answers with. Built lazily where it costs: the model loads on
    first use, Chroma opens on first read, the pipeline and feedback store on first ask."""

    settings: Settings
    embeddings: MiniLMEmbeddings
    store: ChunkStore
    marker: ChangeMarker
    index: SearchIndex

    @cached_property
    def pipeline(self) -> AnswerPipeline:
        from rag.answer.pipeline import AnswerPipeline

        return AnswerPipeline(self.settings, self.index, cases=self.cases)

    @cached_property
    def cases(self) -> CaseLibrary:
        from rag.cases.library import CaseLibrary

        return CaseLibrary(self.index)

    @cached_property
    def feedback(self) -> FeedbackStore:
        from rag.persist.feedback import FeedbackStore

        return FeedbackStore(self.settings)


def compose(settings: Settings, embeddings: MiniLMEmbeddings | None = None) -> Components:
    """Every component for ``settings``; pass ``embeddings`` to share one loaded model (tests, and
    the evaluation of several settings in one process)."""
    embeddings = embeddings or embedder(settings)
    store = ChunkStore(settings, embeddings)
    marker = ChangeMarker(settings, store)
    return Components(settings, embeddings, store, marker, SearchIndex(settings, embeddings, store, marker))
