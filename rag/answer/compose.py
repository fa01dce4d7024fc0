"""The passage-first extractive composer: the author's units, verbatim, within a word budget.

It reads the retrieved passages as units (``rag.answer.units``), scores them against the question
(``rag.answer.rank``), leads with the best, and adds the next best while each still scores a good
share of the lead's and the answer stays within the budget. A unit keeps its reading order; a
list keeps its lead-in and its own items only (never items of different lists), and leads a how-to
answer as its steps. Inside each unit the sentences that bear most on the question are set in bold
(and flagged ``highlight`` on their citations). Every sentence carries ``[n]`` for the passage
that holds it, so the one verifier every generator goes through cites it verbatim.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from rag.answer.generation import condense
from rag.answer.model import Mode
from rag.answer.rank import WEIGHTS, Ranked, Weights, rank
from rag.answer.units import Piece, Unit, units
from rag.core.models import SearchResult
from rag.core.text import plain
from rag.index.embeddings import MiniLMEmbeddings
from rag.index.lexical import LexicalIndex

NUMBERED = re.compile(r"^\s*\d{1,2}[.)]\s+")


@dataclass(frozen=True)
class Budget:
    words: int = 200  # the answer's length, at most (a lead unit longer than this is cut at it)
    floor: float = 0.6  # a further unit joins only at this share of the lead's score (fitted on dev-tune)
    other: float = 0.9  # ... and a unit of another document than the lead's at this share (fitted on dev-tune)
    highlight: float = 0.9  # a piece is highlighted at this share of the answer's best piece similarity


class PassageComposer:
    """Answers with the author's units: lead + support within ``budget``, highlighted."""

    name = "passages"
    verbatim = True
    notes = False  # better silent than wrong: no "does not say" or premise notes until they hold on any library
    whole_units = True

    def __init__(
        self, embeddings: MiniLMEmbeddings, lexical: LexicalIndex, budget: Budget | None = None,
        weights: Weights = WEIGHTS,
    ) -> None:  # fmt: skip
        self.embeddings = embeddings
        self.lexical = lexical
        self.budget = budget or Budget()
        self.weights = weights

    def condense(self, question: str, history: list[dict[str, str]] | None) -> str:
        return condense(question, history)

    def stream(
        self, question: str, sources: list[SearchResult], mode: Mode, history: list[dict[str, str]] | None = None
    ) -> Iterator[str]:
        yield self.draft(self.condense(question, history), sources, mode)

    def ranked(self, query: str, sources: list[SearchResult], mode: Mode) -> Ranked:
        """Every unit of ``sources`` scored against ``query``, best first."""
        primary = sum(1 for r in sources if r.score > 0) or len(sources)
        found = units(sources, primary)
        return rank(query, found, self.embeddings, self.lexical.idf, mode is Mode.howto, self.weights)

    def choose(self, ranked: Ranked) -> list[tuple[Unit, list[Piece]]]:
        """The lead unit and the supporting ones, each with the pieces kept, in answer order."""
        if not ranked.units:
            return []
        lead = ranked.units[0]
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
                used = len(u.lead_in.text.split()) if u.lead_in else 0
                for p in u.pieces:
                    if kept and used + len(p.text.split()) > left:
                        break
                    kept.append(p)
                    used += len(p.text.split())
                chosen.append((u, kept))
                left -= used
            if left <= 0:
                break
        # the lead first, then the rest of its document in reading order, then the others by score
        ordered = sorted((c for c in chosen[1:] if c[0].doc_id == lead.doc_id), key=lambda c: c[0].at)
        return [chosen[0], *ordered, *(c for c in chosen[1:] if c[0].doc_id != lead.doc_id)]

    def focus(self, query: str, sources: list[SearchResult], mode: Mode) -> dict[int, str]:
        """The units this composer would answer with, as an LLM's context: each source number's
        pieces in reading order (so ``[n]`` resolves as before), links read as their text."""
        lines: dict[int, list[tuple[int, str]]] = {}
        for unit, kept in self.choose(self.ranked(query, sources, mode)):
            for p in ([unit.lead_in] if unit.lead_in else []) + kept:
                lines.setdefault(p.source, []).append((p.at, f"- {plain(p.text)}" if p.item else plain(p.text)))
        return {n: "\n".join(t for _, t in sorted(dict.fromkeys(found))) for n, found in sorted(lines.items())}

    def draft(self, query: str, sources: list[SearchResult], mode: Mode) -> str:
        ranked = self.ranked(query, sources, mode)
        chosen = self.choose(ranked)
        if not chosen:
            return ""
        shown = [p for u, kept in chosen for p in ([u.lead_in] if u.lead_in else []) + kept]
        best = max(ranked.similarity[(p.source, p.start)] for p in shown)
        bold = {
            (p.source, p.start) for p in shown if ranked.similarity[(p.source, p.start)] >= self.budget.highlight * best
        }
        steps = mode is Mode.howto and chosen[0][0].kind == "list"
        blocks = []
        for i, (u, kept) in enumerate(chosen):
            blocks.append(self._render(u, kept, bold, numbered=steps and i == 0))
        return "\n\n".join(blocks)

    @staticmethod
    def _render(unit: Unit, kept: list[Piece], bold: set[tuple[int, int]], numbered: bool) -> str:
        def said(p: Piece) -> str:
            text = plain(p.text)
            return f"**{text}** [{p.source}]" if (p.source, p.start) in bold else f"{text} [{p.source}]"

        if unit.kind == "paragraph":
            return " ".join(said(p) for p in kept)
        lines = [said(unit.lead_in)] if unit.lead_in else []
        top = min((p.indent for p in kept if p.item), default=0)
        n = 0
        for p in kept:
            if not p.item and lines and unit.kind == "list":
                lines[-1] += " " + said(p)  # a further sentence of the same item
            elif p.item and p.indent > top:
                lines.append(f"   - {said(p)}")
            elif p.item:
                n += 1
                lines.append(f"{n}. {said(p)}" if numbered or NUMBERED.match(p.text) else f"- {said(p)}")
            else:
                lines.append(said(p))
        return "\n".join(lines)
