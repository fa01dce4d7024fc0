"""Data contracts shared by ingest, retrieval, the API and evaluation (see DESIGN.md)."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator


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
    metadata: dict[str, Any] = Field(default_factory=dict, exclude=True)

    def locate(self, start: int, end: int) -> tuple[int, int]:
        """File offsets of ``text[start:end]``: the slice itself for a passage of the document, the
        stated value's place in the front matter for a sentence of its card (``rag.index.cards``)."""
        return card_location(self.metadata, start, end) or (self.char_start + start, self.char_start + end)


class SearchFilters(BaseModel):
    """Metadata filters; an unknown field is an error rather than silently ignored."""

    model_config = ConfigDict(extra="forbid")

    doc_ids: list[str] | None = None
    doc_types: list[str] | None = None
    topics: list[str] | None = Field(None, description="Match documents having any of these topics.")
    date_from: date | None = None
    date_to: date | None = None

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


CARD_SPANS = "card_spans"  # chunk metadata: JSON [[card_start, card_end, file_start, file_end, field], ...]


def card_span(metadata: dict[str, Any], start: int, end: int) -> list[Any] | None:
    """The card span (card offsets, file offsets, field) a sentence at ``start:end`` of a document
    card falls in, or None for a passage that is not a card."""
    raw = metadata.get(CARD_SPANS)
    if not raw:
        return None
    for span in json.loads(str(raw)):
        if span[0] <= start < span[1] or (start <= span[0] and end >= span[1]):
            return list(span)
    return None


def card_location(metadata: dict[str, Any], start: int, end: int) -> tuple[int, int] | None:
    """The file offsets a card sentence points at: the stated value's place in the front matter."""
    span = card_span(metadata, start, end)
    return (int(span[2]), int(span[3])) if span else None
