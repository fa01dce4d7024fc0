"""What an evaluation asks: the pipeline in this process, or a running server over HTTP."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import httpx

from evals.dataset import EvalCase
from rag.compose import compose
from rag.core.config import Settings
from rag.index.embeddings import MiniLMEmbeddings
from rag.index.retrieval import SearchIndex


class Target(Protocol):
    name: str

    def ask(self, case: EvalCase) -> dict[str, Any]:
        """The Answer as a dict."""
        ...

    def embedder(self) -> MiniLMEmbeddings | None:
        """The target's own loaded embedder, when it runs in this process (scoring reuses it)."""
        ...

    def index_fingerprint(self) -> str | None:
        """What the target's index holds, when it can say (recorded in the manifest)."""
        ...


@runtime_checkable
class SearchBox(Protocol):
    """A target that can also search, as ``policyrag search`` does: the reference the answer is scored against."""

    def search_box(self, query: str, k: int) -> list[dict[str, Any]]:
        """The ``k`` first passages of a plain search, each with ``doc_id``, ``chunk_id``, ``char_start``,
        ``char_end`` and ``text``."""
        ...


PASSAGE_FIELDS = {"chunk_id", "doc_id", "char_start", "char_end", "text"}


class InprocTarget:
    """The real pipeline in this process."""

    name = "inproc"

    def __init__(self, settings: Settings, index: SearchIndex | None = None) -> None:
        from rag.answer.pipeline import AnswerPipeline

        self.index = index or compose(settings).index
        self.pipeline = AnswerPipeline(settings, self.index)
        self.index.warm_up()  # load the model and BM25 now, so the first case's latency is not a cold start

    def ask(self, case: EvalCase) -> dict[str, Any]:
        history = [t.model_dump() for t in case.history] if case.history else None
        return self.pipeline.ask(case.question, history=history).model_dump(mode="json")

    def search_box(self, query: str, k: int) -> list[dict[str, Any]]:
        # the same call as `policyrag search` (no filters, no document cards): its first k passages
        return [r.model_dump(include=PASSAGE_FIELDS) for r in self.index.search(query, k)]

    def embedder(self) -> MiniLMEmbeddings | None:
        return self.index.embeddings

    def index_fingerprint(self) -> str | None:
        return self.index.lexical.fingerprint


class HttpTarget:
    """A running ``policyrag serve``: what a deployment answers."""

    def __init__(self, base_url: str, api_key: str | None = None) -> None:
        self.name = base_url
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.http = httpx.Client(base_url=base_url.rstrip("/"), headers=headers, timeout=300)

    def ask(self, case: EvalCase) -> dict[str, Any]:
        body: dict[str, Any] = {"question": case.question}
        if case.history:
            body["history"] = [t.model_dump() for t in case.history]
        r = self.http.post("/v1/ask", json=body)
        if r.status_code >= 400:
            raise RuntimeError(f"eval: {self.name} answered {r.status_code} for {case.id}: {r.text[:300]}")
        return dict(r.json())

    def search_box(self, query: str, k: int) -> list[dict[str, Any]]:
        r = self.http.post("/v1/search", json={"query": query[:2000], "k": k})
        if r.status_code >= 400:
            raise RuntimeError(f"eval: {self.name} answered {r.status_code} to a search: {r.text[:300]}")
        return [{f: hit.get(f) for f in PASSAGE_FIELDS} for hit in r.json()["results"]]

    def embedder(self) -> MiniLMEmbeddings | None:
        return None  # the server's model is in another process: scoring loads its own copy

    def index_fingerprint(self) -> str | None:
        return None
