"""The LangChain face of the hybrid index: a ``BaseRetriever`` that composes with any LangChain chain."""

from __future__ import annotations

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, Field

from rag.core.models import SearchFilters
from rag.index.retrieval import SearchIndex


class HybridRetriever(BaseRetriever):
    """LangChain face of :class:`SearchIndex`, so it composes with any LangChain chain."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    index: SearchIndex
    k: int = 5
    filters: SearchFilters | None = Field(default=None)

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, k: int | None = None
    ) -> list[Document]:
        """``invoke(query, k=1)`` overrides ``k`` for one call, as LangChain's retriever contract asks."""
        return [
            Document(
                page_content=r.text,
                id=r.chunk_id,
                metadata={**(r.chunk.to_metadata() if r.chunk else {}), **r.model_dump(exclude={"text"})},
            )
            for r in self.index.search(query, k if k is not None else self.k, self.filters)
        ]
