"""question (+ history, filters, mode) → retrieve → gate → draft ⇄ verify → ``Answer``.

One driver, :meth:`AnswerPipeline.stream`, runs the stages (``rag.answer.stages``) in order and sends
verified text as it is made; :meth:`ask` drains it, so both give the same answer. The LangChain
face is a ``Runnable`` over the same driver (``pipeline.chain``), so the pipeline composes with
the ecosystem.
"""

from __future__ import annotations

import collections.abc as cabc
import logging
import time
from collections.abc import Iterator
from typing import Any, TypedDict, Unpack

from langchain_core.runnables import Runnable, RunnableLambda

from rag.answer.compose import Budget, PassageComposer
from rag.answer.generation import Generator, LLMGenerator
from rag.answer.model import Answer, AnswerEvent, CaseLink, Mode
from rag.answer.modes import ModeClassifier
from rag.answer.refusal import best_similarity
from rag.answer.sources import describe, refusal_message
from rag.answer.stages import Asked as Asked
from rag.answer.stages import NoMatchingDocuments, Reader, Work
from rag.answer.steering import classifier, words
from rag.answer.verify import Verified, Verifier
from rag.cases.library import CaseLibrary
from rag.core.config import Settings
from rag.core.language import proper_words
from rag.core.models import SearchFilters
from rag.core.observability import observe_answer
from rag.index.retrieval import SearchIndex

log = logging.getLogger(__name__)

__all__ = ["AnswerPipeline", "NoMatchingDocuments", "extractive_for", "make_generator", "refusal_message"]


class AskOptions(TypedDict, total=False):
    """What a question may come with besides its text: the conversation so far (``role``/``content``
    turns), a mode (default auto), metadata filters, and how many passages to answer from."""

    history: list[dict[str, str]] | None
    mode: Mode
    filters: SearchFilters | None
    k: int | None


def make_generator(settings: Settings, index: SearchIndex, cases: CaseLibrary | None = None) -> Generator:
    """The generator the settings name; an LLM one gets its chat model and the composer's units."""
    composer = extractive_for(settings, index, cases)
    if settings.generator == "extractive":
        return composer
    from rag.llm.chat import make_chat_model

    return LLMGenerator(make_chat_model(settings), name=settings.generator, units=composer)


def extractive_for(settings: Settings, index: SearchIndex, cases: CaseLibrary | None = None) -> PassageComposer:
    """The extractive composer over this index, within the settings' word budget."""
    return PassageComposer(
        index.sentences, lambda token: index.lexical.idf(token), Budget(words=settings.answer_words), cases=cases
    )


class AnswerPipeline:
    """One per process, like the index it reads."""

    def __init__(
        self,
        settings: Settings,
        index: SearchIndex,
        generator: Generator | None = None,
        cases: CaseLibrary | None = None,
    ) -> None:
        self.settings = settings
        self.index = index
        self.cases = cases or CaseLibrary(index)
        self.generator = generator or make_generator(settings, index, self.cases)
        # a generator that may write what the passages do not say gets the extractive one behind it
        self.fallback: Generator | None = None
        if settings.llm_fallback and not self.generator.verbatim:
            self.fallback = extractive_for(settings, index, self.cases)
        self.verifier = Verifier(index.embeddings, settings.support_threshold, settings.keep_unsupported)
        self.modes = ModeClassifier(index.embeddings)
        self.reader = Reader(settings, index, self.generator, self.modes, self.cases)
        self.chain: Runnable[dict[str, Any], Answer] = RunnableLambda(self._invoke, name="policyrag")

    def warm_up(self) -> None:
        """Load what the first answer needs beyond search (the steering classifier, spaCy's tagger, the
        library's refusal threshold: a search per probe), so no user's question pays for it."""
        words(["warm up"])
        proper_words("")
        classifier()
        self.reader.gate()

    def ask(self, question: str, **options: Unpack[AskOptions]) -> Answer:
        return _answer_of(self._run(self._asked(question, options, streaming=False)))

    def stream(self, question: str, **options: Unpack[AskOptions]) -> Iterator[AnswerEvent]:
        """``retrieved``, then verified ``delta`` text as the generator writes, then the ``answer``.

        Only sentences that passed verification are ever sent; a refusal arrives as one delta.
        """
        return self._run(self._asked(question, options, streaming=True))

    def gate_score(self, question: str, history: list[dict[str, str]] | None = None) -> float:
        """The refusal gate's signal for ``question``, from the passages ``ask`` would retrieve for
        it: the signal calibration chooses ``refusal_threshold`` on."""
        asked = Asked.check(self.settings, self.index, question, history, Mode.auto, None, None)
        return best_similarity(self.reader.retrieve(Work(asked)).results)

    def _invoke(self, inputs: dict[str, Any]) -> Answer:
        """The Runnable face: ``{"question": ..., "history"?, "mode"?, "filters"?, "k"?}``."""
        return self.ask(**inputs)

    def _asked(self, question: str, options: AskOptions, streaming: bool) -> Asked:
        """Checked before anything runs, so a bad question fails on the stream's first step."""
        mode, filters, k = options.get("mode", Mode.auto), options.get("filters"), options.get("k")
        return Asked.check(self.settings, self.index, question, options.get("history"), mode, filters, k, streaming)

    def _run(self, asked: Asked) -> Iterator[AnswerEvent]:
        # a generator function started here, so Asked.check has already raised for a bad question
        work = self.reader.retrieve(Work(asked))
        yield AnswerEvent(event="retrieved", retrieved=work.retrieved())
        work.timings["generate"] = work.timings["verify"] = 0.0
        verified: Verified | None = None
        if work.evidence:  # decided once, in the retrieve stage
            verified = yield from self._verified_deltas(work, self.generator)
            if self.fallback is not None and not verified.citations:
                work.fallback_dropped = verified.dropped
                verified = yield from self._verified_deltas(work, self.fallback)
        answer = self._finish(work, verified)
        if answer.refused:
            yield AnswerEvent(event="delta", text=answer.answer)
        elif work.tail:
            yield AnswerEvent(event="delta", text=work.tail)
        yield AnswerEvent(event="answer", answer=answer)

    def _verified_deltas(self, work: Work, generator: Generator) -> cabc.Generator[AnswerEvent, None, Verified]:
        """Stream ``generator``'s draft through a verify session: a delta per verified piece.

        A draft whose last ``llm_max_unsupported`` sentences all failed verification is stopped there:
        the model has lost the thread, and more of it would cost time and be dropped too.
        """
        timings = work.timings
        session = self.verifier.session(work.results, whole_units=generator.whole_units)
        pieces = generator.stream(work.question, work.results, work.mode, work.history)
        limit = 0 if generator.verbatim else self.settings.llm_max_unsupported
        while True:
            t = time.perf_counter()
            piece = next(pieces, None)
            timings["generate"] += (time.perf_counter() - t) * 1000
            t = time.perf_counter()
            stop = piece is not None and bool(limit) and session.misses_in_row >= limit
            if stop:
                close = getattr(pieces, "close", None)
                if close is not None:
                    close()  # ends the model's stream (and its HTTP request)
                session.abandon()
                text = ""
                log.info("generate: draft stopped after %d unverified sentences in a row", session.misses_in_row)
            else:
                text = session.close() if piece is None else session.feed(piece)
            timings["verify"] += (time.perf_counter() - t) * 1000
            if text:
                if work.asked.streaming:
                    timings.setdefault("first_delta", work.elapsed_ms())
                yield AnswerEvent(event="delta", text=text)
            if piece is None or stop:
                return session.result

    def _finish(self, work: Work, verified: Verified | None) -> Answer:
        """What verification left: the answer, the extractive fallback's, or a refusal."""
        answer = Answer(
            answer="", mode=work.mode, retrieved=work.retrieved(), query=work.query, generator=self.generator.name
        )
        if verified is None or not verified.citations:
            answer.refused = True
            answer.refusal_reason = "weak_retrieval" if verified is None else "no_supported_sentence"
            answer.answer = refusal_message(work.question, work.results, near=verified is not None)
        else:
            work.tail = describe(verified.citations, self.index.documents(), self.settings.trust_supersedes)
            answer.answer = verified.text + work.tail
            answer.citations = verified.citations
            answer.unsupported = verified.unsupported
            spans = [(c.doc_id, c.char_start, c.char_end) for c in verified.citations]
            answer.cases = [CaseLink(id=r.id, name=r.name) for r in self.cases.cited(spans)]
        if verified is not None:
            answer.dropped = verified.dropped
        if work.fallback_dropped is not None:  # the LLM's draft was dropped whole; still visible to evaluation
            answer.fallback, answer.generator = True, self.fallback.name if self.fallback else "extractive"
            answer.dropped = work.fallback_dropped + answer.dropped
        work.timings["total"] = work.elapsed_ms()
        answer.timings_ms = {k: round(v, 1) for k, v in work.timings.items()}
        observe_answer(answer, work.started_ns, record=self.settings.metrics_enabled)
        return answer


def _answer_of(events: Iterator[AnswerEvent]) -> Answer:
    """Run a stream to its end for its answer."""
    answer: Answer | None = None
    for event in events:
        if event.event == "answer":
            answer = event.answer
    assert answer is not None, "the stream ended without an answer"
    return answer
