"""The lines the pipeline itself writes into an answer: each citation's evidence type,
jurisdiction, level and currency, a warning line for a cited document that is superseded or past
its review date, one plain line when every source is opinion or a summary rather than evidence,
and the refusal. They are statements about the library, not quotes: they carry no citation and are
never drafted by a generator."""

from __future__ import annotations

import re
from collections.abc import Mapping

from rag.answer.model import Citation
from rag.core.chunks import WEAK_EVIDENCE, IndexedDocument
from rag.core.models import SearchResult
from rag.index.cards import CARD_SECTION
from rag.index.currency import currency

WEAK_NOTE = "Every source of this answer is an opinion piece or a summary, not an evaluation or research."
# the lines describe() adds about the sources' standing (currency, weak evidence)
SOURCE_LINE = re.compile(
    r"^“.+” has been superseded by “.+” \(.+\)\.$|^“.+” was due for review by .+; it may be out of date\.$|"
    rf"^{re.escape(WEAK_NOTE)}$"
)


def is_note(line: str) -> bool:
    """A line the pipeline adds about the sources, not a quoted claim."""
    return bool(SOURCE_LINE.match(line.strip()))


def refusal_message(question: str, results: list[SearchResult], near: bool = False) -> str:
    """``near``: the passages were close enough to try and none of their text verified, so the
    library may well speak of the subject: the refusal says what failed rather than that it is absent."""
    shown = question if len(question) <= 120 else question[:117] + "..."
    closest = list(dict.fromkeys(f"“{r.title}”" for r in results))[:3]
    tail = f" The closest documents are {', '.join(closest)}." if closest else ""
    if near:
        return f"The library has passages near “{shown}”, but none of their sentences answers it closely enough.{tail}"
    return f"The library does not cover “{shown}”.{tail}"


def describe(citations: list[Citation], docs: Mapping[str, IndexedDocument], trust_claims: bool = False) -> str:
    """Fill each citation's source fields; return the lines the answer ends with ("" for none)."""
    warnings: dict[str, str] = {}
    kinds: set[str | None] = set()
    for c in citations:
        entry = docs.get(c.doc_id)
        if entry is None:
            continue
        meta, standing = entry.meta, currency(entry.meta, docs, trust_claims=trust_claims)
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
