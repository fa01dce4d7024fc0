"""The answer's stages around drafting, with typed inputs and outputs.

``Asked`` is what the caller asked; ``Work`` is what the stages made of it, passed from one stage
to the next: retrieve (condense the follow-up, search, read on around the best passages, resolve
the mode), then the gate (is there evidence enough to answer?). Drafting and verification are in
``rag.answer.pipeline``, which drives these in order.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from rag.answer.generation import Generator
from rag.answer.model import AnswerError, Mode, Retrieved
from rag.answer.modes import ModeClassifier
from rag.answer.refusal import RefusalThreshold, best_similarity
from rag.cases.library import CaseLibrary
from rag.core.config import Settings
from rag.core.language import names_in
from rag.core.models import SearchFilters, SearchResult
from rag.core.text import content_tokens, fold
from rag.index.cards import ASKS_METADATA, answers_about_documents
from rag.index.filters import matches
from rag.index.retrieval import SearchIndex


class NoMatchingDocuments(AnswerError):
    """The question's filters leave no document to answer from: not a gap in the library."""


@dataclass(frozen=True)
class Asked:
    """One question as the caller put it, checked."""

    question: str
    history: list[dict[str, str]]
    mode: Mode
    filters: SearchFilters | None
    k: int
    streaming: bool = False  # record when the first verified text went out

    @classmethod
    def check(
        cls,
        settings: Settings,
        index: SearchIndex,
        question: str,
        history: list[dict[str, str]] | None,
        mode: Mode,
        filters: SearchFilters | None,
        k: int | None,
        streaming: bool = False,
    ) -> Asked:
        question = " ".join(question.split())
        if not question:
            raise AnswerError("answer: the question is empty")
        if len(question) > settings.max_question_chars:
            raise AnswerError(f"answer: the question is over {settings.max_question_chars} characters")
        if k is not None and not 1 <= k <= 20:
            raise AnswerError("answer: k (passages to answer from) must be between 1 and 20")
        if (
            filters is not None
            and not filters.is_empty()
            and not any(matches(entry.meta, filters) for entry in index.documents().values())
        ):
            raise NoMatchingDocuments(f"answer: no document matches these filters ({filters.describe()})")
        return cls(question, history or [], mode, filters, k or settings.answer_k, streaming)


@dataclass
class Work:
    """What the stages have made of one question so far."""

    asked: Asked
    started: float = field(default_factory=time.perf_counter)
    started_ns: int = field(default_factory=time.time_ns)
    timings: dict[str, float] = field(default_factory=dict)
    query: str = ""
    results: list[SearchResult] = field(default_factory=list)
    mode: Mode = Mode.explain
    evidence: bool = False
    fallback_dropped: list[str] | None = None  # the LLM draft's sentences, when the fallback answered
    tail: str = ""  # the lines the answer ends with (its sources' standing)

    @property
    def question(self) -> str:
        return self.asked.question

    @property
    def history(self) -> list[dict[str, str]]:
        return self.asked.history

    def retrieved(self) -> list[Retrieved]:
        return [Retrieved(chunk_id=r.chunk_id, doc_id=r.doc_id, title=r.title, score=r.score) for r in self.results]

    def elapsed_ms(self) -> float:
        return (time.perf_counter() - self.started) * 1000


@dataclass
class Reader:
    """The read-side stages: what to search for, what it found, and whether that is evidence."""

    settings: Settings
    index: SearchIndex
    generator: Generator
    modes: ModeClassifier
    cases: CaseLibrary | None = None  # what the library states of each case it names
    gate: RefusalThreshold = field(init=False)  # the gate's cut for the library as it is now

    def __post_init__(self) -> None:
        self.gate = RefusalThreshold(self.settings, self.index)

    def retrieve(self, work: Work) -> Work:
        """The hits, then what the answer may read beyond them: the best hits' neighbouring
        passages and the best documents whole when short, so a list a chunk boundary cut, or the
        section the best passage sits in, is there to answer from."""
        t = time.perf_counter()
        asked = work.asked
        work.query = self.generator.condense(asked.question, asked.history)
        cards = bool(ASKS_METADATA.search(asked.question))
        results = self.index.search(work.query, asked.k, asked.filters, cards=cards)
        results += self.index.neighbours(results, self.settings.answer_window_top, self.settings.answer_window)
        whole = self.settings.answer_whole_documents
        results += self.index.short_documents(results, whole, self.settings.answer_whole_words, work.query)
        work.results = results
        work.mode = asked.mode if asked.mode is not Mode.auto else self.modes(asked.question)
        work.timings["retrieve"] = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        work.evidence = self.has_evidence(work)
        work.timings["gate"] = (time.perf_counter() - t) * 1000
        return work

    def has_evidence(self, work: Work) -> bool:
        """Is any passage close enough to try answering? A question that names something ("the Big
        Lottery Fund") is covered when a passage names it too, else not, however near the rest reads;
        else the closest passage's similarity decides (calibrated), or the documents' cards for a
        question about the documents, or the case library for a case a passage mentions."""
        results = work.results
        names = names_in(work.question)
        if names:  # a name the library uses is as good as a near passage; one it does not use, a refusal
            held = [content_tokens(fold(f"{r.title} {r.text}")) for r in results]
            return any(name <= tokens for name in names for tokens in held)
        return (
            best_similarity(results) >= self.gate() or answers_about_documents(work.question, results)
            or bool(self.cases is not None and self.cases.mentioned(work.question, {r.chunk_id for r in results}))
        )  # fmt: skip
