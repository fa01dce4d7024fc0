"""How a chunk is presented to the embedding model, shared by ingest and the benchmarks."""

from __future__ import annotations


def embedding_input(title: str, section: str, text: str) -> str:
    """Prefix the passage with its document title and heading path.

    The stored chunk text stays a verbatim slice of the document; only the vector sees the
    context, so a passage that says "the report" still lands near questions about that report.
    """
    head = title if not section else f"{title} — {section}"
    return f"{head}\n{text}" if head else text
