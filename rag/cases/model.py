"""A case record and its quotes: every field is verbatim text of a document with its place in it.

A field with no quote is "not stated": the record never paraphrases or guesses what a document
does not say. The shapes are the API's (``GET /v1/cases``) and the CLI's ``--json``.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, Field

from rag.core.text import fold as fold_accents

FIELDS = ("who", "where", "what", "funding", "outcome")
NOT_STATED = "not stated"


class CaseQuote(BaseModel):
    """A verbatim slice of a document: ``quote == file_text[char_start:char_end]``."""

    quote: str
    doc_id: str
    title: str = ""
    chunk_id: str = ""
    char_start: int
    char_end: int
    page_start: int | None = None
    page_end: int | None = None

    def cite(self) -> str:
        """Where the quote is, as a reader looks it up."""
        pages = ""
        if self.page_start is not None:
            pages = f"p. {self.page_start}, " if self.page_end in (None, self.page_start) else (
                f"pp. {self.page_start}-{self.page_end}, ")  # fmt: skip
        return f"{self.doc_id}, {pages}chars {self.char_start}-{self.char_end}"


class Mention(BaseModel):
    """One sentence that names a case, with what that sentence (and those that follow on from it) says."""

    name: str
    aliases: list[str] = Field(default_factory=list)
    sentence: CaseQuote
    who: list[CaseQuote] = Field(default_factory=list)
    where: list[CaseQuote] = Field(default_factory=list)
    what: list[CaseQuote] = Field(default_factory=list)
    funding: list[CaseQuote] = Field(default_factory=list)
    outcome: list[CaseQuote] = Field(default_factory=list)


class CaseRecord(BaseModel):
    """One case, its mentions merged across documents. An empty field list means not stated."""

    id: str
    name: str = Field(description="The case's name as the text first gives it.")
    aliases: list[str] = Field(default_factory=list, description="Other names the documents use for it.")
    who: list[CaseQuote] = Field(default_factory=list, description="Who ran it; empty: not stated.")
    where: list[CaseQuote] = Field(default_factory=list, description="Where; empty: not stated.")
    what: list[CaseQuote] = Field(default_factory=list, description="What was done; empty: not stated.")
    funding: list[CaseQuote] = Field(default_factory=list, description="Who or what paid; empty: not stated.")
    outcome: list[CaseQuote] = Field(default_factory=list, description="What happened; empty: not stated.")
    documents: list[str] = Field(default_factory=list, description="Ids of the documents that mention it.")
    mentions: list[CaseQuote] = Field(default_factory=list, description="Every sentence that names it.")
    topics: list[str] = Field(default_factory=list, description="The topics of the documents that mention it.")

    def field(self, name: str) -> list[CaseQuote]:
        value: list[CaseQuote] = getattr(self, name)
        return value

    def stated(self, name: str) -> str:
        """A field as a reader sees it: its first quote, or "not stated"."""
        quotes = self.field(name)
        return quotes[0].quote if quotes else NOT_STATED


class SimilarCase(BaseModel):
    id: str
    name: str
    score: float = Field(description="Cosine similarity of the two cases' names and what they did.")


class CaseDetail(CaseRecord):
    similar: list[SimilarCase] = Field(default_factory=list, description="The nearest other cases, by embedding.")


def fold(text: str) -> str:
    """Lower case without accents or quote marks, so "Bogotá" finds "Bogota" and ‘A-teams’ finds A-teams."""
    return re.sub(r"[‘’“”'\"]", "", fold_accents(text))


GENERIC_TAIL = re.compile(r"\s+(?:approach|example|model|scheme|initiative|programme|program|project)s?$")


def case_key(name: str) -> str:
    """The form two mentions of one case share: "the Zero Carbon Hub approach" ≡ "Zero Carbon Hub"."""
    key = fold(name).strip(" .,;:")
    key = re.sub(r"^(?:the|a|an)\s+", "", key)
    key = GENERIC_TAIL.sub("", key).replace("&", " and ")
    return re.sub(r"[^a-z0-9]+", "-", key).strip("-")  # a URL's path segment as it is


LABELS = {"who": "Who", "where": "Where", "what": "What was done", "funding": "Funding", "outcome": "Outcome"}


def case_lines(record: CaseRecord) -> list[str]:
    """A case as Markdown lines (CLI, briefing exports): each field quoted with where it is, or "not stated"."""
    lines = [f"**{record.name}**" + (f" (also: {'; '.join(record.aliases)})" if record.aliases else "")]
    for name, label in LABELS.items():
        quotes = record.field(name)
        if not quotes:
            lines.append(f"- {label}: {NOT_STATED}")
        for q in quotes:
            lines.append(f"- {label}: “{q.quote}” ({q.cite()})")
    lines.append(f"- Documents: {', '.join(record.documents)}")
    return lines
