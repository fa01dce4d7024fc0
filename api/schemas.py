"""Request and response shapes of the HTTP API (the contract other teams' tools read)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from rag.answer.model import Mode, Turn
from rag.core.chunks import IndexedDocument
from rag.core.models import SearchFilters


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AskRequest(Strict):
    question: str = Field(
        description="Not blank; up to POLICYRAG_MAX_QUESTION_CHARS (2,000) characters. An empty and a blank "
        "question get the same error (invalid_question)."
    )
    history: list[Turn] | None = Field(None, max_length=50, description="Earlier turns, oldest first.")
    mode: Mode = Mode.auto
    filters: SearchFilters | None = None
    k: int | None = Field(None, ge=1, le=20, description="Passages to answer from (POLICYRAG_ANSWER_K by default).")
    stream: bool = Field(False, description="Server-sent events: retrieved, delta..., answer.")


class SearchRequest(Strict):
    query: str = Field(min_length=1, max_length=2000)
    k: int = Field(5, ge=1, le=50)
    filters: SearchFilters | None = None


class SearchHit(BaseModel):
    chunk_id: str
    doc_id: str
    title: str
    section: str
    text: str
    score: float = Field(description="Fused rank score (reciprocal rank fusion).")
    char_start: int
    char_end: int
    dense_score: float | None = Field(None, description="Cosine similarity, when the dense side ranked it.")
    lexical_score: float | None = Field(None, description="BM25 score, when the lexical side ranked it.")
    page_start: int | None = Field(None, description="A PDF passage's first page (1-based, as a viewer shows it).")
    page_end: int | None = Field(None, description="A PDF passage's last page.")
    ocr: bool = Field(False, description="Read from a scanned page by OCR: it may hold misread words.")


class SearchResponse(BaseModel):
    results: list[SearchHit]


class DocumentInfo(BaseModel):
    doc_id: str
    title: str
    authors: list[str] = Field(default_factory=list)
    publisher: str | None = None
    date: str | None = None
    doc_type: str | None = None
    topics: list[str] = Field(default_factory=list)
    chunks: int
    path: str = ""
    source: str | None = None
    pages: int | None = Field(None, description="A PDF's page count.")
    evidence_type: str | None = None
    jurisdiction: str | None = None
    level: str | None = None
    review_by: str | None = None
    superseded_by: str | None = None

    @classmethod
    def of(cls, entry: IndexedDocument) -> DocumentInfo:
        doc = entry.meta
        return cls(doc_id=doc.doc_id, title=doc.title or doc.doc_id, authors=list(doc.authors),
                   publisher=doc.publisher, date=doc.date, doc_type=doc.doc_type, topics=list(doc.topics),
                   chunks=entry.chunks, path=doc.path, source=doc.source, pages=doc.pages,
                   evidence_type=doc.evidence_type, jurisdiction=doc.jurisdiction, level=doc.level,
                   review_by=doc.review_by, superseded_by=doc.superseded_by)  # fmt: skip


class DocumentList(BaseModel):
    documents: list[DocumentInfo]


class UploadResponse(BaseModel):
    document: DocumentInfo
    replaced: bool
    chunks_added: int
    status: Literal["indexed"] = "indexed"


class DeleteResponse(BaseModel):
    doc_id: str
    chunks_removed: int


class FeedbackResponse(BaseModel):
    id: int


class ErrorBody(BaseModel):
    type: str
    message: str
    request_id: str | None = None
    details: list[dict[str, Any]] | None = None


class ErrorResponse(BaseModel):
    error: ErrorBody


# -- OpenAI-compatible --------------------------------------------------------------------------
class ContentPart(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: str
    text: str | None = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal["system", "user", "assistant", "tool", "developer"]
    content: str | list[ContentPart] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "\n".join(p.text or "" for p in self.content if p.type == "text")
        return self.content or ""


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow")

    include_usage: bool = False


class ChatCompletionRequest(BaseModel):
    """OpenAI's chat request; sampling fields are accepted and ignored (answers are verified extracts)."""

    model_config = ConfigDict(extra="allow")

    model: str = Field("policyrag", max_length=200, description="policyrag, or an alias in POLICYRAG_MODEL_ALIASES.")
    messages: list[ChatMessage] = Field(min_length=1, max_length=100)
    stream: bool = False
    stream_options: StreamOptions | None = None
    n: int = Field(
        1, ge=1, le=128, description="Only 1: an answer is deterministic, so a second choice would repeat it."
    )
    tools: list[Any] | None = Field(None, description="Refused: policyrag answers from its library, it calls no tools.")
    tool_choice: Any = None
    functions: list[Any] | None = None
