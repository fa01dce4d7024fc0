"""Sentence selection: the sentences of the retrieved passages, scored against the question.

What makes a sentence good is that it answers, not that it is on the topic: the question's rare
words count for more than its common ones (BM25's IDF), a sentence that gives what the question
asks for (a figure, a date, who paid) gains, one close to the library's mean vector (it fits
every question) loses, and a sentence that points back comes with the sentence before it or not
at all. Used by the extractive composer, by coverage, and to focus an LLM's context.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from rag.answer.attributes import asked_attributes, gives_any
from rag.answer.candidates import Candidate, candidates
from rag.answer.model import Mode
from rag.answer.sentences import (
    DEFINITION_Q,
    asked_term,
    defines,
    is_action,
    other_document,
    other_ordinal,
    other_year,
    scoring_query,
)
from rag.answer.softmatch import soft_overlap, subject_vectors
from rag.cases.names import case_name
from rag.core.models import SearchResult
from rag.core.text import content_tokens, display, fold, function_words
from rag.index.cards import ASKS_METADATA, DOCUMENT_WORDS, FIELD_WORDS, asked_fields
from rag.index.embeddings import MiniLMEmbeddings

TWIN = 0.8  # two documents' sentences this close say the same thing (measured: no other pair of seeds has one)
TWIN_READ = 0.6  # ... or this close and in the same words: the copy's item has lost its label ("The forging of
# new shared values: Public Managers and businesses need to think beyond ..." / "Public managers should ...")
SAME_WORDS = 0.8  # share of the shorter sentence's content words the other has


def same_words(a: str, b: str) -> bool:
    """Do two sentences say it in the same words (most of the shorter one's content words)?"""
    x, y = content_tokens(a) - function_words(), content_tokens(b) - function_words()
    return bool(x and y) and len(x & y) >= SAME_WORDS * min(len(x), len(y))


@dataclass(frozen=True)
class Weights:
    """How a sentence's score is made: similarity to the question, IDF-weighted word overlap, a
    word-level soft match (the best of the three at picking the answering sentence alone), and a
    penalty for closeness to the library's mean vector (a sentence that fits every question); then
    small bonuses for a sentence of the kind the question asks for (capped), and a penalty that
    takes a sentence out of the running. Recorded in every evaluation's manifest."""

    dense: float = 0.3
    lexical: float = 0.2
    soft: float = 0.5  # word-level soft match: each question word's closest word of the sentence
    soft_base: float = 0.15  # ... counted above what an unrelated sentence reaches (so floors stay apart)
    generic: float = 0.3
    gives: float = 0.06  # states what the question asks for (a person, a figure, a date ...)
    defines: float = 0.06  # defines the term a definition question asks about
    action: float = 0.08  # how-to: recommends or describes an action
    case: float = 0.08  # precedent: names a case
    bonus_cap: float = 0.12
    card_field: float = 0.1  # a document card stating the field asked for (one stating another is excluded)
    card_named: float = 0.8  # a card must name the document at least this share as well as the best card
    other_one: float = 0.2  # of another one than asked: of a series ("the second case" for "the first enterprise"),
    # another document than the question names (by year or title's words), another term than it quotes
    not_given: float = 0.15  # split up/down between sentences that give what a one-part question squarely asks and not
    excluded: float = 1.0  # subtracted from a sentence that must not be chosen


W = Weights()
READ_TOP = 2  # every sentence of the best passages is scored in full ...
READ_SHARED = 0.05  # ... and of the others, those carrying this share of the question's word weight (dev, sotu: same)
READ_GIVING = frozenset({"measure"})  # ... or giving this, which no word of the question says ("judge" → "measured")


class SentenceSelector:
    """Scores candidate sentences for a question and picks the best few without repeats."""

    def __init__(
        self,
        embeddings: MiniLMEmbeddings,
        min_score: float = 0.15,
        mmr_lambda: float = 0.9,  # scores differ by hundredths: at 0.7 dissimilarity alone chose the second sentence
        relative_floor: float = 0.8,
        idf: Callable[[str], float] | None = None,
        centroid: Callable[[], np.ndarray | None] | None = None,
    ) -> None:
        self.embeddings = embeddings
        self.relative_floor = relative_floor
        self.min_score = min_score
        self.mmr_lambda = mmr_lambda
        self.idf = idf
        self.centroid = centroid

    def candidates(self, sources: list[SearchResult]) -> list[Candidate]:
        return candidates(sources)

    def _overlap(self, question: str | frozenset[str], text: str, every_word: bool = False) -> float:
        """The share of the question's word weight (IDF) that ``text`` carries; words that name no
        subject ("how", "does") do not count unless ``every_word`` or the question has no other."""
        q = content_tokens(question) if isinstance(question, str) else question
        q = q if every_word else (q - function_words()) or q
        if not q:
            return 0.0
        shared = q & content_tokens(text)
        if self.idf is None:
            return len(shared) / len(q)
        return sum(self.idf(t) for t in shared) / sum(self.idf(t) for t in q)

    def best_overlap(self, question: str, sources: list[SearchResult]) -> float:
        """The largest share of the question's word weight (IDF) that one sentence of ``sources``
        carries: a sentence that shares the question's rare words ("regulation plus") is evidence
        even when the passage as a whole reads far from the question."""
        query = scoring_query(question, sources)
        return max(
            (self._overlap(query, self.reading(c), every_word=True) for c in self.candidates(sources) if not c.card),
            default=0.0,
        )

    @staticmethod
    def reading(c: Candidate) -> str:
        """What a candidate says, as scored: with its lead-in and the sentence it points back to."""
        before = display(c.antecedent.text) if c.antecedent else ""
        return " ".join(x for x in (c.context, before, display(c.span.text)) if x)

    def score(
        self,
        question: str,
        cands: list[Candidate],
        mode: Mode,
        about: frozenset[str] = frozenset(),
        sources: list[SearchResult] | None = None,
    ) -> np.ndarray:
        """Each candidate's score (set on it); the readings' vectors. ``about``: the names a follow-up
        asks about ("And Bogotá?"), which a sentence must mention. ``sources``: their passages."""
        texts = [self.reading(c) for c in cands]
        # Only sentences that can win are embedded (the embedding is most of an answer's time): those of the
        # best passages and of the document the question names, and elsewhere those that share its words.
        elsewhere = other_year(question, sources or []) | other_document(question, sources or [])
        asks = asked_attributes(question)
        telling = [a for a in asks if a.name in READ_GIVING]
        read = [i for i, c in enumerate(cands)
                if c.card or c.source <= READ_TOP or (bool(elsewhere) and c.source not in elsewhere)
                or self._overlap(question, texts[i]) >= READ_SHARED
                or gives_any(display(c.span.text), telling)]  # fmt: skip
        lists = {cands[i].context for i in read} - {""}  # a list is read whole: its items answer together
        read = sorted(set(read) | {i for i, c in enumerate(cands) if c.context in lists})
        found, pieces = self.embeddings.embed_with_tokens([question, *(texts[i] for i in read)])
        vecs = np.zeros((len(cands) + 1, found.shape[1]), dtype=np.float32)
        vecs[[0, *(i + 1 for i in read)]] = found
        soft = np.zeros(len(cands))
        asked = subject_vectors(pieces[0])
        soft[read] = [W.soft * (soft_overlap(asked, p) - W.soft_base) for p in pieces[1:]]
        unread = set(range(len(cands))) - set(read)
        sims = vecs[1:] @ vecs[0]
        centre = self.centroid() if self.centroid else None
        generic = vecs[1:] @ centre if centre is not None else np.zeros(len(cands))
        quoted = " ".join(re.findall(r"['‘“\"]([^'’”\"]{3,40})['’”\"]", question))
        term = asked_term(question) or content_tokens(quoted)
        term = term or content_tokens(question)
        definition = mode is Mode.explain and bool(DEFINITION_Q.search(question) or quoted)
        about_documents, fields = bool(ASKS_METADATA.search(question)), asked_fields(question)
        # A question that names a document ("the post on business, society ...") is answered by that
        # document's card only; one that names none ("which are blogs?") by every card.
        subject = content_tokens(question) - FIELD_WORDS - DOCUMENT_WORDS
        named = {i: self._overlap(subject, c.names) if subject else 1.0 for i, c in enumerate(cands) if c.card}
        best_named = max(named.values(), default=0.0)
        for i, c in enumerate(cands):
            own = display(c.span.text)
            if c.card:  # who wrote a document, and when, answers only a question about the document
                c.score = float(W.dense * sims[i] + W.lexical * self._overlap(question, texts[i]) + soft[i])
                other_field = bool(fields) and c.card not in fields  # "who wrote it?" is not answered by its topics
                if not about_documents or not named[i] or named[i] < W.card_named * best_named or other_field:
                    c.score -= W.excluded
                elif fields:
                    c.score += W.card_field
                continue
            bonus = W.gives * sum(bool(a.gives.search(own)) for a in asks) - W.generic * float(generic[i])
            if other_ordinal(question, texts[i]) or c.source in elsewhere:
                bonus -= W.other_one
            if definition and defines(own, term, whole=bool(quoted)):
                bonus += W.defines
            elif quoted and not term <= content_tokens(fold(texts[i])):  # "shared values" for 'shared spaces'
                bonus -= W.other_one
            if mode is Mode.howto and is_action(c.span.text, c.lead_in):
                bonus += W.action
            if mode is Mode.precedent and case_name(own):
                bonus += W.case
            lexical = W.lexical * self._overlap(question, texts[i])
            c.score = float(W.dense * sims[i] + lexical + soft[i] + min(bonus, W.bonus_cap))
            if about and not about & content_tokens(fold(texts[i])):
                c.score -= W.excluded  # a follow-up that names its subject is answered by sentences that name it
            if i in unread:
                c.score -= W.excluded
        return vecs[1:]

    @staticmethod
    def twins(cands: list[Candidate], vecs: np.ndarray, sources: list[SearchResult]) -> dict[int, int]:
        """Sentences of two documents that say the same thing (one document rewords the other):
        copy index → original index. The copy is an undated document; the original, the dated
        (earlier), attributed one."""

        def origin(c: Candidate) -> tuple[str, int, str]:
            doc = sources[c.source - 1].doc
            return doc.date or "9999", 0 if doc.authors else 1, doc.doc_id

        out: dict[int, int] = {}
        if len(cands) < 2:
            return out
        sims = vecs @ vecs.T
        for i, j in zip(*np.nonzero(np.triu(sims, 1) >= TWIN_READ), strict=True):
            a, b = cands[i], cands[j]
            if a.card or b.card or sources[a.source - 1].doc_id == sources[b.source - 1].doc_id:
                continue
            if sims[i, j] < TWIN and not same_words(a.span.text, b.span.text):
                continue
            copy, original = (int(i), int(j)) if origin(a) > origin(b) else (int(j), int(i))
            if origin(cands[copy])[0] != "9999":
                continue  # two dated documents saying the same (a speech repeating last year's line) are two sources
            out.setdefault(copy, original)
        return out

    def without_copies(
        self, cands: list[Candidate], vecs: np.ndarray, sources: list[SearchResult]
    ) -> tuple[list[Candidate], np.ndarray]:
        """The candidates with each reworded copy folded into its original (which keeps the better score)."""
        copies = self.twins(cands, vecs, sources)
        for copy, original in copies.items():
            cands[original].score = max(cands[original].score, cands[copy].score)
        keep = [i for i in range(len(cands)) if i not in copies]
        return [cands[i] for i in keep], vecs[keep]

    def select(
        self, cands: list[Candidate], vecs: np.ndarray, limit: int, floor_ratio: float | None = None
    ) -> list[Candidate]:
        chosen: list[int] = []
        best_score = max((c.score for c in cands), default=0.0)
        floor = max(self.min_score, (floor_ratio or self.relative_floor) * best_score)  # no padding with weak ones
        pool = [i for i, c in enumerate(cands) if c.score >= floor]
        while pool and len(chosen) < limit:

            def mmr(i: int) -> float:
                redundancy = max((float(vecs[i] @ vecs[j]) for j in chosen), default=0.0)
                return self.mmr_lambda * cands[i].score - (1 - self.mmr_lambda) * redundancy

            best = max(pool, key=mmr)
            pool.remove(best)
            if any(float(vecs[best] @ vecs[j]) > 0.9 for j in chosen):
                continue  # a near-duplicate (e.g. the re-worded copy of a report summary)
            chosen.append(best)
        return [cands[i] for i in chosen]

    def focus(self, question: str, sources: list[SearchResult], mode: Mode, limit: int) -> dict[int, str]:
        """The ``limit`` sentences of ``sources`` that bear most on the question, per source number,
        in document order (with a list item's lead-in line): the context an LLM is given.

        A small model reads a few relevant sentences faster and strays less than it does over whole
        passages; every sentence is verbatim source text, so verification is unchanged.
        """
        cands = self.candidates(sources)
        if not cands:
            return {}
        vecs = self.score(scoring_query(question, sources), cands, mode, sources=sources)
        cands, _ = self.without_copies(cands, vecs, sources)
        best = sorted(cands, key=lambda c: -c.score)[:limit]
        lines: dict[int, list[str]] = {}
        for c in sorted(best, key=lambda c: (c.source, c.order)):
            out = lines.setdefault(c.source, [])
            for text in (c.context, display(c.antecedent.text) if c.antecedent else ""):
                if text and text not in out:
                    out.append(text)
            out.append(display(c.span.text))
        return {n: "\n".join(text) for n, text in sorted(lines.items())}
