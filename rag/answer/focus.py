"""Score adjustments that read the question's names and the conversation before selection.

A precedent question that names its subject is answered by sentences naming it; a follow-up is not
answered by repeating the last answer. Both lower a candidate by the exclusion weight rather than
dropping it, so a sentence that is all the library has can still be read.
"""

from __future__ import annotations

import re

from rag.answer.attributes import SQUARE, asked_attributes, gives_any
from rag.answer.coverage import parts
from rag.answer.selection import Candidate, SentenceSelector, W
from rag.core.text import content_tokens, display, fold
from rag.index.cards import ASKS_METADATA, asked_fields

GIVEN_SHARE = 0.4  # given_first: a giving sentence at this share of the best score leads (or at the floor)
REPEATED = 0.8  # a follow-up's sentence with this share of its words in the last answer repeats it


def named_only(names: list[str], cands: list[Candidate]) -> None:
    """A precedent question that names its subject ("Who are the Young Foundation?") is not answered
    by a sentence that shares a word of the name and names something else ("young civil servants",
    "a project in Eden Valley" for the Eden Project), when some sentence names it."""
    folded = [fold(name) for name in names]
    words = content_tokens(" ".join(folded))
    readings = [fold(SentenceSelector.reading(c)) for c in cands]
    named = [any(name in text for name in folded) for text in readings]
    if not any(named):
        return
    for c, text, hit in zip(cands, readings, named, strict=True):
        if not hit and words & content_tokens(text):
            c.score -= W.excluded


def already_said(question: str, history: list[dict[str, str]] | None, cands: list[Candidate]) -> None:
    """A follow-up ("And how do we know if they work?") is not answered by repeating the last answer:
    a sentence whose words that answer already said loses, unless it gives what the question asks
    for ("And who paid for it?" is answered by the sentence that named the Zero Carbon Hub's funder)."""
    said = next((t.get("content", "") for t in reversed(history or []) if t.get("role") == "assistant"), "")
    if not said:
        return
    told = content_tokens(fold(said))
    asks = asked_attributes(question)
    for c in cands:
        words = content_tokens(fold(display(c.span.text)))
        if words and len(words & told) >= REPEATED * len(words) and not gives_any(c.span.text, asks):
            c.score -= W.excluded


def fields_only(question: str, cands: list[Candidate]) -> None:
    """ "Who wrote the citizen centric paper?" is answered by a sentence that gives an author (a
    document's card, or "written by ..." in its text), not by what the paper argues: when no
    sentence gives it, the answer says the library does not say."""
    if not (ASKS_METADATA.search(question) and asked_fields(question)):
        return
    asks = asked_attributes(question)
    for c in cands:
        if not c.card and not gives_any(c.span.text, asks):
            c.score -= W.excluded


def given_first(question: str, cands: list[Candidate], floor: float) -> None:
    """ "Where does the first social enterprise get most of its money?" is answered by the sentence
    that says where its income comes from, not by the best sentence on social enterprises: when a
    sentence scoring at least ``floor`` (or ``GIVEN_SHARE`` of the best, if lower) gives what a
    one-part question squarely asks (who paid, who founded, the budget, how success is measured,
    how two aims are balanced: ``SQUARE``), the sentences that give it gain half of
    ``W.not_given`` and the others lose half."""
    asked = parts(question)
    if len(asked) != 1 or ASKS_METADATA.search(question) or re.search(r"\bor\b", question, re.I):
        return  # "What help ..., and who is paying for it?" asks two things; "... targets or outcomes?" two too
    asks = [a for a in asked[0].asks if a.name in SQUARE]
    if not asks:
        return
    giving = [c for c in cands if not c.card and gives_any(display(c.span.text), asks)]
    best = max((c.score for c in cands), default=0.0)
    if not giving or max(c.score for c in giving) < min(floor, GIVEN_SHARE * best):
        return
    gives = {id(c) for c in giving}
    for c in cands:  # half up, half down: the sentence that gives it clears the selector's floor
        c.score += W.not_given / 2 if id(c) in gives else -W.not_given / 2
