"""The passage-first extractive composer: the author's units, verbatim, within a word budget.

It reads the retrieved passages as units (``rag.answer.units``), scores them against the question
(``rag.answer.rank``), leads with the best, and adds the next best while each still scores a good
share of the lead's and the answer stays within the budget. Nothing is said twice or lifted out of
its unit (a blind reader preferred that to an opening line copied from the lead unit, 11 to 4). A
unit keeps its reading order; a list keeps its lead-in and its own items only (never items of
different lists), and leads a how-to answer as its steps. Inside each unit the sentences that bear
most on the question are set in bold (and flagged ``highlight`` on their citations). Every sentence
carries ``[n]`` for the passage that holds it, so the one verifier every generator goes through
cites it verbatim. A precedent answer groups its units by the case of the case library they name.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

from rag.answer.generation import condense
from rag.answer.model import Mode
from rag.answer.rank import WEIGHTS, Ranked, TextVectors, Weights, rank
from rag.answer.units import NUMBERED, Piece, Unit, card_units, units
from rag.cases.model import CaseRecord
from rag.core.models import SearchResult
from rag.core.text import BULLET, content_tokens, plain, sentences
from rag.index.cards import CARD_SECTION, asked_fields


class Cases(Protocol):
    """The case library as the composer reads it (``rag.cases.library.CaseLibrary``)."""

    def cited(self, spans: list[tuple[str, int, int]]) -> list[CaseRecord]: ...


@dataclass(frozen=True)
class Budget:
    words: int = 200  # the answer's length, at most (a lead unit longer than this is cut at it)
    floor: float = 0.6  # a further unit joins only at this share of the lead's score (fitted on dev-tune)
    other: float = 0.9  # ... and a unit of another document than the lead's at this share (fitted on dev-tune)
    highlight: float = 0.9  # a piece is highlighted at this share of the answer's best piece similarity


class PassageComposer:
    """Answers with the author's units: lead + support within ``budget``, highlighted."""

    name = "extractive"
    verbatim = True
    whole_units = True

    def __init__(
        self, vectors: TextVectors, idf: Callable[[str], float], budget: Budget | None = None,
        weights: Weights = WEIGHTS, cases: Cases | None = None,
    ) -> None:  # fmt: skip
        self.vectors = vectors
        self.idf = idf  # the library's BM25 IDF of a stemmed word, as it is now
        self.budget = budget or Budget()
        self.weights = weights
        self.cases = cases

    def condense(self, question: str, history: list[dict[str, str]] | None) -> str:
        return condense(question, history)

    def stream(
        self, question: str, sources: list[SearchResult], mode: Mode, history: list[dict[str, str]] | None = None
    ) -> Iterator[str]:
        yield self.draft(self.condense(question, history), sources, mode)

    def ranked(self, query: str, sources: list[SearchResult], mode: Mode) -> Ranked:
        """Every unit of ``sources`` scored against ``query``, best first."""
        fields = asked_fields(query)
        cards = card_units(sources, fields)
        if cards and fields:  # who wrote it, when, what kind: the documents' cards say, their passages do not
            return self._cards(query, cards)
        primary = sum(1 for r in sources if r.score > 0) or len(sources)
        # a line introducing what the passages do not hold says nothing alone
        found = [u for u in units(sources, primary, self.budget.words) if not all(p.introduces for p in u.all_pieces)]
        return rank(query, found + cards, self.vectors, self.idf, mode is Mode.howto, self.weights)

    def _cards(self, query: str, cards: list[Unit]) -> Ranked:
        """ "Which are blogs?" asks for every card whose stated value the question names; else the best card."""
        asked = content_tokens(query)
        named = [u for u in cards if asked & content_tokens(" ".join(p.text for p in u.pieces).replace(u.title, ""))]
        ranked = rank(query, named or cards, self.vectors, self.idf, False, self.weights)
        ranked.units = ranked.units if named else ranked.units[:1]
        return ranked

    def choose(self, ranked: Ranked) -> list[tuple[Unit, list[Piece]]]:
        """The lead unit and the supporting ones, each with the pieces kept, in answer order,
        within the budget's words."""
        if not ranked.units:
            return []
        lead = ranked.units[0]
        if lead.section == CARD_SECTION:  # the documents' cards the question asks of (ranked)
            return [(u, u.pieces) for u in ranked.units]
        chosen: list[tuple[Unit, list[Piece]]] = []
        left = self.budget.words
        for u in ranked.units:
            if u is not lead and u.score < self.budget.floor * lead.score:
                break
            if u.doc_id != lead.doc_id and u.score < self.budget.other * lead.score:
                continue
            if u.words() <= left:
                chosen.append((u, u.pieces))
                left -= u.words()
            elif u is lead:  # the lead is cut at the budget, never dropped
                kept: list[Piece] = []
                used = sum(len(p.text.split()) for p in u.lead)
                for p in u.pieces:
                    if kept and used + len(p.text.split()) > left:
                        break
                    kept.append(p)
                    used += len(p.text.split())
                chosen.append((u, kept))
                left -= used
            if left <= 0:
                break
        # the lead first, then its document read on from it (what follows the lead, then what came
        # before), each in reading order, then the others by score: a lead-in reads into its text
        same = sorted((c for c in chosen[1:] if c[0].doc_id == lead.doc_id), key=lambda c: (c[0].at < lead.at, c[0].at))
        return [chosen[0], *same, *(c for c in chosen[1:] if c[0].doc_id != lead.doc_id)]

    def focus(self, query: str, sources: list[SearchResult], mode: Mode) -> dict[int, str]:
        """The units this composer would answer with, as an LLM's context: each source number's
        pieces in reading order (so ``[n]`` resolves as before), links read as their text."""
        lines: dict[int, list[tuple[int, str]]] = {}
        for unit, kept in self.choose(self.ranked(query, sources, mode)):
            for p in unit.lead + kept:
                lines.setdefault(p.source, []).append((p.at, f"- {plain(p.text)}" if p.item else plain(p.text)))
        return {n: "\n".join(t for _, t in sorted(dict.fromkeys(found))) for n, found in sorted(lines.items())}

    def draft(self, query: str, sources: list[SearchResult], mode: Mode) -> str:
        ranked = self.ranked(query, sources, mode)
        chosen = self.choose(ranked)
        if not chosen:
            return ""
        # a line that introduces what follows names the answer, it is not it
        said = [p for u, kept in chosen for p in u.lead + kept if not p.introduces]
        said = said or [p for u, kept in chosen for p in u.lead + kept]
        best = max(ranked.similarity[(p.source, p.start)] for p in said)
        bold = {
            (p.source, p.start) for p in said if ranked.similarity[(p.source, p.start)] >= self.budget.highlight * best
        }
        if mode is Mode.precedent and self.cases is not None:
            return self._by_case(chosen, sources, bold)
        steps = mode is Mode.howto and sum(p.item for p in chosen[0][1]) > 1  # one item is no list of steps
        return "\n\n".join(self._render(u, kept, bold, numbered=steps and i == 0) for i, (u, kept) in enumerate(chosen))

    def _by_case(
        self, chosen: list[tuple[Unit, list[Piece]]], sources: list[SearchResult], bold: set[tuple[int, int]]
    ) -> str:
        """One entry per case the chosen units name (``- **Name**: its units``), in the order of its
        best unit; a unit belongs to the case its highlighted sentences name, else the first it
        names. Units that name no case of the library follow as they are."""
        assert self.cases is not None
        groups: dict[str, list[str]] = {}
        rest = []
        for u, kept in chosen:
            shown = sorted(u.lead + kept, key=lambda p: (p.source, p.start) not in bold)  # highlighted first
            named = next(
                (found[0] for p in shown if (found := self.cases.cited([(u.doc_id, *sources[p.source - 1].locate(
                    p.start, p.end))]))), None,
            )  # fmt: skip
            text = self._render(u, kept, bold, numbered=False)
            if named is None:
                rest.append(text)
                continue
            lines = groups.setdefault(named.name, [])
            body = text.splitlines()
            body[0] = BULLET.sub("", body[0], count=1)  # an item that leads an entry is the entry
            lines += [f"- **{named.name}**: {body[0]}" if not lines else f"   {body[0]}"]
            lines += [f"   {line}" for line in body[1:]]
        entries = "\n".join(line for lines in groups.values() for line in lines)
        return "\n\n".join([entries] * bool(entries) + rest)

    @staticmethod
    def _render(unit: Unit, kept: list[Piece], bold: set[tuple[int, int]], numbered: bool) -> str:
        said = functools.partial(_said, bold=bold)
        if unit.kind == "paragraph":
            return " ".join(said(p) for p in unit.lead + kept)
        lines = [" ".join(said(p) for p in unit.lead)] if unit.lead else []
        top = min((p.indent for p in kept if p.item), default=0)
        n = 0
        for p in kept:
            if not p.item and lines and unit.kind == "list":
                lines[-1] += " " + said(p)  # a further sentence of the same item
            elif p.item and p.indent > top:
                lines.append(f"   - {said(p)}")
            elif p.item:  # the author's number, so a list a passage cut reads as it does in the source
                n += 1
                own = NUMBERED.match(p.text)
                mark = own.group(0).strip() if own else p.number or (f"{n}." if numbered else "-")
                lines.append(f"{mark} {said(p)}")
            else:
                lines.append(said(p))
        return "\n".join(lines)


def _said(p: Piece, bold: set[tuple[int, int]]) -> str:
    """A piece as the reader sees it (links as their text), in bold when highlighted, with its ``[n]``."""
    text = plain(p.text)
    if (p.source, p.start) in bold:  # each sentence on its own, as the verifier reads them
        text = " ".join(f"**{s.text}**" for s in sentences(text)) or text
    return f"{text} [{p.source}]"
