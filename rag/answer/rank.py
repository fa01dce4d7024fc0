"""Units scored against the question: how well each answers it, from signals any library has.

A unit's score is a weighted sum of five signals, each about 0-1: the best sentence's and the top
two sentences' embedding similarity to the question, the share of the question's word weight (BM25
IDF) the unit holds, its own heading's similarity to the question, and how high search ranked
the passage it was read from. The weights are fitted on the tuning half of the development set
only (``benchmarks/tune_composer.py``), never on the sets the answer is judged on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np

from rag.answer.steering import classifier
from rag.answer.units import Piece, Unit
from rag.core.text import display
from rag.index.lexical import tokenize


class TextVectors(Protocol):
    """Where the ranker gets its vectors (``rag.index.sentences.SentenceVectors``: stored at ingest
    for a document's texts, encoded otherwise)."""

    def embed(self, texts: list[str], docs: list[str | None]) -> np.ndarray: ...


@dataclass(frozen=True)
class Weights:
    # fitted on dev-tune (benchmarks/tune_composer.py); read blind on govguides against the fit before it
    best: float = 1.0  # the unit's best sentence's similarity to the question
    top2: float = 1.0  # the mean of its two best sentences' (a unit that answers in more than one line)
    words: float = 0.25  # share of the question's IDF-weighted stems the unit holds
    heading: float = 0.3  # its section heading's (and title's) similarity to the question
    rank: float = 0.15  # 1 / (1 + position) of the passage it was read from in the search results
    list_howto: float = 0.0  # a list, for a how-to question (the author's steps)


WEIGHTS = Weights()


@dataclass
class Ranked:
    """The units, scored, and each piece's similarity to the question (for highlighting)."""

    units: list[Unit]
    similarity: dict[tuple[int, int], float]  # (source, start) of a piece → cosine with the question


def _heading(unit: Unit) -> str:
    """The title and the unit's own heading: the whole path of headings dilutes the one that names it."""
    return f"{unit.title}: {unit.section.rsplit(' > ', 1)[-1]}" if unit.section else unit.title


def texts_of(units: list[Unit]) -> list[str]:
    """What :func:`rank` encodes for ``units`` besides the question (ingest encodes it ahead, per document)."""
    return list(dict.fromkeys([*(display(p.text) for u in units for p in u.all_pieces), *map(_heading, units)]))


def rank(
    question: str,
    units: list[Unit],
    vectors: TextVectors,
    idf: Callable[[str], float],
    howto: bool = False,
    weights: Weights = WEIGHTS,
    steering: Callable[[list[str], np.ndarray], np.ndarray] | None = None,
) -> Ranked:
    """Score every unit (``unit.score``, ``unit.features``), best first. A unit holding a sentence
    that ``steering`` (by default :mod:`rag.answer.steering`) flags as addressed to the answering
    system is left out: a paragraph whole, a list or table without that item or row."""
    if not units:
        return Ranked([], {})
    pieces = [(u.doc_id, p) for u in units for p in u.all_pieces]
    headings = list(dict.fromkeys((u.doc_id, _heading(u)) for u in units))
    texts = [question, *(display(p.text) for _, p in pieces), *(h for _, h in headings)]
    docs: list[str | None] = [None, *(d for d, _ in pieces), *(d for d, _ in headings)]
    vecs = vectors.embed(texts, docs)
    flags = (steering or classifier().flags)(texts[1 : len(pieces) + 1], vecs[1 : len(pieces) + 1])
    flagged = {(p.source, p.start) for (_, p), f in zip(pieces, flags, strict=True) if f}
    units = [kept for u in units if (kept := _without(u, flagged)) is not None]
    sims = np.clip(vecs[1:] @ vecs[0], 0.0, 1.0)
    similarity = {(p.source, p.start): float(s) for (_, p), s in zip(pieces, sims[: len(pieces)], strict=True)}
    heading_sim = dict(zip(headings, sims[len(pieces) :].tolist(), strict=True))
    asked, *stems = tokenize([question, *(u.text for u in units)])  # one call: its own cost is per call
    weight = {t: idf(t) for t in set(asked)}
    total = sum(weight.values()) or 1.0
    for u, held_stems in zip(units, stems, strict=True):
        own = sorted((similarity[(p.source, p.start)] for p in u.all_pieces), reverse=True)
        held = set(held_stems)
        u.features = {
            "best": own[0],
            "top2": float(np.mean(own[:2])),
            "words": sum(w for t, w in weight.items() if t in held) / total,
            "heading": float(heading_sim[(u.doc_id, _heading(u))]),
            "rank": 1.0 / (1 + u.rank),
            "list_howto": float(howto and u.kind == "list"),
        }
        u.score = sum(getattr(weights, k) * v for k, v in u.features.items())
    return Ranked(sorted(units, key=lambda u: -u.score), similarity)


def _without(unit: Unit, flagged: set[tuple[int, int]]) -> Unit | None:
    """``unit`` without its flagged pieces: none of a paragraph (the injection is the paragraph), the
    other items of a list or rows of a table; None when nothing is left."""

    def keep(p: Piece) -> bool:
        return (p.source, p.start) not in flagged

    if all(keep(p) for p in unit.all_pieces):
        return unit
    pieces = [] if unit.kind == "paragraph" else [p for p in unit.pieces if keep(p)]
    return replace(unit, pieces=pieces, lead=[p for p in unit.lead if keep(p)]) if pieces else None
