"""Data contracts shared by ingest, retrieval, the API and evaluation (see DESIGN.md)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, SkipValidation, model_validator

from rag.core.chunks import Chunk, DocumentMeta


class SearchResult(BaseModel):
    """One ranked passage. ``score`` is the fused (RRF) score; the per-retriever evidence is kept too."""

    chunk_id: str
    doc_id: str
    title: str
    section: str
    text: str
    score: float
    char_start: int
    char_end: int
    dense_score: float | None = Field(None, description="Cosine similarity to the query, if retrieved densely.")
    lexical_score: float | None = Field(None, description="BM25 score, if retrieved lexically.")
    page_start: int | None = Field(None, description="A PDF passage's first page (1-based).")
    page_end: int | None = Field(None, description="A PDF passage's last page.")
    ocr: bool = Field(False, description="The passage was read from a scanned page by OCR.")
    chunk: Annotated[Chunk | None, SkipValidation] = Field(None, exclude=True, repr=False)

    @classmethod
    def of(
        cls, chunk: Chunk, score: float = 0.0, dense_score: float | None = None, lexical_score: float | None = None
    ) -> SearchResult:
        """The result for an indexed chunk; the chunk itself rides along for the answer stages."""
        return cls(chunk_id=chunk.chunk_id, doc_id=chunk.doc_id, title=chunk.doc.title, section=chunk.section,
                   text=chunk.text, score=score, char_start=chunk.char_start, char_end=chunk.char_end,
                   dense_score=dense_score, lexical_score=lexical_score, page_start=chunk.page_start,
                   page_end=chunk.page_end, ocr=chunk.ocr, chunk=chunk)  # fmt: skip

    @property
    def doc(self) -> DocumentMeta:
        return self.chunk.doc if self.chunk is not None else DocumentMeta(self.doc_id, self.title)

    @property
    def is_card(self) -> bool:
        return self.chunk is not None and self.chunk.is_card

    def locate(self, start: int, end: int) -> tuple[int, int]:
        """File offsets of ``text[start:end]``: the slice itself for a passage of the document, the
        stated value's place in the front matter for a sentence of its card (``rag.index.cards``)."""
        if self.chunk is not None:
            return self.chunk.locate(start, end)
        return self.char_start + start, self.char_start + end

    def pages_of(self, start: int, end: int) -> tuple[int | None, int | None]:
        """The pages of a span given in file offsets (as :meth:`locate` returns them)."""
        return self.chunk.pages_of(start, end) if self.chunk is not None else (None, None)

    def read_by_ocr(self, start: int, end: int) -> bool:
        return self.chunk is not None and self.chunk.read_by_ocr(start, end)


class SearchFilters(BaseModel):
    """Metadata filters; an unknown field is an error rather than silently ignored."""

    model_config = ConfigDict(extra="forbid")

    doc_ids: list[str] | None = None
    doc_types: list[str] | None = None
    topics: list[str] | None = Field(None, description="Match documents having any of these topics.")
    date_from: date | None = None
    date_to: date | None = None
    evidence_types: list[str] | None = Field(None, description="evaluation, research, case study, guidance, policy, "
                                             "essay, summary, opinion/blog")  # fmt: skip
    jurisdictions: list[str] | None = Field(None, description="UK, England, Scotland, Wales, Northern Ireland, ...")
    levels: list[str] | None = Field(None, description="central, local or any")
    current_only: bool = Field(False, description="Leave out superseded documents and those past their review date.")

    @model_validator(mode="after")
    def _dates_in_order(self) -> SearchFilters:
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ValueError(f"date_from ({self.date_from}) is after date_to ({self.date_to})")
        return self

    def is_empty(self) -> bool:
        return not any(v for v in self.model_dump().values())

    def describe(self) -> str:
        """The filters as a reader would say them: "doc_types: blog; date_from: 2020-01-01"."""
        shown = {k: v for k, v in self.model_dump(mode="json").items() if v}
        return "; ".join(f"{k}: {', '.join(map(str, v)) if isinstance(v, list) else v}" for k, v in shown.items())
