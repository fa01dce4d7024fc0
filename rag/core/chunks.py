"""The typed chunk: a passage of one document, with that document's metadata.

Chroma stores metadata as flat scalars and lists of scalars. :meth:`Chunk.to_metadata` and
:meth:`Chunk.from_record` are the one place a chunk is turned into that form and read back; every
stage past the store (lexical mirror, retrieval, answering, ingest state, doctor) works on ``Chunk``
and ``DocumentMeta``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, NamedTuple

# What a document's front matter may say, stored on each of its chunks.
FRONT_MATTER_FIELDS = (
    "authors",
    "publisher",
    "date",
    "doc_type",
    "topics",
    "source",
    "about",
    "affiliation",
    "evidence_type",
    "jurisdiction",
    "level",
    "review_by",
    "superseded_by",
    "supersedes",
)
# What a document is as evidence (front matter ``evidence_type``), weakest last.
EVIDENCE_TYPES = ("evaluation", "research", "case study", "guidance", "policy", "essay", "summary", "opinion/blog")
WEAK_EVIDENCE = frozenset({"summary", "opinion/blog"})
LEVELS = ("central", "local", "any")
LIST_FIELDS = frozenset({"authors", "topics"})


class CardSpan(NamedTuple):
    """One sentence of a document card: its offsets in the card, the offsets in the file of the
    front-matter value it states, and that field's name."""

    start: int
    end: int
    file_start: int
    file_end: int
    field: str


def date_key(value: Any) -> int | None:
    """``2012-05-10`` -> 20120510; ``2012-05`` -> 20120500; ``2012`` -> 20120000; else None."""
    if value is None:
        return None
    parts = str(value).strip()[:10].split("-")
    try:
        year = int(parts[0])
        month = int(parts[1]) if len(parts) > 1 else 0
        day = int(parts[2]) if len(parts) > 2 else 0
    except ValueError:
        return None
    if not (1 <= year <= 9999 and 0 <= month <= 12 and 0 <= day <= 31):
        return None
    return year * 10000 + month * 100 + day


def _text(value: Any) -> str | None:
    """A scalar field as text: a list (``doc_type: [blog]``) is joined, blanks are absent."""
    if value is None:
        return None
    if isinstance(value, list | tuple):
        value = ", ".join(str(v) for v in value if str(v).strip())
    text = str(value)
    return text if text.strip() else None


def _texts(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    items = value if isinstance(value, list | tuple) else [value]
    return tuple(str(v) for v in items if str(v).strip())


@dataclass(frozen=True, slots=True)
class DocumentMeta:
    """What is known about a document: where it came from, the write that indexed it, and its
    front matter (each field absent when the file does not say)."""

    doc_id: str
    title: str
    path: str = ""
    file_hash: str = ""
    file_type: str = ""
    chunk_count: int = -1
    index_format: int = 1
    authors: tuple[str, ...] = ()
    publisher: str | None = None
    date: str | None = None
    doc_type: str | None = None
    topics: tuple[str, ...] = ()
    source: str | None = None
    about: str | None = None
    affiliation: str | None = None
    pages: int | None = None  # a PDF's page count
    evidence_type: str | None = None  # one of EVIDENCE_TYPES
    jurisdiction: str | None = None  # UK, England, Scotland, Wales, Northern Ireland, international, or a country
    level: str | None = None  # central, local or any
    review_by: str | None = None  # the date by which the document should be reviewed
    superseded_by: str | None = None  # the doc id of the document that replaces this one
    supersedes: str | None = None  # the doc id of the document this one replaces

    @classmethod
    def from_front_matter(cls, front: Mapping[str, Any], **write: Any) -> DocumentMeta:
        """A document's metadata from its loaded front matter plus what the write adds (id, path,
        hash, ...); fields the product does not know are left out."""
        values: dict[str, Any] = {}
        for name in FRONT_MATTER_FIELDS:
            values[name] = _texts(front.get(name)) if name in LIST_FIELDS else _text(front.get(name))
        return cls(**values, **write)

    @property
    def date_key(self) -> int | None:
        """The date as a sortable number (``2012-05`` -> 20120500), what date filters compare."""
        return date_key(self.date)

    def stated(self, names: tuple[str, ...]) -> str:
        """The named fields' values as one line of text (for matching a question's words)."""
        parts: list[str] = []
        for name in names:
            value = getattr(self, name)
            parts.extend(value if isinstance(value, tuple) else [value] if value else [])
        return " ".join(parts)


_DOC_FIELDS = tuple(f.name for f in fields(DocumentMeta))


@dataclass(frozen=True, slots=True)
class Chunk:
    """One indexed passage: ``text`` is ``file[char_start:char_end]`` of its document's loaded text,
    except for a document card, whose sentences are ours and whose ``card_spans`` say where in the
    file each stated value is."""

    chunk_id: str
    doc: DocumentMeta
    text: str = ""
    section: str = ""
    char_start: int = 0
    char_end: int = 0
    chunk_index: int = -1
    card_spans: tuple[CardSpan, ...] = field(default=())
    page_start: int | None = None  # a PDF's pages this chunk runs over (1-based), else None
    page_end: int | None = None
    page_breaks: tuple[int, ...] = ()  # document offsets inside the chunk where pages after page_start begin
    ocr_pages: tuple[int, ...] = ()  # its pages read from a scanned image by OCR (they may hold misread words)

    @property
    def doc_id(self) -> str:
        return self.doc.doc_id

    @property
    def is_card(self) -> bool:
        return bool(self.card_spans)

    def card_span(self, start: int, end: int) -> CardSpan | None:
        """The card sentence a span at ``start:end`` of this card falls in (None for a passage)."""
        for span in self.card_spans:
            if span.start <= start < span.end or (start <= span.start and end >= span.end):
                return span
        return None

    def page_at(self, offset: int) -> int | None:
        """The page a document offset of this chunk is on (None when the document has no pages)."""
        if self.page_start is None:
            return None
        return self.page_start + sum(1 for b in self.page_breaks if b <= offset)

    def pages_of(self, start: int, end: int) -> tuple[int | None, int | None]:
        """First and last page of the document span ``start:end`` (file offsets)."""
        return self.page_at(start), self.page_at(max(start, end - 1))

    @property
    def ocr(self) -> bool:
        return bool(self.ocr_pages)

    def read_by_ocr(self, start: int, end: int) -> bool:
        """Whether the span ``start:end`` (file offsets) lies on a page read by OCR."""
        first, last = self.pages_of(start, end)
        return first is not None and any(first <= p <= (last or first) for p in self.ocr_pages)

    def card_fields(self) -> set[str]:
        return {span.field for span in self.card_spans}

    def locate(self, start: int, end: int) -> tuple[int, int]:
        """File offsets of ``text[start:end]``: the slice itself for a passage of the document, the
        stated value's place in the front matter for a sentence of its card."""
        span = self.card_span(start, end)
        return (span.file_start, span.file_end) if span else (self.char_start + start, self.char_start + end)

    # -- the one conversion to and from Chroma metadata --------------------------------------------
    def to_metadata(self) -> dict[str, Any]:
        """Chroma's form: scalars, non-empty lists of scalars, nothing that is None."""
        out: dict[str, Any] = {}
        for name in _DOC_FIELDS:
            value = getattr(self.doc, name)
            if isinstance(value, tuple):
                if value:
                    out[name] = list(value)
            elif value is not None:
                out[name] = value
        if (key := self.doc.date_key) is not None:
            out["date_key"] = key
        out.update(section=self.section, char_start=self.char_start, char_end=self.char_end,
                   chunk_index=self.chunk_index)  # fmt: skip
        if self.card_spans:
            out[CARD_SPANS] = json.dumps([list(s) for s in self.card_spans])
        if self.page_start is not None and self.page_end is not None:
            out.update(page_start=self.page_start, page_end=self.page_end, page_breaks=json.dumps(self.page_breaks))
        if self.ocr_pages:
            out.update(ocr=True, ocr_pages=json.dumps(self.ocr_pages))
        return out

    @classmethod
    def from_record(cls, chunk_id: str, meta: Mapping[str, Any], text: str | None = None) -> Chunk:
        """A chunk from what Chroma returns; missing fields take their defaults (an orphan chunk
        has no document id, hash or count, which the doctor reports)."""
        doc: dict[str, Any] = {"doc_id": str(meta.get("doc_id", "")), "title": str(meta.get("title", ""))}
        for name in ("path", "file_hash", "file_type"):
            if name in meta:
                doc[name] = str(meta[name])
        for name in ("chunk_count", "index_format", "pages"):
            if name in meta:
                doc[name] = int(meta[name])
        for name in FRONT_MATTER_FIELDS:
            doc[name] = _texts(meta.get(name)) if name in LIST_FIELDS else _text(meta.get(name))
        raw = meta.get(CARD_SPANS)
        rows = json.loads(str(raw)) if raw else []
        spans = tuple(CardSpan(int(s[0]), int(s[1]), int(s[2]), int(s[3]), str(s[4])) for s in rows)
        return cls(
            chunk_id=chunk_id,
            doc=DocumentMeta(**doc),
            text=text or "",
            section=str(meta.get("section", "")),
            char_start=int(meta.get("char_start", 0)),
            char_end=int(meta.get("char_end", 0)),
            chunk_index=int(meta.get("chunk_index", -1)),
            card_spans=spans,
            page_start=int(meta["page_start"]) if "page_start" in meta else None,
            page_end=int(meta["page_end"]) if "page_end" in meta else None,
            page_breaks=tuple(int(b) for b in json.loads(str(meta.get("page_breaks") or "[]"))),
            ocr_pages=tuple(int(p) for p in json.loads(str(meta.get("ocr_pages") or "[]"))),
        )


def page_label(first: int | None, last: int | None) -> str:
    """How a citation names its page: "p. 12", "pp. 12-13", or "" for a document without pages."""
    if first is None:
        return ""
    return f"p. {first}" if last in (None, first) else f"pp. {first}-{last}"


@dataclass(frozen=True, slots=True)
class IndexedDocument:
    """A document as the index holds it: its metadata and how many chunks it has there."""

    meta: DocumentMeta
    chunks: int


CARD_SPANS = "card_spans"  # Chroma metadata key: JSON [[card_start, card_end, file_start, file_end, field], ...]
