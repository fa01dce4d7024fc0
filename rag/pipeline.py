"""question (+ history, filters, mode) → condense → retrieve → generate → verify → ``Answer``.

Built from LangChain runnables, so the chain streams, traces and composes like any other.
"""

from __future__ import annotations

import collections.abc as cabc
import logging
import time
from collections.abc import Iterator
from typing import Any

from langchain_core.runnables import Runnable, RunnableLambda

from rag.answers import Answer, AnswerEvent, Mode, Retrieved
from rag.config import Settings
from rag.generation import ExtractiveGenerator, Generator, LLMGenerator, detect_mode
from rag.models import SearchFilters, SearchResult
from rag.retrieval import SearchIndex
from rag.verify import Verified, Verifier

log = logging.getLogger(__name__)


class AnswerError(ValueError):
    """Raised by the answer stage for a question it cannot take (empty, too long)."""


def refusal_message(question: str, results: list[SearchResult]) -> str:
    shown = question if len(question) <= 120 else question[:117] + "..."
    closest = list(dict.fromkeys(f"“{r.title}”" for r in results))[:3]
    tail = f" The closest documents are {', '.join(closest)}." if closest else ""
    return f"The library does not cover “{shown}”.{tail}"


def make_generator(settings: Settings, index: SearchIndex) -> Generator:
    """The generator the settings name; LLM ones get their chat model (nothing loads until first use)."""
    extractive = ExtractiveGenerator(index.embeddings, max_sentences=settings.answer_max_sentences)
    if settings.generator == "extractive":
        return extractive
    from rag.llm import make_chat_model

    return LLMGenerator(
        make_chat_model(settings),
        name=settings.generator,
        selector=extractive,
        context_sentences=settings.llm_context_sentences,
    )


class AnswerPipeline:
    """One per process, like the index it reads."""

    def __init__(self, settings: Settings, index: SearchIndex, generator: Generator | None = None) -> None:
        self.settings = settings
        self.index = index
        self.generator = generator or make_generator(settings, index)
        self.fallback: Generator | None = None
        if settings.llm_fallback and not isinstance(self.generator, ExtractiveGenerator):
            self.fallback = ExtractiveGenerator(index.embeddings, max_sentences=settings.answer_max_sentences)
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
        k: int | None = None,
    ) -> Answer:
        return self.chain.invoke(self._state(question, history, mode, filters, k))

    def stream(
        self,
        question: str,
        *,
        history: list[dict[str, str]] | None = None,
        mode: Mode = Mode.auto,
        filters: SearchFilters | None = None,
        k: int | None = None,
    ) -> Iterator[AnswerEvent]:
        """``retrieved``, then verified ``delta`` text as the generator writes, then the ``answer``.

        Only sentences that passed verification are ever sent; a refusal arrives as one delta.
        """
        state = self._retrieve(self._state(question, history, mode, filters, k))
        state["streaming"] = True
        results: list[SearchResult] = state["results"]
        yield AnswerEvent(event="retrieved", retrieved=self._retrieved(results))
        timings = state["timings"]
        timings["generate"] = timings["verify"] = 0.0
        verified: Verified | None = None
        if self._evidence(state):
            verified = yield from self._verified_deltas(state, self.generator)
            if self.fallback is not None and not verified.citations:
                state["fallback"] = verified.dropped
                verified = yield from self._verified_deltas(state, self.fallback)
        answer = self._finish(state, verified)
        if answer.refused:
            yield AnswerEvent(event="delta", text=answer.answer)
        yield AnswerEvent(event="answer", answer=answer)

    def _verified_deltas(
        self, state: dict[str, Any], generator: Generator
    ) -> cabc.Generator[AnswerEvent, None, Verified]:
        """Stream ``generator``'s draft through a verify session: a delta per verified piece.

        A draft whose last ``llm_max_unsupported`` sentences all failed verification is stopped there:
        the model has lost the thread, and more of it would cost time and be dropped too.
        """
        timings, results = state["timings"], state["results"]
        session = self.verifier.session(results)
        pieces = generator.stream(state["question"], results, state["mode"], state["history"])
        limit = self.settings.llm_max_unsupported if not isinstance(generator, ExtractiveGenerator) else 0
        while True:
            t = time.perf_counter()
            piece = next(pieces, None)
            timings["generate"] += (time.perf_counter() - t) * 1000
            t = time.perf_counter()
            stop = piece is not None and bool(limit) and session.misses_in_row >= limit
            if stop:
                if isinstance(pieces, cabc.Generator):
                    pieces.close()  # ends the model's stream (and its HTTP request)
                session.abandon()
                text = ""
                log.info("generate: draft stopped after %d unverified sentences in a row", session.misses_in_row)
            else:
                text = session.close() if piece is None else session.feed(piece)
            timings["verify"] += (time.perf_counter() - t) * 1000
            if text:
                if state.get("streaming"):
                    timings.setdefault("first_delta", (time.perf_counter() - state["t0"]) * 1000)
                yield AnswerEvent(event="delta", text=text)
            if piece is None or stop:
                return session.result

    def _state(
        self,
        question: str,
        history: list[dict[str, str]] | None,
        mode: Mode,
        filters: SearchFilters | None,
        k: int | None = None,
    ) -> dict[str, Any]:
        question = " ".join(question.split())
        if not question:
            raise AnswerError("answer: the question is empty")
        if len(question) > self.settings.max_question_chars:
            raise AnswerError(f"answer: the question is over {self.settings.max_question_chars} characters")
        if k is not None and not 1 <= k <= 20:
            raise AnswerError("answer: k (passages to answer from) must be between 1 and 20")
        return {"question": question, "history": history or [], "mode": mode, "filters": filters,
                "k": k or self.settings.answer_k, "t0": time.perf_counter(), "timings": {}}  # fmt: skip

    # -- stages ----------------------------------------------------------------------------------
    def _retrieve(self, state: dict[str, Any]) -> dict[str, Any]:
        t = time.perf_counter()
        query = self.generator.condense(state["question"], state["history"])
        results = self.index.search(query, state["k"], state["filters"])
        mode = state["mode"] if state["mode"] is not Mode.auto else detect_mode(state["question"])
        state.update(query=query, results=results, mode=mode)
        state["timings"]["retrieve"] = (time.perf_counter() - t) * 1000
        return state

    def _generate(self, state: dict[str, Any]) -> dict[str, Any]:
        """Draft and verify together, as ``stream`` does, so both give the same answer and a draft that
        has lost the thread is stopped early in both."""
        state["timings"]["generate"] = state["timings"]["verify"] = 0.0
        state["verified"] = None
        if self._evidence(state):
            state["verified"] = _drain(self._verified_deltas(state, self.generator))
        return state

    def _verify(self, state: dict[str, Any]) -> Answer:
        """What verification left: the answer, the extractive fallback's, or a refusal."""
        verified: Verified | None = state["verified"]
        if verified is not None and not verified.citations and self.fallback is not None:
            state["fallback"] = verified.dropped
            verified = _drain(self._verified_deltas(state, self.fallback))
        return self._finish(state, verified)

    # -- shared by ask and stream ----------------------------------------------------------------
    def _evidence(self, state: dict[str, Any]) -> bool:
        """Is any passage close enough to the question to try answering? (calibrated refusal)"""
        best = max((r.dense_score or 0.0 for r in state["results"]), default=0.0)
        return best >= self.settings.refusal_threshold

    @staticmethod
    def _retrieved(results: list[SearchResult]) -> list[Retrieved]:
        return [Retrieved(chunk_id=r.chunk_id, doc_id=r.doc_id, title=r.title, score=r.score) for r in results]

    def _finish(self, state: dict[str, Any], verified: Verified | None) -> Answer:
        results: list[SearchResult] = state["results"]
        answer = Answer(
            answer="",
            mode=state["mode"],
            retrieved=self._retrieved(results),
            query=state["query"],
            generator=self.generator.name,
        )
        if verified is None or not verified.citations:
            answer.refused = True
            answer.refusal_reason = "weak_retrieval" if verified is None else "no_supported_sentence"
            answer.answer = refusal_message(state["question"], results)
        else:
            answer.answer = verified.text
            answer.citations = verified.citations
            answer.unsupported = verified.unsupported
        if verified is not None:
            answer.dropped = verified.dropped
        if "fallback" in state:  # the LLM's draft was dropped whole; its sentences stay visible to evaluation
            answer.fallback, answer.generator = True, "extractive"
            answer.dropped = state["fallback"] + answer.dropped
        timings = state["timings"]
        timings["total"] = (time.perf_counter() - state["t0"]) * 1000
        answer.timings_ms = {k: round(v, 1) for k, v in timings.items()}
        return answer


def _drain(events: cabc.Generator[AnswerEvent, None, Verified]) -> Verified:
    """Run a delta stream to its end for its return value."""
    while True:
        try:
            next(events)
        except StopIteration as done:
            return done.value


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
