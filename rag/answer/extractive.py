"""The extractive composer: a query-focused brief built from verbatim sentences, no LLM.

It scores every sentence of the retrieved passages against the question, leads with the one that
answers it most directly, and adds only sentences nearly as good. What makes a sentence good is
that it answers, not that it is on the topic: the question's rare words count for more than its
common ones (BM25's IDF), a sentence that gives what the question asks for (a figure, a date, who
paid) gains, and a sentence that points back ("By doing this", "such claims") comes with the
sentence before it, verbatim, or not at all. The rendering follows the mode: how-to answers are
numbered actions only; precedents are one entry per named case; explanations are a short brief.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from rag.answer.candidates import quote
from rag.answer.contrast import contrast_terms
from rag.answer.coverage import names_in, subject_names
from rag.answer.focus import already_said, fields_only, given_first, named_only
from rag.answer.generation import Draft, condense
from rag.answer.lists import LIST_FLOOR, announced_items, siblings
from rag.answer.model import Mode
from rag.answer.precedent import Cases, case_entries, member_asked, series_asked
from rag.answer.selection import Candidate, SentenceSelector, W
from rag.answer.sentences import (
    DOCUMENT_VERBS,
    asked_meaning,
    asks_which_documents,
    is_action,
    scoring_query,
)
from rag.cases.model import CaseRecord
from rag.cases.names import case_name
from rag.core.models import SearchResult
from rag.core.text import content_tokens, display, fold, function_words
from rag.index.cards import DOCUMENT_WORDS

HOWTO_PRECEDENT = 0.75  # a case sentence scoring this share of the best step follows the steps
DOCUMENTS_LISTED = 5  # at most this many documents in an answer to "which documents speak of X?"
# A sentence of another document than the lead's joins an explain answer only at this share of the
# lead's score, or naming a case: a third sentence from elsewhere that only mentions the term ("In this
# report we argue that the concept of social productivity should frame the process") is padding.
OTHER_FLOOR = 0.9
# An explanation makes at most this many points (a sentence going on from a kept one is part of its
# point): a third sentence mostly restated the topic ("They are often described normatively as ...").
EXPLAIN_POINTS = 2


def named_in(record: CaseRecord, text: str) -> bool:
    """Does ``text`` name the case (its name or an alias, accents and quotes folded)?"""
    return any(fold(name) in fold(text) for name in (record.name, *record.aliases))


class ExtractiveGenerator:
    """Query-focused extraction: lead with the best sentence, add only near-equals, render by mode."""

    name = "extractive"
    verbatim = True
    notes = True
    whole_units = False

    def __init__(self, selector: SentenceSelector, max_sentences: int = 5, cases: Cases | None = None) -> None:
        self.selector = selector
        self.max_sentences = max_sentences
        self.cases = cases

    def condense(self, question: str, history: list[dict[str, str]] | None) -> str:
        return condense(question, history)

    def stream(
        self, question: str, sources: list[SearchResult], mode: Mode, history: list[dict[str, str]] | None = None
    ) -> Iterator[str]:
        yield self.generate(question, sources, mode, history).text

    def generate(
        self, question: str, sources: list[SearchResult], mode: Mode, history: list[dict[str, str]] | None = None
    ) -> Draft:
        cands = self.selector.candidates(sources)
        if not cands:
            return Draft("", mode)
        query = condense(question, history)
        about = frozenset(subject_names(question)) if query != question else frozenset()  # a follow-up's own subject
        vecs = self.selector.score(scoring_query(query, sources), cands, mode, about, sources)
        if mode is Mode.precedent and not about:
            titles = content_tokens(fold(" ".join(f"{r.title} {' '.join(r.doc.authors)}" for r in sources)))
            named_only([n for n in names_in(query) if not content_tokens(fold(n)) <= titles], cands)
        if query != question:
            already_said(question, history, cands)
        fields_only(question, cands)
        if mode is Mode.explain:  # steps answer a how-to question, and cases a precedent one, whatever else it asks
            given_first(question, cands, self.selector.min_score)
        if mode is not Mode.howto and self.cases and (member := member_asked(self.cases, cands, sources, query)):
            for i, c in enumerate(cands):  # "the first social enterprise": what is said of that one answers
                if not c.card:
                    c.score += W.other_one / 2 if i in member else -W.other_one / 2
        cands, vecs = self.selector.without_copies(cands, vecs, sources)
        if asks_which_documents(query) and (listed := self._documents(query, cands, sources)):
            return Draft(listed, mode)
        if mode is Mode.howto:
            steps = [i for i, c in enumerate(cands) if is_action(c.span.text, c.lead_in)]
            picked = (
                self.selector.select([cands[i] for i in steps], vecs[steps], self.max_sentences + 1, 0.8)
                if steps
                else []
            )
            if picked:
                picked = siblings(picked, cands, sources, self.max_sentences)
                used: set[tuple[int, int]] = set()
                said = [s for c in picked if (s := quote(c, used))]
                lines = [f"{i}. {s}" for i, s in enumerate(said, start=1)]
                done = self._done_before(picked, cands, sources, used)
                return Draft("\n".join(lines + ([done] if done else [])), mode)
            mode = Mode.explain
        terms = contrast_terms(question) if mode is Mode.explain else None
        if terms:
            return self._contrast(terms, cands, vecs, mode)
        if mode is Mode.precedent:
            by_case = (
                case_entries(self.cases, cands, vecs, sources, self.selector.min_score, question=question)
                if self.cases
                else None
            )
            if by_case is not None:
                return Draft("\n".join(by_case), mode)
            picked = self.selector.select(cands, vecs, self.max_sentences, 0.75)
            named = [c for c in picked if case_name(c.span.text)]
            if named:  # a precedent answer is its cases; a general sentence stays only if it outranks them
                best_case = max(c.score for c in named)
                picked = [c for c in picked if c in named or c.score >= best_case]
            entries: dict[str, list[Candidate]] = {}
            keys: dict[tuple[int, int], str] = {}  # each quoted sentence's entry
            for c in self._ordered(picked):  # "Their approach ..." goes in the entry of the sentence it points to
                host = keys.get((c.source, c.antecedent.start)) if c.antecedent else None
                key = host or case_name(c.span.text) or f"#{c.order}"
                keys[(c.source, c.span.start)] = key
                entries.setdefault(key, []).append(c)
            used = set()
            lines = []
            for name, group in entries.items():
                quoted = " ".join(s for c in group if (s := quote(c, used)))
                if quoted:
                    lines.append(f"- {'' if name.startswith('#') else f'**{name}**: '}{quoted}")
            return Draft("\n".join(lines), mode)
        if self.cases and (count := series_asked(question)):  # "the two social enterprises": each in turn
            members = case_entries(self.cases, cands, vecs, sources, self.selector.min_score, series=count)
            if members:
                return Draft("\n".join(members), mode)
        picked = self.selector.select(cands, vecs, min(self.max_sentences, 3))
        if picked:  # another document's sentence, nearly as good as the lead or naming a case
            lead = picked[0]
            same = {c.source for c in picked if sources[c.source - 1].doc_id == sources[lead.source - 1].doc_id}
            picked = [c for c in picked
                      if c.source in same or c.score >= OTHER_FLOOR * lead.score or case_name(c.span.text)]  # fmt: skip
        picked = self._points(picked, EXPLAIN_POINTS)
        if not asked_meaning(query):  # what one term means is not answered by the list it is an item of
            picked = siblings(picked, cands, sources, self.max_sentences)
        picked = self._ordered(announced_items(picked, cands, sources, self.max_sentences))
        used = set()
        return Draft(" ".join(s for c in picked if (s := quote(c, used))), mode)

    def _documents(self, question: str, cands: list[Candidate], sources: list[SearchResult]) -> str:
        """ "Which documents talk about X?": one line per document whose sentences name X, headed by
        its title and quoting its best such sentence, best document first; "" when none names it."""
        subject = content_tokens(question) - function_words() - DOCUMENT_WORDS - DOCUMENT_VERBS
        if not subject:
            return ""
        best: dict[str, Candidate] = {}
        for c in sorted(cands, key=lambda c: -c.score):  # every word of the subject, in the sentence itself
            if not c.card and c.score >= self.selector.min_score and subject <= content_tokens(display(c.span.text)):
                best.setdefault(sources[c.source - 1].doc_id, c)
        used: set[tuple[int, int]] = set()
        lines = []
        for c in list(best.values())[:DOCUMENTS_LISTED]:
            if quoted := quote(c, used):
                lines.append(f"- **“{sources[c.source - 1].title}”**: {quoted}")
        return "\n".join(lines)

    def _done_before(
        self, steps: list[Candidate], cands: list[Candidate], sources: list[SearchResult], used: set[tuple[int, int]]
    ) -> str:
        """A how-to answer's precedent: the best sentence naming a case of the case library, when it
        answers nearly as well as the best step ("How can a council help people start businesses?":
        Sunderland's virtual back office), as one line after the steps; "" when none does."""
        if self.cases is None:
            return ""
        floor = HOWTO_PRECEDENT * max(c.score for c in steps)
        for c in sorted(cands, key=lambda c: -c.score):
            if c.score < floor:
                break
            if c in steps or c.card or (c.source, c.span.start) in used:
                continue
            src = sources[c.source - 1]
            record = self.cases.naming(src.doc_id, *src.locate(c.span.start, c.span.end), c.span.text)
            if record is None or not named_in(record, SentenceSelector.reading(c)):
                continue  # the case is named in the next sentence of the item: this one says nothing of it
            if quoted := quote(c, used):
                return f"- **Where it has been done: {record.name[:1].upper() + record.name[1:]}**: {quoted}"
        return ""

    def _contrast(self, terms: tuple[str, str], cands: list[Candidate], vecs: np.ndarray, mode: Mode) -> Draft:
        """One part per term, each the best sentences that speak of that term."""
        used: set[tuple[int, int]] = set()
        lines, sides = [], []
        a, b = content_tokens(terms[0]), content_tokens(terms[1])
        for term, tokens in zip(terms, (a - b or a, b - a or b), strict=True):  # what tells the two apart
            about = [i for i, c in enumerate(cands) if tokens & content_tokens(self.selector.reading(c))]
            picked = self.selector.select([cands[i] for i in about], vecs[about], 2, 0.85) if about else []
            said = " ".join(s for c in picked if (s := quote(c, used)))
            sides += [max((cands[i] for i in about), key=lambda c: c.score)] if about else []
            if said:
                lines.append(f"- **{term[0].upper() + term[1:]}**: {said}")
        if len(lines) < 2:  # the library names one side only: a brief, with that side's best sentence
            picked = self.selector.select(cands, vecs, min(self.max_sentences, 3))  # ("targets or outcomes?")
            floor = LIST_FLOOR * max(c.score for c in cands)
            picked += [c for c in sides if c not in picked and c.score >= floor]
            used = set()
            return Draft(" ".join(s for c in picked if (s := quote(c, used))), mode)
        return Draft("\n".join(lines), mode)

    @staticmethod
    def _points(picked: list[Candidate], limit: int) -> list[Candidate]:
        """At most ``limit`` points, best first: a sentence that goes on from one already kept ("It
        looks to get beyond ...", after the sentence "It" stands for) is part of that point."""
        kept: list[Candidate] = []
        points = 0
        for c in picked:
            a = c.antecedent
            goes_on = a is not None and any(k.source == c.source and k.span.start < a.end and a.start < k.span.end
                                             for k in kept)  # fmt: skip
            if goes_on or points < limit:
                kept.append(c)
                points += 0 if goes_on else 1
        return kept

    @staticmethod
    def _ordered(picked: list[Candidate]) -> list[Candidate]:
        """A sentence that points back follows the sentence it points to when both are picked, so
        "It looks to ..." is never read after some other sentence."""
        out = [c for c in picked]
        for c in picked:
            a = c.antecedent
            host = next((p for p in out if a is not None and p.source == c.source and p.span.start == a.start), None)
            if host is not None:
                out.remove(c)
                out.insert(out.index(host) + 1, c)
        return out
