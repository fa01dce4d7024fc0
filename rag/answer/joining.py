"""One citation per unit of the source's text, as semantic highlighting in a search engine shows it:
the passage's paragraph or list, with the sentences that answer marked inside it.

Verification checks every sentence on its own, so each used to get a citation of its own: a
paragraph of three sentences read ``[1] [2] [3]``, three references to one passage, and the first
citation was the paragraph's opening sentence rather than the paragraph. Here consecutive
sentences of an answer that quote adjacent text of one passage (nothing between them but spaces,
a line break, a list item's bullet or number, or emphasis marks) share one citation whose quote
runs over all of them, verbatim; the highlighted ones are ``highlights`` offsets inside it. A
word not quoted or a heading between two quotes ends the unit, and so does a blank line unless it
parts a lead-in from what it introduces or two items of a list, so a citation never spans two
paragraphs or lists; a table's rows stay a citation each, as records. A unit that a chunk
boundary cut (a lead-in at the end of one passage, its list at the start of the next) is one
citation too: its quote runs on into the next passage of the document (``chunk_ids`` names both).
This holds for any generator, since every draft is verified.
"""

from __future__ import annotations

import re

from rag.answer.model import Citation
from rag.core.models import SearchResult
from rag.core.text import BULLET, MARK, NUMBER, TABLE_ROW, Span

BLANK_LINE = re.compile(r"\n[^\S\n]*\n")
OPENING = re.compile(rf"(?m)^[^\S\n]*(?:{MARK}|{NUMBER})(?:[^\S\n]+|$)")  # an item's bullet or number, in a gap
EMPHASIS = re.compile(r"\*\*|__")


def adjacent(before: str, between: str, after: str) -> bool:
    """Whether the quotes ``before`` and ``after``, with ``between`` between them in the passage,
    belong to one unit: nothing but layout between them, and across a blank line only a lead-in
    ("To prepare:") and what it introduces, or two items of one list (rag.answer.units reads the same)."""
    if OPENING.sub("", EMPHASIS.sub("", between)).strip():
        return False
    if not BLANK_LINE.search(between):
        return True
    lead_in = before.rstrip().endswith(":")
    items = bool(BULLET.match(before.rsplit("\n", 1)[-1])) and bool(BULLET.match(between.rsplit("\n", 1)[-1] + after))
    return lead_in or items


def _document(passages: list[SearchResult], start: int, end: int) -> str | None:
    """The document's text at ``[start, end)`` (file offsets), read from passages of it that overlap
    or touch; None when they leave a gap there."""
    text, at = "", start
    for p in sorted(passages, key=lambda p: p.char_start):
        if p.char_start <= at < p.char_end and at < end:
            upto = min(end, p.char_end)
            text += p.text[at - p.char_start : upto - p.char_start]
            at = upto
    return text if at >= end else None


def joined(
    citations: list[Citation], sources: list[SearchResult], src: SearchResult, span: Span, score: float,
    highlight: bool,
) -> int | None:  # fmt: skip
    """Extend the last citation made with ``span`` of ``src`` when it quotes the document's text just
    before it, in the same passage or in one it overlaps or touches (a lead-in a chunk boundary
    parted from its list), and return its number; None when ``span`` starts a citation of its own."""
    if not citations or src.is_card:
        return None
    last = citations[-1]
    chunks = set(last.chunk_ids)
    held = [p for p in sources if p.chunk_id in chunks and not p.is_card]
    if last.doc_id != src.doc_id or len(held) != len(chunks) or not held:
        return None
    start, end = last.char_start, last.char_end
    at, upto = src.locate(span.start, span.end)
    between = _document([*held, src], end, at) if end <= at else None
    if between is None or last.quote != _document(held, start, end):
        return None
    if TABLE_ROW.match(span.text) or TABLE_ROW.match(last.quote.rsplit("\n", 1)[-1]):
        return None  # a table's rows are records, each cited on its own (with its page, in a PDF)
    if not adjacent(last.quote, between, span.text):
        return None
    passages = [*held, src] if src.chunk_id not in chunks else held
    first = min(p.char_start for p in passages)
    marks = [*last.highlights, *([(at - start, upto - start)] if highlight else [])]
    citations[-1] = last.model_copy(update={
        "quote": last.quote + between + span.text, "char_end": upto, "score": round(min(last.score, score), 4),
        "page_end": src.pages_of(at, upto)[1] or last.page_end, "ocr": last.ocr or src.read_by_ocr(at, upto),
        "passage": _document(passages, first, max(p.char_end for p in passages)) or last.passage,
        "highlight": bool(marks), "highlights": marks,
        "chunk_ids": list(dict.fromkeys([*last.chunk_ids, src.chunk_id]))})  # fmt: skip
    return last.n
