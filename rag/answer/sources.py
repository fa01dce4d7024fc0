"""What an answer says about its sources: each citation's evidence type, jurisdiction, level and
currency, a warning line for a cited document that is superseded or past its review date, and one
plain line when every source is opinion or a summary rather than evidence."""

from __future__ import annotations

from collections.abc import Mapping

from rag.answer.model import Citation
from rag.core.chunks import WEAK_EVIDENCE, IndexedDocument
from rag.index.cards import CARD_SECTION
from rag.index.currency import currency

WEAK_NOTE = "Every source of this answer is an opinion piece or a summary, not an evaluation or research."


def describe(citations: list[Citation], docs: Mapping[str, IndexedDocument]) -> str:
    """Fill each citation's source fields; return the lines the answer ends with ("" for none)."""
    warnings: dict[str, str] = {}
    kinds: set[str | None] = set()
    for c in citations:
        entry = docs.get(c.doc_id)
        if entry is None:
            continue
        meta, standing = entry.meta, currency(entry.meta, docs)
        c.evidence_type, c.jurisdiction, c.level = meta.evidence_type, meta.jurisdiction, meta.level
        c.currency, c.warning = standing.status, standing.warning(meta.title)
        if c.warning:
            warnings.setdefault(c.doc_id, c.warning)
        if c.section != CARD_SECTION:  # a card says who wrote a document, not what it shows
            kinds.add(meta.evidence_type)
    lines = list(warnings.values())
    if kinds and None not in kinds and kinds <= WEAK_EVIDENCE:
        lines.append(WEAK_NOTE)
    return "\n\n" + "\n".join(lines) if lines else ""
