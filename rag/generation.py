"""Generators turn a question and numbered passages into a draft with ``[n]`` source markers.

Every generator's draft goes through :mod:`rag.verify`, which decides what survives; generators
only propose. The extractive generator needs no LLM: it selects verbatim sentences.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from rag.answers import Mode
from rag.embeddings import MiniLMEmbeddings
from rag.lexical import tokenize
from rag.models import SearchResult
from rag.text import BULLET, Span, display, overlap, sentences

HOWTO = re.compile(
    r"^\s*(how (do|can|should|would|could|might|to)\b|what (steps|should)\b|steps? (to|for)\b|ways? to\b|"
    r"(give|list) .*(steps|tips|advice)|guide to\b|what can (i|we|a|an|the)\b)",
    re.IGNORECASE,
)
PRECEDENT = re.compile(
    r"\b(examples?|cases?|precedents?|who (set up|ran|runs|started|led|launched|founded)|has anyone|"
    r"anyone (done|tried)|where has|instances? of|tried elsewhere)\b",
    re.IGNORECASE,
)
INSTRUCTION = re.compile(
    r"^(?:[•\-–—*·▪]|\d{1,2}[.)])|\b(should|must|need to|needs to|has to|have to|can|recognise|use|using|"
    r"leverage|create|build|develop|have a|set up|encourage|support)\b",
    re.IGNORECASE,
)
ACTION = re.compile(
    r"\b(set up|established?|launched|ran|runs|asked|gave|created|founded|funded|took|taken|works? with|"
    r"looks? at|commissioned|example)\b",
    re.IGNORECASE,
)
NAME = re.compile(r"(?:[A-Z][\w’'&.-]*[A-Za-z](?:\s+(?:of|and|for|the|de|&)\s+|\s+)){1,5}[A-Z][\w’'&.-]*[A-Za-z]")
TERMINAL = re.compile(r"[.!?…][\"”’)\]]*\s*$")
GENERIC_NAMES = {"The Report", "The", "This", "Our", "In", "It"}
FOLLOW_UP = re.compile(r"\b(it|its|they|them|their|this|that|these|those|he|she|his|her|there|the same)\b", re.I)


def condense(question: str, history: list[dict[str, str]] | None) -> str:
    """A standalone search query for a follow-up: carry the previous question's key terms.

    "And who paid for it?" after "Who set up the Zero Carbon Hub?" searches for
    "And who paid for it? Zero Carbon Hub set".
    """
    if not history:
        return question
    previous = next((t.get("content", "") for t in reversed(history) if t.get("role") == "user"), "")
    if not previous or not (FOLLOW_UP.search(question) or len(question.split()) <= 5):
        return question
    stems = set(tokenize([question])[0])
    carried = [w for w in re.findall(r"[\w’'-]+", previous) if (t := tokenize([w])[0]) and t[0] not in stems]
    return f"{question} {' '.join(carried)}".strip()


def detect_mode(question: str) -> Mode:
    if HOWTO.search(question):
        return Mode.howto
    if PRECEDENT.search(question):
        return Mode.precedent
    return Mode.explain


@dataclass
class Draft:
    """Markdown whose sentences carry ``[n]`` markers pointing at ``sources[n-1]``."""

    text: str
    mode: Mode


class Generator(Protocol):
    name: str

    def generate(
        self, question: str, sources: list[SearchResult], mode: Mode, history: list[dict[str, str]] | None = None
    ) -> Draft: ...


@dataclass
class Candidate:
    source: int  # 1-based
    span: Span  # offsets within the source chunk's text
    order: int  # position in the document
    context: str = ""  # the lead-in line ("... for civil servants:") a list item sits under
    score: float = 0.0


def case_name(sentence: str) -> str | None:
    """A proper-noun phrase the sentence itself names (verbatim), to head a precedent entry."""
    body = display(sentence)
    for m in NAME.finditer(body):
        name = re.sub(r"[’']s$", "", m.group(0).strip(" .,;:’'")).strip()
        if name.split()[0] in {"The", "This", "Our", "A", "An", "In", "It"}:
            name = " ".join(name.split()[1:])
        if len(name.split()) >= 2 and name not in GENERIC_NAMES:
            return name
    return None


class ExtractiveGenerator:
    """Query-focused extraction: score sentences, pick a non-redundant set (MMR), render by mode."""

    name = "extractive"

    def __init__(
        self,
        embeddings: MiniLMEmbeddings,
        max_sentences: int = 5,
        min_score: float = 0.3,
        mmr_lambda: float = 0.7,
        relative_floor: float = 0.6,
    ) -> None:
        self.embeddings = embeddings
        self.relative_floor = relative_floor
        self.max_sentences = max_sentences
        self.min_score = min_score
        self.mmr_lambda = mmr_lambda

    def candidates(self, sources: list[SearchResult]) -> list[Candidate]:
        out: list[Candidate] = []
        for n, src in enumerate(sources, start=1):
            lead_in = ""
            for span in sentences(src.text):
                if span.text.rstrip().endswith(":"):
                    lead_in = display(span.text)
                elif not BULLET.match(span.text):
                    lead_in = ""
                words = len(span.text.split())
                if words < 5 or words > 90 or span.text.rstrip().endswith((":", "?")):
                    continue
                if not BULLET.match(span.text) and not TERMINAL.search(span.text):
                    continue  # a title or heading line, not a statement
                out.append(Candidate(n, span, src.char_start + span.start, lead_in))
        # The same sentence can sit in two overlapping chunks: keep its first (best-ranked) copy.
        seen: set[tuple[str, int]] = set()
        unique = []
        for c in out:
            key = (sources[c.source - 1].doc_id, c.order)
            if key not in seen:
                seen.add(key)
                unique.append(c)
        return unique

    def score(self, question: str, cands: list[Candidate], mode: Mode) -> np.ndarray:
        texts = [f"{c.context} {display(c.span.text)}".strip() for c in cands]
        vecs = self.embeddings.embed_cached([question, *texts])
        sims = vecs[1:] @ vecs[0]
        for i, c in enumerate(cands):
            text = texts[i]
            bonus = 0.0
            if (mode is Mode.howto and INSTRUCTION.search(text)) or (
                mode is Mode.precedent and ACTION.search(text) and case_name(text)
            ):
                bonus = 0.08
            c.score = float(0.65 * sims[i] + 0.35 * overlap(question, text) + bonus)
        return vecs[1:]

    def select(self, cands: list[Candidate], vecs: np.ndarray, limit: int) -> list[Candidate]:
        chosen: list[int] = []
        best_score = max((c.score for c in cands), default=0.0)
        floor = max(self.min_score, self.relative_floor * best_score)  # no padding with weak sentences
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

    def generate(
        self, question: str, sources: list[SearchResult], mode: Mode, history: list[dict[str, str]] | None = None
    ) -> Draft:
        cands = self.candidates(sources)
        if not cands:
            return Draft("", mode)
        vecs = self.score(condense(question, history), cands, mode)
        limit = self.max_sentences + (1 if mode is Mode.howto else 0)
        picked = self.select(cands, vecs, limit)
        if mode is Mode.howto:
            lines = [f"{i}. {display(c.span.text)} [{c.source}]" for i, c in enumerate(picked, start=1)]
            return Draft("\n".join(lines), mode)
        if mode is Mode.precedent:
            lines = []
            for c in picked:
                name = case_name(c.span.text)
                lead = f"**{name}**: " if name else ""
                lines.append(f"- {lead}{display(c.span.text)} [{c.source}]")
            return Draft("\n".join(lines), mode)
        # explain: best-first document grouping, document order inside a paragraph
        by_source: dict[str, list[Candidate]] = {}
        for c in picked:
            by_source.setdefault(sources[c.source - 1].doc_id, []).append(c)
        paragraphs = [
            " ".join(f"{display(c.span.text)} [{c.source}]" for c in sorted(group, key=lambda c: c.order))
            for group in by_source.values()
        ]
        return Draft("\n\n".join(paragraphs), mode)
