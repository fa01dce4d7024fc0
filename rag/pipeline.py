"""question (+ history, filters, mode) → condense → retrieve → generate → verify → ``Answer``.

Built from LangChain runnables, so the chain streams, traces and composes like any other.
"""

from __future__ import annotations

import time
from typing import Any

from langchain_core.runnables import Runnable, RunnableLambda

from rag.answers import Answer, Mode, Retrieved
from rag.config import Settings
from rag.generation import ExtractiveGenerator, Generator, condense, detect_mode
from rag.models import SearchFilters, SearchResult
from rag.retrieval import SearchIndex
from rag.verify import Verifier


class AnswerError(ValueError):
    """Raised by the answer stage for a question it cannot take (empty, too long)."""


def refusal_message(question: str, results: list[SearchResult]) -> str:
    shown = question if len(question) <= 120 else question[:117] + "..."
    closest = list(dict.fromkeys(f"“{r.title}”" for r in results))[:3]
    tail = f" The closest documents are {', '.join(closest)}." if closest else ""
    return f"The library does not cover “{shown}”.{tail}"


class AnswerPipeline:
    """One per process, like the index it reads."""

    def __init__(self, settings: Settings, index: SearchIndex, generator: Generator | None = None) -> None:
        self.settings = settings
        self.index = index
        self.generator = generator or ExtractiveGenerator(index.embeddings, max_sentences=settings.answer_max_sentences)
        self.verifier = Verifier(index.embeddings, settings.support_threshold, settings.keep_unsupported)
        self.chain: Runnable[dict[str, Any], Answer] = (
            RunnableLambda(self._retrieve, name="retrieve")
            | RunnableLambda(self._generate, name="generate")
            | RunnableLambda(self._verify, name="verify")
        )

    def ask(
        self,
        question: str,
        *,
        history: list[dict[str, str]] | None = None,
        mode: Mode = Mode.auto,
        filters: SearchFilters | None = None,
    ) -> Answer:
        question = " ".join(question.split())
        if not question:
            raise AnswerError("answer: the question is empty")
        if len(question) > self.settings.max_question_chars:
            raise AnswerError(f"answer: the question is over {self.settings.max_question_chars} characters")
        state: dict[str, Any] = {"question": question, "history": history or [], "mode": mode, "filters": filters,
                 "t0": time.perf_counter(), "timings": {}}  # fmt: skip
        return self.chain.invoke(state)

    # -- stages ----------------------------------------------------------------------------------
    def _retrieve(self, state: dict[str, Any]) -> dict[str, Any]:
        t = time.perf_counter()
        query = condense(state["question"], state["history"])
        results = self.index.search(query, self.settings.answer_k, state["filters"])
        mode = state["mode"] if state["mode"] is not Mode.auto else detect_mode(state["question"])
        state.update(query=query, results=results, mode=mode)
        state["timings"]["retrieve"] = (time.perf_counter() - t) * 1000
        return state

    def _generate(self, state: dict[str, Any]) -> dict[str, Any]:
        t = time.perf_counter()
        results: list[SearchResult] = state["results"]
        best = max((r.dense_score or 0.0 for r in results), default=0.0)
        state["draft"] = None
        if best >= self.settings.refusal_threshold:
            state["draft"] = self.generator.generate(state["question"], results, state["mode"], state["history"])
        state["best_similarity"] = best
        state["timings"]["generate"] = (time.perf_counter() - t) * 1000
        return state

    def _verify(self, state: dict[str, Any]) -> Answer:
        t = time.perf_counter()
        results: list[SearchResult] = state["results"]
        retrieved = [Retrieved(chunk_id=r.chunk_id, doc_id=r.doc_id, title=r.title, score=r.score) for r in results]
        answer = Answer(answer="", mode=state["mode"], retrieved=retrieved)
        draft = state["draft"]
        verified = self.verifier.verify(draft.text, results) if draft is not None else None
        if verified is None or not verified.citations:
            answer.refused = True
            answer.refusal_reason = "weak_retrieval" if draft is None else "no_supported_sentence"
            answer.answer = refusal_message(state["question"], results)
        else:
            answer.answer = verified.text
            answer.citations = verified.citations
            answer.unsupported = verified.unsupported
        timings = state["timings"]
        timings["verify"] = (time.perf_counter() - t) * 1000
        timings["total"] = (time.perf_counter() - state["t0"]) * 1000
        answer.timings_ms = {k: round(v, 1) for k, v in timings.items()}
        return answer


def render_markdown(answer: Answer) -> str:
    """The answer followed by its references, for terminals and exports."""
    if answer.refused or not answer.citations:
        return answer.answer
    refs = []
    for c in answer.citations:
        where = f", {c.section}" if c.section else ""
        quote = " ".join(c.quote.split())
        refs.append(f"[{c.n}] {c.title}{where} ({c.doc_id}, chars {c.char_start}-{c.char_end}): “{quote}”")
    return answer.answer + "\n\nReferences\n" + "\n".join(refs)
