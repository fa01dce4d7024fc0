"""Metadata filters, the same on both sides of a search: a Chroma ``where`` clause for the dense
side, and :func:`matches` for the BM25 side and the document list."""

from __future__ import annotations

from typing import Any

from rag.core.chunks import DocumentMeta, date_key
from rag.core.models import SearchFilters

__all__ = ["chroma_where", "date_key", "matches"]


def chroma_where(filters: SearchFilters | None) -> dict[str, Any] | None:
    if filters is None or filters.is_empty():
        return None
    clauses: list[dict[str, Any]] = []
    if filters.doc_ids:
        clauses.append({"doc_id": {"$in": filters.doc_ids}})
    if filters.doc_types:
        clauses.append({"doc_type": {"$in": filters.doc_types}})
    if filters.topics:
        any_topic = [{"topics": {"$contains": t}} for t in filters.topics]
        clauses.append(any_topic[0] if len(any_topic) == 1 else {"$or": any_topic})
    if filters.date_from:
        clauses.append({"date_key": {"$gte": date_key(filters.date_from.isoformat())}})
    if filters.date_to:
        clauses.append({"date_key": {"$lte": date_key(filters.date_to.isoformat())}})
    for field, values in (("evidence_type", filters.evidence_types), ("jurisdiction", filters.jurisdictions),
                          ("level", filters.levels)):  # fmt: skip
        if values:
            clauses.append({field: {"$in": values}})
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def matches(doc: DocumentMeta, filters: SearchFilters) -> bool:
    """The same semantics as :func:`chroma_where`, for the lexical side and the document list."""
    if filters.doc_ids and doc.doc_id not in filters.doc_ids:
        return False
    if filters.doc_types and doc.doc_type not in filters.doc_types:
        return False
    if filters.topics and not set(filters.topics) & set(doc.topics):
        return False
    if filters.evidence_types and doc.evidence_type not in filters.evidence_types:
        return False
    if filters.jurisdictions and doc.jurisdiction not in filters.jurisdictions:
        return False
    if filters.levels and doc.level not in filters.levels:
        return False
    key = doc.date_key
    if filters.date_from and (key is None or key < (date_key(filters.date_from.isoformat()) or 0)):
        return False
    return not (filters.date_to and (key is None or key > (date_key(filters.date_to.isoformat()) or 0)))
