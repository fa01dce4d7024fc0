"""LangChain's own standard tests (langchain-tests) run against our embedder and retriever: the real
MiniLM model, the real index."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.embeddings import Embeddings
from langchain_core.retrievers import BaseRetriever
from langchain_tests.integration_tests import EmbeddingsIntegrationTests, RetrieversIntegrationTests
from langchain_tests.unit_tests import EmbeddingsUnitTests

from rag.index.embeddings import MiniLMEmbeddings
from rag.index.retrieval import SearchIndex
from rag.index.retriever import HybridRetriever


class TestMiniLMEmbeddingsUnit(EmbeddingsUnitTests):
    @property
    def embeddings_class(self) -> type[Embeddings]:
        return MiniLMEmbeddings


class TestMiniLMEmbeddingsIntegration(EmbeddingsIntegrationTests):
    @property
    def embeddings_class(self) -> type[Embeddings]:
        return MiniLMEmbeddings


class TestHybridRetriever(RetrieversIntegrationTests):
    index: SearchIndex

    @pytest.fixture(autouse=True)
    def _real_index(self, corpus_index: SearchIndex) -> None:
        type(self).index = corpus_index

    @property
    def retriever_constructor(self) -> type[BaseRetriever]:
        return HybridRetriever

    @property
    def retriever_constructor_params(self) -> dict[str, Any]:
        return {"index": self.index}

    @property
    def retriever_query_example(self) -> str:
        return "Who set up the Zero Carbon Hub?"
