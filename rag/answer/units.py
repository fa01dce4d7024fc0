"""Passages → the author's units: a paragraph, a list with its lead-in line, a table with its header.

An answer is built from units rather than from single sentences, so it keeps the structure the
author gave the text. Passages of one document that overlap or touch (a hit and its neighbours)
are read as one stretch of text first, so a list that a chunk boundary cut is whole again. Every
piece of a unit (a sentence or a list item) stays a verbatim slice of a passage that holds it
whole, so verification can cite it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from rag.core.models import SearchResult
from rag.core.text import BULLET, LINK, MARK, NUMBER, STEERING, TABLE_ROW, TABLE_RULE, Span, disguised, sentences

BLOCK = re.compile(r"\n[ \t]*\n")
NUMBERED = re.compile(rf"^\s*{NUMBER}\s+")  # an item of a numbered list
MARK_ONLY = re.compile(rf"^\s*(?:{MARK}|{NUMBER})\s*$")  # a bullet the sentence splitter cut from its item
HEADING_LINE = re.compile(r"^\s*#{1,6}\s")
# only a link, perhaps after a label ("**Next:** [Title](url)", "- [Reading](url)"), or only where links go
# ("[ref]: https://…", Markdown's link definitions): a way elsewhere, saying nothing
NAVIGATION = re.compile(rf"^\s*(?:{MARK}\s+)?(?:\*\*[^*]{{1,30}}\*\*\s*|[^\[\]*]{{1,30}}:\s*)?{LINK.pattern}\s*$"
                        r"|^(?:\s*\[[^\]]+\]:\s*\S+(?:\s+(?:\"[^\"]*\"|'[^']*'))?)+\s*$")  # fmt: skip
STANDS = 5  # a lead-in line of fewer words than this ("This requires:") is read with the sentence before it
READING = 3  # the version of how units are read: a change here re-encodes the stored sentence vectors


@dataclass(frozen=True)
class Piece:
    """A sentence or list item: ``text`` is ``sources[source - 1].text[start:end]``."""

    text: str
    source: int
    start: int
    end: int
    at: int  # offset in the document, for reading order
    item: bool = False  # it starts a list item (its line starts with a bullet or a number)
    indent: int = 0  # spaces before the item's bullet (a nested item is indented)
    number: str = ""  # an item's own number ("1.") when the sentence splitter parted it from the text

    @property
    def introduces(self) -> bool:
        """A line that introduces what follows ("To run a session:"): it ends with a colon."""
        return self.text.rstrip().endswith(":")


@dataclass
class Unit:
    """One unit of the author's text under its section heading, pieces in reading order."""

    kind: str  # "paragraph", "list" or "table"
    doc_id: str
    title: str
    section: str
    pieces: list[Piece]
    lead: list[Piece] = field(default_factory=list)  # a list's line that introduces it ("To run a session:"),
    # after the sentence before it when the line alone does not stand ("This requires:"); a table's header
    rank: int = 0  # the best retrieval position among the passages it was read from (0 = top hit)
    score: float = 0.0
    features: dict[str, float] = field(default_factory=dict)

    @property
    def at(self) -> int:
        return (self.lead or self.pieces)[0].at

    @property
    def all_pieces(self) -> list[Piece]:
        return self.lead + self.pieces

    @property
    def text(self) -> str:
        return "\n".join(p.text for p in self.all_pieces)

    def words(self) -> int:
        return sum(len(p.text.split()) for p in self.all_pieces)


@dataclass
class _Stretch:
    """Contiguous text of one document, read from overlapping or touching passages."""

    doc_id: str
    start: int
    text: str
    sources: list[int]  # indices (0-based) of the passages it covers
    rank: int


def _stretches(sources: list[SearchResult], primary: int) -> list[_Stretch]:
    by_doc: dict[str, list[int]] = {}
    for i, r in enumerate(sources):
        if not r.is_card and r.text.strip():
            by_doc.setdefault(r.doc_id, []).append(i)
    out: list[_Stretch] = []
    for doc_id, idxs in by_doc.items():
        idxs.sort(key=lambda i: sources[i].char_start)
        current: _Stretch | None = None
        for i in idxs:
            r = sources[i]
            rank = i if i < primary else primary + i  # neighbours rank below every hit
            if current is not None and r.char_start <= current.start + len(current.text):
                end = current.start + len(current.text)
                current.text += r.text[end - r.char_start :] if r.char_end > end else ""
                current.sources.append(i)
                current.rank = min(current.rank, rank)
                continue
            current = _Stretch(doc_id, r.char_start, r.text, [i], rank)
            out.append(current)
    return out


def _holder(sources: list[SearchResult], stretch: _Stretch, start: int, end: int, prefer: int | None) -> int | None:
    """The passage (0-based) that holds ``[start, end)`` of the document whole: ``prefer`` (the one
    the text before it was read from, so a unit is quoted from one passage, as one citation) when
    it does, else the best ranked."""
    for i in ([prefer] if prefer is not None else []) + sorted(stretch.sources):
        r = sources[i]
        if r.char_start <= start and end <= r.char_start + len(r.text):
            return i
    return None


def _pieces(
    sources: list[SearchResult], stretch: _Stretch, a: int, b: int, rows: bool = False, prefer: int | None = None
) -> list[Piece]:
    """The sentences of ``stretch.text[a:b]`` (a table's rows, when ``rows``) as citable pieces."""
    out: list[Piece] = []
    spans = [Span(m.group(0).strip(), m.start() + len(m.group(0)) - len(m.group(0).lstrip()), m.end())
             for m in re.finditer(r"[^\n]+", stretch.text[a:b]) if m.group(0).strip()] if rows else []  # fmt: skip
    for span in spans or sentences(stretch.text[a:b]):
        start = stretch.start + a + span.start
        i = _holder(sources, stretch, start, start + len(span.text), out[-1].source - 1 if out else prefer)
        if i is None:
            continue  # a sentence no single passage holds whole cannot be cited
        if MARK_ONLY.match(span.text) or disguised(span.text):
            continue  # a bullet alone; text that shows a reader other than it says (never quoted)
        offset = start - sources[i].char_start
        line = stretch.text[: a + span.start].rsplit("\n", 1)[-1]
        item = (bool(BULLET.match(span.text)) and not line.strip()) or bool(MARK_ONLY.match(line))
        indent = len(line) - len(line.lstrip()) + (len(span.text) - len(span.text.lstrip()))
        number = line.strip() if NUMBERED.match(line) and MARK_ONLY.match(line) else ""
        out.append(Piece(span.text, i + 1, offset, offset + len(span.text), start, item, indent, number))
    return out


def _kind(block: str) -> str:
    lines = [line for line in block.splitlines() if line.strip()]
    if lines and all(TABLE_ROW.match(line) for line in lines):
        return "table"
    if lines and BULLET.match(lines[0]) and not MARK_ONLY.match(lines[0]):
        return "list"
    return "paragraph"


def units(sources: list[SearchResult], primary: int, longest: int = 200) -> list[Unit]:
    """The units of ``sources`` (the first ``primary`` of them are search hits, the rest what was read
    around them), in document and reading order. A paragraph's last sentence that ends in a colon is
    the lead-in of the list or paragraph that follows; a table keeps its header row as lead-in; the
    entries of a glossary, or of a bulleted list with no lead-in of over ``longest`` words, are units."""
    out: list[Unit] = []
    for stretch in _stretches(sources, primary):
        blocks, pos = [], 0
        for m in BLOCK.finditer(stretch.text):
            blocks.append((pos, m.start()))
            pos = m.end()
        blocks.append((pos, len(stretch.text)))
        previous: Unit | None = None
        for a, b in blocks:
            block = stretch.text[a:b]
            if not block.strip():
                continue  # a block of blanks (non-breaking spaces) parts nothing
            if HEADING_LINE.match(block) and "\n" not in block.strip():
                previous = None
                continue
            kind = _kind(block)
            held = previous.all_pieces[-1].source - 1 if previous is not None else None
            pieces = [p for p in _pieces(sources, stretch, a, b, kind == "table", held) if not TABLE_RULE.match(p.text)]
            pieces = [p for p in pieces if not HEADING_LINE.match(p.text) and not NAVIGATION.match(p.text)]
            if kind == "paragraph" and any(STEERING.search(p.text) for p in pieces):
                pieces = []  # a paragraph that addresses a model is the injection whole, not one line of it
            pieces = [p for p in pieces if not STEERING.search(p.text)]  # an item or row that does: that one
            if not pieces:
                previous = None
                continue
            if kind == "list" and previous is not None and previous.kind == "list" and pieces[0].item:
                previous.pieces += pieces  # a loose list: items apart by blank lines are one list
                continue
            first = sources[pieces[0].source - 1]
            unit = Unit(kind, stretch.doc_id, first.title, first.section, pieces, rank=stretch.rank)
            if kind == "table" and len(pieces) > 1:
                unit.lead, unit.pieces = pieces[:1], pieces[1:]
            elif kind == "list" and previous is not None and previous.kind == "paragraph" and not previous.lead:
                if previous.pieces[-1].introduces:
                    unit.lead, previous.pieces = _lead(previous.pieces)
                    if not previous.pieces:
                        out.remove(previous)
            elif kind == "paragraph" and any(p.item for p in pieces):  # a lead-in line with its list, no blank line
                split = next(i for i, p in enumerate(pieces) if p.item)
                if split and pieces[split - 1].introduces:
                    unit.lead, before = _lead(pieces[:split])
                    unit.kind, unit.pieces = "list", pieces[split:]
                    if before:
                        out.append(Unit("paragraph", stretch.doc_id, first.title, first.section, before,
                                        rank=stretch.rank))  # fmt: skip
            out.append(unit)
            previous = unit
    return [entry for unit in out for entry in _entries(unit, longest)]


LABELLED = re.compile(rf"^\s*{MARK}\s+\*\*(?:[^*]+\*\*\s*[-–—:]|[^*]+:\*\*)")  # "- **Term** - …", "- **Term:** …"


def _entries(unit: Unit, longest: int) -> list[Unit]:
    """Each entry of a glossary (a bulleted list whose items open with a bold label: "- **Term** -
    what it is") is a unit, as is each item of a bulleted list with no lead-in longer than an answer
    (shown whole it would be cut; one item matching a 40-item list of words to avoid led with the
    list). Steps stay whole: a numbered list, a list under its lead-in."""
    items = [p for p in unit.pieces if p.item]
    glossary = sum(bool(LABELLED.match(p.text)) for p in items) >= 0.8 * len(items)
    if unit.kind != "list" or len(items) < 2 or NUMBERED.match(items[0].text):
        return [unit]
    if not glossary and (unit.lead or unit.words() <= longest):
        return [unit]
    starts = [i for i, p in enumerate(unit.pieces) if p.item or not i]  # with an entry's further sentences
    return [replace(unit, pieces=unit.pieces[a:b], lead=[]) for a, b in zip(starts, [*starts[1:], None], strict=True)]


def _lead(paragraph: list[Piece]) -> tuple[list[Piece], list[Piece]]:
    """A list's lead-in out of the paragraph that ends with it: its last sentence, and the one
    before when that line alone does not stand; and what is left of the paragraph."""
    cut = len(paragraph) - (2 if len(paragraph) > 1 and len(paragraph[-1].text.split()) < STANDS else 1)
    return paragraph[cut:], paragraph[:cut]


def card_units(sources: list[SearchResult], fields: set[str]) -> list[Unit]:
    """A document's card (retrieved only for a question about the documents themselves: who wrote
    one, which are blogs) as a unit of its sentences, those stating ``fields`` (all when empty)."""
    out = []
    for i, r in enumerate(sources):
        if r.chunk is None or not r.is_card:
            continue
        spans = [s for s in r.chunk.card_spans if not fields or s.field in fields]
        pieces = [Piece(r.text[s.start : s.end], i + 1, s.start, s.end, s.file_start) for s in spans]
        pieces = [p for p in pieces if not STEERING.search(p.text) and not disguised(p.text)]
        if pieces:
            out.append(Unit("paragraph", r.doc_id, r.title, r.section, pieces, rank=i))
    return out


def document_units(passages: list[SearchResult]) -> list[Unit]:
    """Every unit the composer may read from one document's passages and card: the document read
    whole, and each passage read alone (a stretch that starts or ends at it cuts its blocks there).
    What ingest encodes ahead of any question."""
    whole = units(passages, len(passages))
    alone = [u for r in passages if not r.is_card for u in units([r], 1)]
    return whole + alone + card_units(passages, set())
