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
paragraphs or lists; a table's rows stay a citation each, as records. This holds for any
generator, since every draft is verified.
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


def joined(
    numbering: dict[tuple[str, int, int], int], citations: list[Citation], src: SearchResult, span: Span,
    score: float, highlight: bool,
) -> int | None:  # fmt: skip
    """Extend the last citation made with ``span`` of ``src`` when it quotes the text just before it
    in the same passage, and return its number; None when ``span`` starts a citation of its own."""
    if not citations:
        return None
    last = citations[-1]
    mine = [(s, e) for (chunk, s, e), n in numbering.items() if n == last.n and chunk == src.chunk_id]
    if not mine:
        return None
    start, end = min(s for s, _ in mine), max(e for _, e in mine)
    if TABLE_ROW.match(span.text) or TABLE_ROW.match(src.text[start:end].rsplit("\n", 1)[-1]):
        return None  # a table's rows are records, each cited on its own (with its page, in a PDF)
    if span.start < end or not adjacent(src.text[start:end], src.text[end : span.start], span.text):
        return None
    marks = [*last.highlights, *([(span.start - start, span.end - start)] if highlight else [])]
    citations[-1] = Citation.quoting(
        last.n, src, Span(src.text[start : span.end], start, span.end), min(last.score, score), highlights=marks
    )
    return last.n
