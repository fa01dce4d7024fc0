"""Is a document still current? Superseded (its own ``superseded_by``, or, when the operator trusts
such claims, another document's ``supersedes``), past its ``review_by`` date, undated, or current:
read from the index's own document list, so a newer document added later changes the older one's
standing at once. A document's claim about *another* document is only a claim: by default it
neither labels nor hides the other (any file in the library could make it); the older document's
own ``superseded_by``, or ``POLICYRAG_TRUST_SUPERSEDES``, is the operator's say-so."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from rag.core.chunks import DocumentMeta, IndexedDocument, date_key


@dataclass(frozen=True)
class Currency:
    status: str  # current, superseded, past_review or undated
    newer_id: str | None = None
    newer_title: str | None = None
    review_by: str | None = None

    @property
    def warned(self) -> bool:
        return self.status in ("superseded", "past_review")

    def warning(self, title: str) -> str | None:
        """The plain line an answer and a source card show, or None for a current document."""
        if self.status == "superseded":
            return f"“{title}” has been superseded by “{self.newer_title}” ({self.newer_id})."
        if self.status == "past_review":
            return f"“{title}” was due for review by {self.review_by}; it may be out of date."
        return None


def newer_than(doc: DocumentMeta, docs: Mapping[str, IndexedDocument], trust_claims: bool = False) -> str | None:
    """The id of the document that replaces ``doc``: its own ``superseded_by``, else (``trust_claims``)
    a document of the index that says it supersedes ``doc``."""
    if doc.superseded_by:
        return doc.superseded_by
    if not trust_claims:
        return None
    return next((d.meta.doc_id for d in sorted(docs.values(), key=lambda d: d.meta.doc_id)
                 if d.meta.supersedes == doc.doc_id), None)  # fmt: skip


def currency(
    doc: DocumentMeta, docs: Mapping[str, IndexedDocument], today: date | None = None, trust_claims: bool = False
) -> Currency:
    newer = newer_than(doc, docs, trust_claims)
    if newer:
        title = docs[newer].meta.title if newer in docs else newer
        return Currency("superseded", newer, title)
    due = date_key(doc.review_by)
    if due is not None and due < (date_key((today or date.today()).isoformat()) or 0):
        return Currency("past_review", review_by=doc.review_by)
    return Currency("undated" if doc.date is None else "current")


def current_ids(
    docs: Mapping[str, IndexedDocument], today: date | None = None, trust_claims: bool = False
) -> list[str]:
    """The documents neither superseded nor past their review date (for ``current_only``)."""
    return sorted(d for d, entry in docs.items() if not currency(entry.meta, docs, today, trust_claims).warned)
