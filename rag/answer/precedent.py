"""Precedent entries from the case library: one entry per case, headed by its name as the text gives it.

A case named by its place in a series ("The first case works with service users ...", "In contrast,
the second case ...") is described over several sentences that name it once: "The majority of the
cases income ...", "Their approach ..." go on about the first case. Those sentences belong to its
entry as much as the one that names it, and the entry quotes the naming sentence, so a reader knows
which case the rest is about. Used by :mod:`rag.answer.extractive`.
"""

from __future__ import annotations

import re
from typing import Protocol

import numpy as np

from rag.answer.attributes import NUMERIC, SQUARE, asked_attributes, gives_any
from rag.answer.candidates import Candidate, quote
from rag.answer.coverage import ASKING
from rag.answer.selection import SentenceSelector
from rag.answer.sentences import places
from rag.cases.model import CaseRecord
from rag.cases.names import case_name
from rag.core.models import SearchResult
from rag.core.text import content_tokens, display, fold

PRECEDENT_WORDS = content_tokens(
    "example examples case cases precedent precedents instance instances real anyone anywhere somewhere someone "
    "there give point show done tried any some"
)  # asking for a precedent, not what it is a precedent of
PRECEDENT_FLOOR = 0.75  # a case whose best sentence scores below this share of the best case's is left out
PRECEDENT_CASES = 4  # at most this many cases in a precedent answer
NEAR_SAME = 0.9  # two sentences this close say the same: a case's second quote must add something
GENERAL_MARGIN = 1.1  # a sentence naming no case that beats the best case's by this much: no case answers
SERIES_QUOTES = 3  # a series member's best sentences quoted (with the one naming it)

MEMBER = re.compile(r"^(?:the\s+)?(?:first|second|third|fourth|fifth|final|last)\s+[\w-]+$", re.IGNORECASE)
# "How do the two social enterprises differ?", "What do both organisations do?": one part per member
SERIES_QUESTION = re.compile(r"\b(?:the (two|three|four|five)|(both))\b", re.IGNORECASE)
SHARED = re.compile(r"\b(?:in common|share[ds]?|similar\w*|alike|the same)\b", re.IGNORECASE)
COUNTS = {"both": 2, "two": 2, "three": 3, "four": 4, "five": 5}


def series_asked(question: str) -> int:
    """How many members of a series a question asks about ("the two social enterprises": 2), or 0."""
    m = SERIES_QUESTION.search(question)
    if not m or SHARED.search(question):  # "what do the two have in common?" asks what they share
        return 0
    return COUNTS[(m.group(1) or m.group(2)).lower()]


OF_THEM_ALL = re.compile(r"^\W*(?:both|the (?:two|three|four|five)|all|each)\b", re.IGNORECASE)


class Cases(Protocol):
    """The case library as the composer reads it (``rag.cases.library.CaseLibrary``)."""

    def naming(self, doc_id: str, start: int, end: int, text: str, question: str = "") -> CaseRecord | None: ...


def described(cands: list[Candidate], sources: list[SearchResult], owner: dict[int, str], members: set[str]) -> None:
    """Extends ``owner`` (candidate → the case it names) to each sentence that directly follows a
    series member's sentence in the same document, until one names another case or speaks of them
    all ("Both organisations argue ..."), or a sentence that is not quoted (a heading) comes between."""
    rows: dict[str, list[tuple[int, int, int]]] = {}
    for i, c in enumerate(cands):
        if not c.card:
            src = sources[c.source - 1]
            rows.setdefault(src.doc_id, []).append((*src.locate(c.span.start, c.span.end), i))
    for doc in rows.values():
        current, last_end = None, -10
        for start, end, i in sorted(doc):
            if i in owner:
                current = owner[i] if owner[i] in members else None
            elif current is not None and start - last_end <= 2 and not OF_THEM_ALL.match(display(cands[i].span.text)):
                owner[i] = current
            else:
                current = None
            last_end = end


def named_cases(
    cases: Cases, cands: list[Candidate], sources: list[SearchResult], question: str = ""
) -> tuple[dict[int, str], dict[str, CaseRecord]]:
    """Which case each candidate names (candidate → case id), and those cases by id."""
    owner: dict[int, str] = {}
    records: dict[str, CaseRecord] = {}
    for i, c in enumerate(cands):
        src = sources[c.source - 1]
        record = (
            None if c.card else cases.naming(src.doc_id, *src.locate(c.span.start, c.span.end), c.span.text, question)
        )
        if record is not None:
            owner[i], records[record.id] = record.id, record
    return owner, records


def by_place(record: CaseRecord, asked: set[str]) -> bool:
    """Is the case a member of a series named by one of these places ("first", "second")?"""
    name = record.name.strip()
    return bool(MEMBER.match(name)) and name.lower().removeprefix("the ").split()[0] in asked


def member_asked(cases: Cases, cands: list[Candidate], sources: list[SearchResult], question: str) -> set[int]:
    """The candidates about the member of a series the question names by its place ("What does the
    first social enterprise sell?": "The first case works with ...", "The majority of the cases
    income ...", "Their approach ..."); empty when it names none, or no sentence names it."""
    asked = places(question)
    if len(asked) != 1:
        return set()
    owner, records = named_cases(cases, cands, sources)
    members = {rid for rid, r in records.items() if by_place(r, asked)}
    if len(members) != 1:
        return set()
    described(cands, sources, owner, members)
    return {i for i, rid in owner.items() if rid in members}


def case_entries(
    cases: Cases,
    cands: list[Candidate],
    vecs: np.ndarray,
    sources: list[SearchResult],
    min_score: float,
    series: int = 0,
    question: str = "",
) -> list[str] | None:
    """The entries of a precedent answer: one per case the best sentences are mentions of, led by
    its best sentence and joined by its best one from another document (a case merged across
    documents); a series member's by the sentence that names it too. A sentence naming no case that
    outscores every case ("secondments into skunkworks projects") leads, unheaded. None when no
    sentence names a case, or when a sentence naming none answers clearly better than any case.

    ``series``: the members of a series only, this many ("the two social enterprises"), each in the
    text's order whatever its score; None unless that many are found (the question's count may be
    wrong: "the three case studies" of an abstract that compares two). A sentence naming two cases
    is an entry of the one ``question`` names."""
    owner, records = named_cases(cases, cands, sources, question)
    members = {rid for rid, r in records.items() if MEMBER.match(r.name.strip())}
    naming = dict(owner)
    described(cands, sources, owner, members)
    named: dict[str, list[int]] = {}
    for i, rid in owner.items():
        if not series or rid in members:
            named.setdefault(rid, []).append(i)
    general = [i for i in range(len(cands)) if i not in owner]
    # only a sentence that names a case itself, though not one of the library's ("A-teams of young civil
    # servants"), outranks the library's cases: "Social enterprises ... are a major provider" does not
    precedents = [i for i in general if case_name(cands[i].span.text)]
    if not named or (series and len(named) != series):
        return None
    ranked = sorted(((records[rid], sorted(g, key=lambda i: -cands[i].score)) for rid, g in named.items()),
                    key=lambda e: -cands[e[1][0]].score)  # fmt: skip
    if not series and (asked := content_tokens(fold(question)) - ASKING - PRECEDENT_WORDS):
        # a case none of whose sentences shares a word of what is asked, or gives what it asks for
        # ("voluntary taxes" for ways to raise money), is not an example of it ("A-teams of young
        # civil servants" for "social enterprises running public services")
        topical = [a for a in asked_attributes(question) if a.name not in NUMERIC]  # any figure is a number
        square = [a for a in topical if a.name in SQUARE]  # ways to raise money: a case that says where money came from

        def on_topic(c: Candidate) -> bool:
            text = SentenceSelector.reading(c)
            if square:
                return gives_any(text, square)
            return bool(asked & content_tokens(fold(text))) or gives_any(text, topical)

        placed = places(question)  # "the first social enterprise" names its case, whatever words it shares
        ranked = [e for e in ranked if by_place(e[0], placed) or any(on_topic(cands[i]) for i in e[1])] or ranked
    best = cands[ranked[0][1][0]].score
    if series:
        ranked.sort(key=lambda e: min(cands[i].order for i in e[1]))  # the first, then the second
    else:
        top_general = max((cands[i].score for i in precedents), default=0.0)
        if best < min_score or top_general > GENERAL_MARGIN * best:
            return None
        ranked = [e for e in ranked[:PRECEDENT_CASES] if cands[e[1][0]].score >= PRECEDENT_FLOOR * best]
        at = [k for k, e in enumerate(ranked) if e[0].id in members]  # a series' members keep its order
        for k, e in zip(
            at, sorted((ranked[k] for k in at), key=lambda e: min(cands[i].order for i in e[1])), strict=True
        ):
            ranked[k] = e
    used: set[tuple[int, int]] = set()
    lines = []
    if not series:
        # ... a general sentence leads only as an example among examples (a list's item), naming a case
        # itself, or giving what is asked ("The kitchens served 400 meals a week"); not "Social
        # enterprises ... are a major provider of public services" for examples of them
        asks = asked_attributes(question)
        gives = {i for i in general if gives_any(cands[i].span.text, asks)}
        items = [i for i in general if cands[i].lead_in or i in precedents or i in gives]
        for i in [i for i in sorted(items, key=lambda i: -cands[i].score) if cands[i].score > best][:1]:
            if quoted := quote(cands[i], used):
                lines.append(f"- {quoted}")
    for record, group in ranked:
        picked = group[:SERIES_QUOTES] if series else [group[0]]
        doc = sources[cands[group[0]].source - 1].doc_id
        elsewhere = [i for i in group[1:] if sources[cands[i].source - 1].doc_id != doc]
        if (
            elsewhere
            and cands[elsewhere[0]].score >= PRECEDENT_FLOOR * best
            and float(vecs[elsewhere[0]] @ vecs[group[0]]) < NEAR_SAME
        ):
            picked.append(elsewhere[0])
        if record.id in members and group[0] not in naming:  # which case the sentence is about
            names = [i for i in group if i in naming]
            picked = sorted(set(picked) | set(names[:1]), key=lambda i: cands[i].order)
        if quoted := " ".join(q for i in picked if (q := quote(cands[i], used))):
            lines.append(f"- **{record.name[:1].upper() + record.name[1:]}**: {quoted}")
    return lines
