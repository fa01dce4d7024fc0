"""The ``Answer`` contract (DESIGN.md): what ``ask``, the API and evaluation all return."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, computed_field

from rag.core.models import SearchResult
from rag.core.text import Span


class Mode(StrEnum):
    auto = "auto"
    howto = "howto"
    precedent = "precedent"
    explain = "explain"


class Turn(BaseModel):
    """One earlier turn of a conversation (the API's ``history``, a dataset case's, ``ask --history``)."""

    model_config = ConfigDict(extra="forbid")
    role: Literal["user", "assistant"]
    content: str = Field(max_length=20_000)


class Citation(BaseModel):
    """One numbered source: ``quote`` is verbatim text of the document at ``char_start:char_end``."""

    n: int
    chunk_id: str = Field(description="The passage the quote starts in.")
    chunk_ids: list[str] = Field(default_factory=list, description="Every passage the quote runs over, in order: "
                                 "a unit that a chunk boundary cut is quoted whole.")  # fmt: skip
    doc_id: str
    title: str
    section: str = ""
    quote: str
    char_start: int
    char_end: int
    score: float = Field(description="Support of the cited sentence by this quote, 0-1.")
    page_start: int | None = Field(None, description="A PDF quote's page (1-based, as a viewer shows it).")
    page_end: int | None = Field(None, description="The quote's last page, when it runs over a page break.")
    ocr: bool = Field(False, description="The quote was read from a scanned page by OCR.")
    evidence_type: str | None = Field(None, description="What the source is as evidence (evaluation ... opinion/blog).")
    jurisdiction: str | None = None
    level: str | None = Field(None, description="central, local or any")
    currency: str | None = Field(None, description="current, superseded, past_review or undated")
    warning: str | None = Field(None, description="Why the source may be out of date, naming the newer document.")
    passage: str = Field("", description="The retrieved passage the quote sits in, whole (for source cards).")
    highlight: bool = Field(False, description="It holds a sentence that bears most on the question (in bold).")
    highlights: list[tuple[int, int]] = Field(
        default_factory=list, description="Those sentences' [start, end) offsets within the quote.")  # fmt: skip

    @classmethod
    def quoting(
        cls, n: int, src: SearchResult, span: Span, score: float, highlight: bool = False,
        highlights: list[tuple[int, int]] | None = None,
    ) -> Citation:  # fmt: skip
        """Citation ``n``: ``span`` of ``src``, located in its file (offsets, pages, OCR); all of it
        highlighted when ``highlight`` and no ``highlights`` within it are given."""
        start, end = src.locate(span.start, span.end)
        first, last = src.pages_of(start, end)
        return cls(n=n, chunk_id=src.chunk_id, chunk_ids=[src.chunk_id], doc_id=src.doc_id, title=src.title,
                   section=src.section, quote=span.text, char_start=start, char_end=end, page_start=first,
                   page_end=last, ocr=src.read_by_ocr(start, end), score=round(score, 4), passage=src.text,
                   highlight=highlight or bool(highlights),
                   highlights=highlights or ([(0, len(span.text))] if highlight else []))  # fmt: skip


class Quote(BaseModel):
    """One cited quote of a document, under its reference."""

    n: int
    chunk_id: str
    chunk_ids: list[str] = Field(default_factory=list)
    section: str = ""
    quote: str
    char_start: int
    char_end: int
    page_start: int | None = None
    page_end: int | None = None
    highlight: bool = False
    highlights: list[tuple[int, int]] = Field(default_factory=list)


class Reference(BaseModel):
    """One document an answer cites, with every quote the answer takes from it, in citation order."""

    doc_id: str
    title: str
    quotes: list[Quote]
    evidence_type: str | None = None
    jurisdiction: str | None = None
    warning: str | None = Field(None, description="Why the document may be out of date, naming the newer one.")

    def describe(self) -> str:
        """The reference's heading line: title, id, evidence type and jurisdiction."""
        kind = ", ".join(x for x in (self.evidence_type, self.jurisdiction) if x)
        return f"{self.title} ({self.doc_id})" + (f" [{kind}]" if kind else "")


def group_references(citations: list[Citation]) -> list[Reference]:
    """Citations grouped by document, documents in order of first citation: a reader sees each
    source once, with all that the answer quotes from it, rather than the same title per chunk."""
    refs: dict[str, Reference] = {}
    for c in citations:
        about = {"evidence_type": c.evidence_type, "jurisdiction": c.jurisdiction, "warning": c.warning}
        ref = refs.setdefault(c.doc_id, Reference(doc_id=c.doc_id, title=c.title, quotes=[], **about))
        ref.quotes.append(Quote(n=c.n, chunk_id=c.chunk_id, chunk_ids=c.chunk_ids, section=c.section, quote=c.quote,
                                char_start=c.char_start, char_end=c.char_end, page_start=c.page_start,
                                page_end=c.page_end, highlight=c.highlight, highlights=c.highlights))  # fmt: skip
    return list(refs.values())


class Retrieved(BaseModel):
    chunk_id: str
    doc_id: str
    title: str
    score: float


class CaseLink(BaseModel):
    """A case of the case library that a cited sentence names (``GET /v1/cases/{id}``)."""

    id: str
    name: str


class Answer(BaseModel):
    answer: str = Field(description="Markdown with inline [n] markers.")
    citations: list[Citation] = Field(default_factory=list)
    refused: bool = False
    refusal_reason: str | None = None
    mode: Mode = Mode.explain
    retrieved: list[Retrieved] = Field(default_factory=list)
    timings_ms: dict[str, float] = Field(default_factory=dict)
    unsupported: list[str] = Field(
        default_factory=list, description="Sentences kept but flagged (only when configured to keep them)."
    )
    query: str = Field("", description="The standalone search query (a follow-up is rewritten with its history).")
    generator: str = Field("", description="The generator that drafted the answer.")
    fallback: bool = Field(
        False, description="The LLM's draft had no verified sentence, so the extractive generator answered."
    )
    dropped: list[str] = Field(
        default_factory=list,
        description="Draft sentences removed because no retrieved passage supports them (for evaluation; never shown "
        "as part of the answer).",
    )
    not_stated: list[str] = Field(
        default_factory=list,
        description="Parts of the question the passages do not state; the answer ends by saying so for each.",
    )
    premise: str | None = Field(
        None, description="A name or figure the question assumes that no passage bears out; the answer says so first."
    )
    cases: list[CaseLink] = Field(
        default_factory=list, description="Cases of the case library that the cited sentences name."
    )

    @computed_field  # type: ignore[prop-decorator]
    @property
    def references(self) -> list[Reference]:
        """The citations grouped by document (one reference per document, its quotes beneath)."""
        return group_references(self.citations)


class AnswerEvent(BaseModel):
    """One step of a streamed answer: ``delta`` pieces of verified text, then the whole ``answer``.

    The deltas of one stream concatenate to ``answer.answer``.
    """

    event: Literal["retrieved", "delta", "answer"]
    text: str = ""
    retrieved: list[Retrieved] | None = None
    answer: Answer | None = None


class AnswerError(ValueError):
    """Raised by the answer stage for a question it cannot take (empty, too long)."""


def load_history(path: Path) -> list[dict[str, str]]:
    """Earlier turns from a JSON file: ``[{"role": "user"|"assistant", "content": "..."}, ...]``."""
    try:
        return [turn.model_dump() for turn in TypeAdapter(list[Turn]).validate_json(path.read_bytes())]
    except OSError as exc:
        raise AnswerError(f"history: cannot read {path}: {exc}") from exc
    except ValidationError as exc:
        shape = '[{"role": "user"|"assistant", "content": "..."}]'
        raise AnswerError(f"history: {path} must be a JSON list {shape} ({exc.errors()[0]['msg']})") from exc
