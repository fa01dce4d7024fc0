"""LangChain's own standard retriever tests (langchain-tests) run against ours, on the real index."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.retrievers import BaseRetriever
from langchain_tests.integration_tests import RetrieversIntegrationTests

from rag.retrieval import HybridRetriever, SearchIndex


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
