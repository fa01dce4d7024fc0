"""The sentences of retrieved passages that an answer may quote, each with what it must be read with.

A list item keeps the lead-in line it sits under ("Its key features include:"), a sentence that
points back ("By doing this", "such claims") keeps the sentence it points to (two at most, or it is
left out), and a table row keeps its header row. Used by :mod:`rag.answer.selection`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.answer.coverage import NUMBER_WORDS
from rag.answer.sentences import OPENS_WITH_REFERENCE, SUB_SENTENCE, TERMINAL, needs_antecedent
from rag.core.models import SearchResult
from rag.core.text import BULLET, STEERING, TABLE_ROW, TABLE_RULE, Span, display, sentences
from rag.index.cards import card_field


@dataclass
class Candidate:
    source: int  # 1-based
    span: Span  # offsets within the source chunk's text
    order: int  # position in the document
    context: str = ""  # the lead-in line ("... for civil servants:") a list item sits under
    score: float = 0.0
    antecedent: Span | None = None  # the sentence before, for one that points back to it
    card: str | None = None  # the field a sentence of a document's card (its front matter) states
    names: str = ""  # for a card sentence: its document's title (and what it is about)
    item: str = ""  # for the first sentence of a list item, its marker's kind ("1." → "n", "•" → "•")
    # the lead-in of a list a passage boundary cut off: the passage opens with items of a list whose
    # lead-in ends the passage before. It says what the item is (a suggestion, an example), so it
    # decides whether the item is a step or a precedent; it is not read with it.
    lent: str = ""

    @property
    def lead_in(self) -> str:
        """The lead-in that says what this list item is, its own or one lent across a cut."""
        return self.context or self.lent


COUNT = rf"\b({'|'.join(NUMBER_WORDS)}|\d{{1,2}})\s+(?:[\w-]+\s+){{0,2}}?[\w-]+s"  # "three related fronts"
ANNOUNCES = re.compile(COUNT + r"\W{0,2}$", re.IGNORECASE)  # "... agreeing practical advances on three related fronts."
# a passage that counts a list, then the list's first item on a line of its own (or it ends there: the cut fell
# before the list)
COUNTED_LIST = re.compile(COUNT + r"[.:]\s*(?:\n\s*(?:[•\-–—*·▪]|\d{1,2}[.)])\s|$)", re.IGNORECASE)


def announced(text: str) -> int:
    """How many items a sentence that ends by counting them announces ("on three related fronts."),
    0 for any other sentence: the items that follow it are its answer."""
    m = ANNOUNCES.search(display(text))
    if not m:
        return 0
    word = m.group(1).lower()
    return NUMBER_WORDS.index(word) + 2 if word in NUMBER_WORDS else int(word)


ADJACENT = 12  # characters (spaces, a marker) between two passages that a cut parted, or a sentence and its list
NUMBER_ALONE = re.compile(r"^\s*\d{1,2}[.)]\s*$")


def marker(segment: str) -> str:
    """The kind of a list item's marker: numbered items are one kind whatever their number."""
    m = BULLET.match(segment)
    if not m:
        return ""
    mark = m.group(0).strip()
    return "n" if mark[0].isdigit() else mark


def _pieces(span: Span) -> list[Span]:
    """A segment split at full stops inside it (a list item can hold three sentences)."""
    out, start = [], 0
    for m in SUB_SENTENCE.finditer(span.text):
        out.append(Span(span.text[start : m.start()], span.start + start, span.start + m.start()))
        start = m.end()
    out.append(Span(span.text[start:], span.start + start, span.end))
    return [p for p in out if p.text.strip()]


def _cells(row: str) -> int:
    """How many cells of a table row say something."""
    return sum(1 for cell in row.strip().strip("|").split("|") if cell.strip())


def candidates(sources: list[SearchResult]) -> list[Candidate]:
    """Every statement of ``sources`` a composer may quote: sentences (a list item with its lead-in
    line, a sentence that points back with the sentence it points to, a table row with its header),
    not headings, lead-ins or questions; each sentence once though overlapping chunks repeat it."""
    out: list[Candidate] = []
    open_lists: list[tuple[str, int, str]] = []  # (document, end, lead-in) of a passage ending inside a list
    orphans: list[tuple[Candidate, int]] = []  # an item a passage opens with, and where that passage starts
    for n, src in enumerate(sources, start=1):
        lead_in = ""
        opening = True  # the passage has been list items only so far
        previous: Span | None = None
        before: Span | None = None
        earlier: Span | None = None  # the sentence before ``before``
        header: Span | None = None  # the header row of the table being read
        numbered = False  # the segment before was an item's number alone
        for segment in sentences(src.text):
            new_line = not src.text[src.text.rfind("\n", 0, segment.start) + 1 : segment.start].strip()
            if segment.text.rstrip().endswith(":"):
                lead_in, opening = display(segment.text), False
            elif new_line and not BULLET.match(segment.text):
                lead_in, opening = "", False  # a list ends at a line that is not an item ("Awesome." ends one)
            item = marker(segment.text) if new_line else ""
            if NUMBER_ALONE.match(segment.text):  # the splitter parts "1." from its item's text
                numbered = True
                continue
            head, numbered = ("n" if numbered else item), False
            for span in _pieces(segment):
                earlier, before, previous = before, previous, span
                item, head = ("", head) if NUMBER_ALONE.match(span.text) else (head, "")  # "2." is parted too
                if TABLE_ROW.match(span.text):
                    header = before if TABLE_RULE.match(span.text) else header
                    if header is not None and header is not before and _cells(span.text) >= 2:
                        order = src.locate(span.start, span.end)[0]  # a row: read with its header
                        out.append(Candidate(n, span, order, "", antecedent=header))
                    continue
                header = None
                words = len(span.text.split())
                text = span.text.rstrip()
                if words < 5 or words > 90 or text.endswith((":", "?", "…")) or not TERMINAL.search(text):
                    continue  # a title, heading or lead-in line, not a statement
                if span.text.lstrip().startswith("#") or STEERING.search(span.text):
                    continue
                antecedent = None
                if needs_antecedent(span.text):
                    if before is None or before.text.lstrip().startswith("#"):
                        continue  # "By doing this, ..." with nothing before it: no use alone
                    if OPENS_WITH_REFERENCE.match(display(before.text)):
                        continue  # "It involves ..." after "It represents ...": the referent is further back
                    antecedent = before
                    if needs_antecedent(before.text):  # "This paper evaluates such claims. It emphasises ..."
                        if earlier is None or needs_antecedent(earlier.text) or earlier.text.startswith("#"):
                            continue  # the chain goes back further than a reader should be asked to follow
                        antecedent = Span(src.text[earlier.start : before.end], earlier.start, before.end)
                order = src.locate(span.start, span.end)[0]
                field = card_field(src, span.start, span.end)
                names = f"{src.title} {src.doc.about or ''}" if field else ""
                out.append(Candidate(n, span, order, lead_in, antecedent=antecedent, card=field, names=names,
                                     item=item))  # fmt: skip
                if opening and not lead_in and not field:
                    orphans.append((out[-1], src.locate(0, 0)[0]))
        if lead_in:
            open_lists.append((src.doc_id, src.locate(0, len(src.text))[1], lead_in))
    for c, start in orphans:  # a passage cut inside a list: the passage before it says what the list is
        c.lent = next((t for doc, end, t in open_lists
                       if doc == sources[c.source - 1].doc_id and 0 <= start - end <= ADJACENT), "")  # fmt: skip
    # The same sentence can sit in two overlapping chunks: keep its first (best-ranked) copy.
    # A passage cut inside a list loses its lead-in: the copy from a passage that has it lends it.
    seen: dict[tuple[str, int], Candidate] = {}
    for c in out:
        key = (sources[c.source - 1].doc_id, c.order)
        if key not in seen:
            seen[key] = c
        elif c.context and not seen[key].context:
            seen[key].context = c.context
        seen[key].lent = seen[key].lent or c.lent
    return list(seen.values())


def quote(c: Candidate, used: set[tuple[int, int]]) -> str:
    """The candidate as an answer quotes it: the sentence it points back to first, each cited once
    (a sentence already quoted, as another's antecedent or on its own, is not repeated)."""
    out = []
    for span in (c.antecedent, c.span):
        if span is not None and (c.source, span.start) not in used:
            used.add((c.source, span.start))
            out.append(f"{display(span.text)} [{c.source}]")
    return " ".join(out)
