"""The answer's stages around drafting, with typed inputs and outputs.

``Asked`` is what the caller asked; ``Work`` is what the stages made of it, passed from one stage
to the next: retrieve (condense the follow-up, search, resolve the mode), gate (is there evidence
enough to answer?), coverage (what the passages leave open, a premise they do not bear out), and
the notes the pipeline adds around a verified answer. Drafting and verification are in
``rag.answer.pipeline``, which drives these in order.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from rag.answer.candidates import COUNTED_LIST
from rag.answer.coverage import (
    ASKING,
    Coverage,
    Sentence,
    fold,
    not_stated,
    parts,
    subject_names,
    unfounded_claim,
    unfounded_why,
    unsupported_premise,
)
from rag.answer.gaps import specific_gaps
from rag.answer.generation import Generator
from rag.answer.model import AnswerError, Mode, Retrieved
from rag.answer.modes import ModeClassifier
from rag.answer.selection import SentenceSelector
from rag.answer.sentences import asked_meaning, asked_term, defines, is_action, scoring_query
from rag.cases.library import CaseLibrary
from rag.core.config import Settings
from rag.core.models import SearchFilters, SearchResult
from rag.core.text import content_tokens, display
from rag.index.cards import ASKS_METADATA, answers_about_documents
from rag.index.filters import matches
from rag.index.retrieval import SearchIndex

METADATA_FIELDS = ("title", "authors", "publisher", "date", "doc_type", "topics")
LEADING_SENTENCES = 8  # the passages' best sentences that coverage and premise checks read
LIST_READ_ON = 3  # passages read on from one that counts a list ("... on three related fronts."): its items
NAMED_MARGIN = 0.1  # how far below the refusal threshold a passage naming the question's subject may be
DEFINITION_LOOKUP = 12  # passages BM25 reads for a sentence defining a term no retrieved sentence defines
WORDS_SHARED = 0.25  # ... or a passage one of whose sentences carries this share of the question's word weight
STEPS_SHARE = 0.6  # a how-to question has steps when an action sentence scores this share of the best sentence


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
    focus: list[SearchResult] | None = None  # the passages to answer from, when narrower than ``results``
    mode: Mode = Mode.explain
    evidence: bool = False
    coverage: Coverage = field(default_factory=Coverage)
    fallback_dropped: list[str] | None = None  # the LLM draft's sentences, when the fallback answered
    tail: str = ""  # the lines the answer ends with (missing parts, rewordings, its sources' standing)

    @property
    def answering(self) -> list[SearchResult]:
        """The passages the answer is drafted and verified from."""
        return self.focus or self.results

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
    selector: SentenceSelector
    modes: ModeClassifier
    cases: CaseLibrary | None = None  # what the library states of each case it names

    def retrieve(self, work: Work) -> Work:
        t = time.perf_counter()
        asked = work.asked
        work.query = self.generator.condense(asked.question, asked.history)
        cards = bool(ASKS_METADATA.search(asked.question))
        results = self.index.search(work.query, asked.k, asked.filters, cards=cards)
        results += self.index.neighbours(results, self.settings.answer_window_top, self.settings.answer_window)
        counted = [i for i, r in enumerate(results) if COUNTED_LIST.search(r.text)]  # "... three fronts.\n 1. ..."
        results += self.index.neighbours(results, 0, LIST_READ_ON, only=counted) if counted else []
        whole = self.settings.answer_whole_documents
        results += self.index.short_documents(results, whole, self.settings.answer_whole_words, work.query)
        results += self.definitions(asked, results)
        work.results = results
        work.mode = asked.mode if asked.mode is not Mode.auto else self.modes(asked.question)
        work.timings["retrieve"] = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        work.evidence = self.has_evidence(work)
        work.coverage = self.coverage(work) if work.evidence and self.generator.notes else Coverage()
        if work.coverage.uncovered:
            work.evidence, work.coverage = False, Coverage()
        if work.coverage.no_steps:
            work.mode = Mode.explain  # the closest guidance, as a brief, under a note that says so
        if work.coverage.not_stated:
            work.focus = self.naming(work)
        work.timings["coverage"] = (time.perf_counter() - t) * 1000
        return work

    def naming(self, work: Work) -> list[SearchResult] | None:
        """For a question part of which the library does not state ("Which body runs the Zero
        Carbon Hub, and what is its budget?"): the passages that name its subject, so the answer gives
        what is stated of that subject and is not padded with nearby sentences about budgets."""
        names = subject_names(work.question) - content_tokens(fold(" ".join(r.title for r in work.results)))
        if not names:
            return None
        found = [r for r in work.results if names <= content_tokens(fold(r.text))]
        return found or None

    def definitions(self, asked: Asked, results: list[SearchResult]) -> list[SearchResult]:
        """For "what does X mean?" when no retrieved sentence defines X: the passages (BM25 on the
        term, at most two) holding a sentence that does ("Social productivity calls for ..."), which
        dense retrieval of a question about a whole framework can miss."""
        term = asked_meaning(asked.question)
        named = content_tokens(term or "")
        if not named or (asked.filters is not None and not asked.filters.is_empty()):
            return []
        own = [c for c in self.selector.candidates(results) if not c.card]
        if any(defines(display(c.span.text), named, whole=True) for c in own):
            return []
        have, out = {r.chunk_id for r in results}, []
        lexical = self.index.lexical
        for cid, _ in lexical.search(term or "", DEFINITION_LOOKUP):
            chunk = lexical.record(cid)
            if chunk is None or cid in have or chunk.is_card:
                continue
            found = SearchResult.of(chunk)
            if any(defines(display(c.span.text), named, whole=True) for c in self.selector.candidates([found])):
                out.append(found)
                if len(out) == 2:
                    break
        return out

    def has_evidence(self, work: Work) -> bool:
        """Is any passage close enough to the question to try answering? (calibrated refusal) A
        passage a little below the threshold still counts when it names what the question names
        ("Google", "Bogotá"), or when one of its sentences shares much of the question's rare words
        ("regulation plus", "further education colleges"); any passage counts that mentions a case
        of the case library the question names ("the A-teams"): dense similarity undersells short,
        name-led and term-led questions."""
        results = work.results
        best = best_similarity(results)
        if work.history and work.query != work.question:
            # A follow-up is read with the turn before it, so its passages are about that turn: one
            # that names a new subject ("And the Eden Project?") must find that subject, or be refused.
            asked = subject_names(work.question)
            if asked and not any(asked & content_tokens(fold(f"{r.title} {r.text}")) for r in results):
                return False
        if best >= self.settings.refusal_threshold or answers_about_documents(work.question, results):
            return True
        if self.cases is not None and self.cases.mentioned(work.question, {r.chunk_id for r in results}):
            return True  # "Who ran the A-teams?": a case the library knows, and a passage that names it
        if (term := asked_term(work.question)) and any(
            term <= content_tokens(display(c.span.text)) for c in self.selector.candidates(results) if not c.card
        ):
            return True  # "What are spin-outs?": a term the library uses (what it means may still be unsaid)
        if best < self.settings.refusal_threshold - NAMED_MARGIN:
            return False
        names = subject_names(work.question) or subject_names(work.query)
        titles = content_tokens(fold(" ".join(r.title for r in results)))
        names -= titles  # the document a question names is not evidence that the document answers it
        if any(names & content_tokens(fold(r.text)) for r in results if (r.dense_score or 0.0) >= 0.1):
            return True
        near = [r for r in results if (r.dense_score or 0.0) >= self.settings.refusal_threshold - NAMED_MARGIN]
        return self.selector.best_overlap(work.query, near) >= WORDS_SHARED

    def coverage(self, work: Work) -> Coverage:
        """What the passages leave open of the question, and a premise they do not bear out."""
        results = work.results
        cands = self.selector.candidates(results)
        if not cands:
            return Coverage()
        vecs = self.selector.score(scoring_query(work.query, results), cands, Mode.explain, sources=results)
        rewords = set()
        for copy, kept in self.selector.twins(cands, vecs, results).items():
            original = results[cands[kept].source - 1]
            start, end = original.locate(cands[kept].span.start, cands[kept].span.end)
            rewords.add((results[cands[copy].source - 1].title, original.title, original.doc_id, start, end))
        own = [c for c in cands if not c.card]
        best = max((c.score for c in own), default=0.0)
        steps = max((c.score for c in own if is_action(c.span.text, c.lead_in)), default=0.0)
        no_steps = work.mode is Mode.howto and steps < STEPS_SHARE * best
        leading = sorted(cands, key=lambda c: -c.score)[:LEADING_SENTENCES]
        by_source: dict[int, list[Any]] = {}
        for c in cands:
            by_source.setdefault(c.source, []).append(c)
        pool = []
        for c in leading:
            before = [o for o in by_source[c.source] if o.span.start < c.span.start]
            pool.append(Sentence(c.span.text, before[-1].span.text if before else ""))
        meta = [r.doc.stated(METADATA_FIELDS) for r in results]
        premise = unsupported_premise(work.question, [r.text for r in results] + meta, [s.text for s in pool] + meta)
        premise = premise or unfounded_why(work.question, self.index.lexical.knows)
        premise = premise or unfounded_claim(work.question, self.index.lexical.knows)
        # a follow-up ("And who paid for it?") is about what the previous question named, not every
        # name its answer happened to quote ("City", "Council")
        previous = next((t.get("content", "") for t in reversed(work.history) if t.get("role") == "user"), "")
        context = "" if work.query == work.question else previous if subject_names(previous) else work.query
        titles = content_tokens(fold(" ".join(f"{r.title} {' '.join(r.doc.authors)}" for r in results)))
        authors = content_tokens(fold(" ".join(a for r in results for a in r.doc.authors)))
        missing = not_stated(work.question, pool, context, titles, authors)
        # Nothing is covered when no other name of the question is in the passages and either every
        # part is missing or no passage holds a word it asks besides its premise ("What was the Eden
        # Project?", "How do I register with the Charity Commission?"). "Greenpeace runs the Zero
        # Carbon Hub; its budget?" still names the Hub.
        assumed = content_tokens(fold(premise or ""))
        others = subject_names(work.question) - assumed
        found = any(others & content_tokens(fold(r.text)) for r in results)
        rest = content_tokens(fold(work.question)) - ASKING - assumed  # what it asks besides the premise
        only_premise = bool(assumed) and not any(rest & content_tokens(fold(r.text)) for r in results)
        whole = not found and ((bool(missing) and len(missing) == len(parts(work.question))) or only_premise)
        records = self.cases.records() if self.cases is not None else []
        gaps = specific_gaps(work.question, [s.text for s in pool], records, [r.text for r in results])
        missing += [p for p in gaps if p not in missing]
        return Coverage(not_stated=missing, premise=premise, rewords=sorted(rewords), whole=whole, no_steps=no_steps)


def best_similarity(results: list[SearchResult]) -> float:
    """The closest passage's dense similarity to the question: the refusal gate's signal."""
    return max((r.dense_score or 0.0 for r in results), default=0.0)
