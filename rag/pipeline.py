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

from rag.answers import Answer, AnswerError, AnswerEvent, Mode, Retrieved
from rag.cards import ASKS_METADATA, answers_about_documents
from rag.config import Settings
from rag.coverage import (
    Coverage,
    Sentence,
    fold,
    not_stated,
    not_stated_note,
    premise_note,
    rewords_note,
    subject_names,
    unsupported_premise,
)
from rag.extractive import ExtractiveGenerator, scoring_query
from rag.generation import Generator, LLMGenerator
from rag.models import SearchFilters, SearchResult
from rag.modes import ModeClassifier
from rag.observability import observe_answer
from rag.retrieval import SearchIndex, matches
from rag.text import content_tokens
from rag.verify import Verified, Verifier

log = logging.getLogger(__name__)


class NoMatchingDocuments(AnswerError):
    """The question's filters leave no document to answer from: not a gap in the library."""


def refusal_message(question: str, results: list[SearchResult]) -> str:
    shown = question if len(question) <= 120 else question[:117] + "..."
    closest = list(dict.fromkeys(f"“{r.title}”" for r in results))[:3]
    tail = f" The closest documents are {', '.join(closest)}." if closest else ""
    return f"The library does not cover “{shown}”.{tail}"


METADATA_FIELDS = ("title", "authors", "publisher", "date", "doc_type", "topics")
LEADING_SENTENCES = 8  # the passages' best sentences that coverage and premise checks read
NAMED_MARGIN = 0.1  # how far below the refusal threshold a passage naming the question's subject may be


def extractive_for(settings: Settings, index: SearchIndex) -> ExtractiveGenerator:
    """The extractive composer over this index (its IDF read at call time, so it follows refreshes)."""
    return ExtractiveGenerator(
        index.embeddings,
        max_sentences=settings.answer_max_sentences,
        idf=lambda token: index.lexical.idf(token),
        centroid=index.centroid,
    )


def make_generator(settings: Settings, index: SearchIndex) -> Generator:
    """The generator the settings name; LLM ones get their chat model (nothing loads until first use)."""
    extractive = extractive_for(settings, index)
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
            self.fallback = extractive_for(settings, index)
        self.verifier = Verifier(index.embeddings, settings.support_threshold, settings.keep_unsupported)
        self.selector = extractive_for(settings, index)
        self.modes = ModeClassifier(index.embeddings)
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
        if state["evidence"]:  # decided once, in the retrieve stage
            lead, _ = self._notes(state)
            verified = yield from self._led(self._verified_deltas(state, self.generator), lead)
            if self.fallback is not None and not verified.citations:
                state["fallback"] = verified.dropped
                verified = yield from self._led(self._verified_deltas(state, self.fallback), lead)
        answer = self._finish(state, verified)
        if answer.refused:
            yield AnswerEvent(event="delta", text=answer.answer)
        elif tail := self._notes(state, {c.doc_id for c in answer.citations})[1]:
            yield AnswerEvent(event="delta", text=tail)
        yield AnswerEvent(event="answer", answer=answer)

    @staticmethod
    def _led(
        events: cabc.Generator[AnswerEvent, None, Verified], lead: str
    ) -> cabc.Generator[AnswerEvent, None, Verified]:
        """The deltas of ``events``, with ``lead`` sent just before the first of them (so a draft that
        verifies to nothing, then a refusal, never shows it)."""
        while True:
            try:
                event = next(events)
            except StopIteration as done:
                return done.value
            if lead and event.event == "delta":
                yield AnswerEvent(event="delta", text=lead)
                lead = ""
            yield event

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
        if (
            filters is not None
            and not filters.is_empty()
            and not any(matches(meta, filters) for meta in self.index.documents().values())
        ):
            raise NoMatchingDocuments(f"answer: no document matches these filters ({filters.describe()})")
        return {"question": question, "history": history or [], "mode": mode, "filters": filters,
                "k": k or self.settings.answer_k, "t0": time.perf_counter(), "t0_ns": time.time_ns(),
                "timings": {}}  # fmt: skip

    # -- stages ----------------------------------------------------------------------------------
    def _retrieve(self, state: dict[str, Any]) -> dict[str, Any]:
        t = time.perf_counter()
        query = self.generator.condense(state["question"], state["history"])
        cards = bool(ASKS_METADATA.search(state["question"]))
        results = self.index.search(query, state["k"], state["filters"], cards=cards)
        results += self.index.neighbours(results, self.settings.answer_window_top, self.settings.answer_window)
        mode = state["mode"] if state["mode"] is not Mode.auto else self.modes(state["question"])
        state.update(query=query, results=results, mode=mode)
        state["timings"]["retrieve"] = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        state["evidence"] = self._has_evidence(state)
        state["coverage"] = self._coverage(state) if state["evidence"] else Coverage()
        state["timings"]["coverage"] = (time.perf_counter() - t) * 1000
        return state

    def _coverage(self, state: dict[str, Any]) -> Coverage:
        """What the passages leave open of the question, and a premise they do not bear out."""
        results: list[SearchResult] = state["results"]
        cands = self.selector.candidates(results)
        if not cands:
            return Coverage()
        vecs = self.selector.score(scoring_query(state["query"], results), cands, Mode.explain)  # style-neutral
        rewords = {(results[cands[c].source - 1].title, results[cands[o].source - 1].title,
                    results[cands[o].source - 1].doc_id)
                   for c, o in self.selector.twins(cands, vecs, results).items()}  # fmt: skip
        leading = sorted(cands, key=lambda c: -c.score)[:LEADING_SENTENCES]
        by_source: dict[int, list[Any]] = {}
        for c in cands:
            by_source.setdefault(c.source, []).append(c)
        pool = []
        for c in leading:
            before = [o for o in by_source[c.source] if o.span.start < c.span.start]
            pool.append(Sentence(c.span.text, before[-1].span.text if before else ""))
        meta = [" ".join(str(v) for k, v in r.metadata.items() if k in METADATA_FIELDS) for r in results]
        premise = unsupported_premise(
            state["question"], [r.text for r in results] + meta, [s.text for s in pool] + meta
        )
        context = state["query"] if state["query"] != state["question"] else ""
        return Coverage(
            not_stated=not_stated(state["question"], pool, context), premise=premise, rewords=sorted(rewords)
        )

    @staticmethod
    def _notes(state: dict[str, Any], cited: set[str] | None = None) -> tuple[str, str]:
        """The lines the pipeline itself adds around a verified answer: a premise the library does not
        bear out (first); each part of the question it does not state, and a cited document that
        another one rewords (last)."""
        coverage: Coverage = state.get("coverage") or Coverage()
        lead = premise_note(coverage.premise) + "\n\n" if coverage.premise else ""
        lines = [not_stated_note(p) for p in coverage.not_stated]
        lines += [rewords_note(copy, original) for copy, original, doc_id in coverage.rewords
                  if doc_id in (cited or set())]  # fmt: skip
        return lead, "\n\n" + "\n".join(lines) if lines else ""

    def _generate(self, state: dict[str, Any]) -> dict[str, Any]:
        """Draft and verify together, as ``stream`` does, so both give the same answer and a draft that
        has lost the thread is stopped early in both."""
        state["timings"]["generate"] = state["timings"]["verify"] = 0.0
        state["verified"] = None
        if state["evidence"]:  # decided once, in the retrieve stage
            state["verified"] = _drain(self._verified_deltas(state, self.generator))
        return state

    def _verify(self, state: dict[str, Any]) -> Answer:
        """What verification left: the answer, the extractive fallback's, or a refusal."""
        verified: Verified | None = state["verified"]
        if verified is not None and not verified.citations and self.fallback is not None:
            state["fallback"] = verified.dropped
            verified = _drain(self._verified_deltas(state, self.fallback))
        return self._finish(state, verified)

    def gate_score(self, question: str, history: list[dict[str, str]] | None = None) -> float:
        """The refusal gate's signal for ``question``, from the passages ``ask`` would retrieve for
        it: the signal calibration chooses ``refusal_threshold`` on."""
        return best_similarity(self._retrieve(self._state(question, history, Mode.auto, None))["results"])

    # -- shared by ask and stream ----------------------------------------------------------------
    def _has_evidence(self, state: dict[str, Any]) -> bool:
        """Is any passage close enough to the question to try answering? (calibrated refusal) A
        passage a little below the threshold still counts when it names what the question names
        ("Google", "Bogotá"): dense similarity undersells short, name-led questions."""
        best = best_similarity(state["results"])
        if state["history"] and state["query"] != state["question"]:
            # A follow-up is read with the turn before it, so its passages are about that turn: one
            # that names a new subject ("And the Eden Project?") must find that subject, or be refused.
            asked = subject_names(state["question"])
            if asked and not any(asked & content_tokens(fold(f"{r.title} {r.text}")) for r in state["results"]):
                return False
        if best >= self.settings.refusal_threshold or answers_about_documents(state["question"], state["results"]):
            return True
        names = subject_names(state["question"]) or subject_names(state["query"])
        titles = content_tokens(fold(" ".join(r.title for r in state["results"])))
        names -= titles  # the document a question names is not evidence that the document answers it
        return best >= self.settings.refusal_threshold - NAMED_MARGIN and any(
            names & content_tokens(fold(r.text)) for r in state["results"] if (r.dense_score or 0.0) >= 0.1
        )

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
            lead, tail = self._notes(state, {c.doc_id for c in verified.citations})
            answer.answer = lead + verified.text + tail
            answer.citations = verified.citations
            answer.unsupported = verified.unsupported
            coverage: Coverage = state.get("coverage") or Coverage()
            answer.not_stated, answer.premise = coverage.not_stated, coverage.premise
        if verified is not None:
            answer.dropped = verified.dropped
        if "fallback" in state:  # the LLM's draft was dropped whole; its sentences stay visible to evaluation
            answer.fallback, answer.generator = True, "extractive"
            answer.dropped = state["fallback"] + answer.dropped
        timings = state["timings"]
        timings["total"] = (time.perf_counter() - state["t0"]) * 1000
        answer.timings_ms = {k: round(v, 1) for k, v in timings.items()}
        observe_answer(answer, state["t0_ns"])
        return answer


def best_similarity(results: list[SearchResult]) -> float:
    """The closest passage's dense similarity to the question: the refusal gate's signal."""
    return max((r.dense_score or 0.0 for r in results), default=0.0)


def _drain(events: cabc.Generator[AnswerEvent, None, Verified]) -> Verified:
    """Run a delta stream to its end for its return value."""
    while True:
        try:
            next(events)
        except StopIteration as done:
            return done.value
