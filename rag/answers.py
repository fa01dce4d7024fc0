"""The ``Answer`` contract (DESIGN.md): what ``ask``, the API and evaluation all return."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field


class Mode(StrEnum):
    auto = "auto"
    howto = "howto"
    precedent = "precedent"
    explain = "explain"


class Citation(BaseModel):
    """One numbered source: ``quote`` is verbatim text of the chunk, at ``char_start:char_end`` of the document."""

    n: int
    chunk_id: str
    doc_id: str
    title: str
    section: str = ""
    quote: str
    char_start: int
    char_end: int
    score: float = Field(description="Support of the cited sentence by this quote, 0-1.")


class Retrieved(BaseModel):
    chunk_id: str
    doc_id: str
    title: str
    score: float


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
