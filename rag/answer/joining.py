"""One citation per unit of the source's text, as semantic highlighting in a search engine shows it:
the passage's paragraph or list, with the sentences that answer marked inside it.

Verification checks every sentence on its own, so each used to get a citation of its own: a
paragraph of three sentences read ``[1] [2] [3]``, three references to one passage, and the first
citation was the paragraph's opening sentence rather than the paragraph. Here consecutive
sentences of an answer that quote adjacent text of one passage (nothing between them but spaces,
a line break, a list item's bullet or number, or emphasis marks) share one citation whose quote
runs over all of them, verbatim; the highlighted ones are ``highlights`` offsets inside it. A
blank line, a heading or any other word between two quotes ends the unit, so a citation never
spans two paragraphs or lists. This holds for any generator, since every draft is verified.
"""

from __future__ import annotations

import re

from rag.answer.model import Citation
from rag.core.models import SearchResult
from rag.core.text import MARK, NUMBER, Span

BLANK_LINE = re.compile(r"\n[ \t]*\n")
OPENING = re.compile(rf"(?m)^[ \t]*(?:{MARK}|{NUMBER})[ \t]+")  # a list item's bullet or number
EMPHASIS = re.compile(r"\*\*|__")


def adjacent(between: str) -> bool:
    """Whether two quotes with ``between`` in the passage between them belong to one unit."""
    if BLANK_LINE.search(between):
        return False
    return not OPENING.sub("", EMPHASIS.sub("", between)).strip()


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
    if span.start < end or not adjacent(src.text[end : span.start]):
        return None
    marks = [*last.highlights, *([(span.start - start, span.end - start)] if highlight else [])]
    citations[-1] = Citation.quoting(
        last.n, src, Span(src.text[start : span.end], start, span.end), min(last.score, score), highlights=marks
    )
    return last.n
