"""Case detection against a gold list: precision, recall, per-field accuracy, verbatim quotes.

The gold list (``evals/datasets/cases.jsonl``) names every case of the corpus with its fields as
the documents state them (null: not stated). A gold entry marked ``acceptable`` is a borderline
case (a book, a kind of policy, a case study the text does not name): finding it is neither right
nor wrong. A found record is the gold case when one of the gold's ``match`` names is in the
record's name or aliases (accents and quote marks aside). A field is right when it is empty and the
gold says not stated, or when one of its quotes holds most of the gold quote's words and is not
much longer than it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rag.cases.model import FIELDS, CaseRecord, fold
from rag.core.chunks import Chunk
from rag.core.text import content_tokens

COVER = 0.6  # share of the gold quote's words a field quote must hold
SPREAD = 0.4  # share of the field quote's words that must be the gold quote's


@dataclass
class GoldCase:
    name: str
    match: list[str]
    doc_ids: list[str]
    fields: dict[str, str | None]
    acceptable: bool = False


@dataclass
class CaseScore:
    precision: float
    recall: float
    field_accuracy: dict[str, float]
    found: int
    gold: int
    verbatim: float
    missed: list[str] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)  # found records that are no gold case
    field_errors: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def load_gold(path: Path) -> list[GoldCase]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            out.append(GoldCase(row["name"], row["match"], row["doc_ids"], {f: row.get(f) for f in FIELDS},
                                bool(row.get("acceptable"))))  # fmt: skip
    return out


def is_case(record: CaseRecord, gold: GoldCase) -> bool:
    names = [fold(n) for n in [record.name, *record.aliases]]
    return bool(set(record.documents) & set(gold.doc_ids)) and any(fold(m) in n for m in gold.match for n in names)


def field_right(quotes: list[str], gold: str | None) -> bool:
    if gold is None:
        return not quotes
    want = content_tokens(fold(gold))
    for q in quotes:
        have = content_tokens(fold(q))
        if have and len(want & have) >= COVER * len(want) and len(want & have) >= SPREAD * len(have):
            return True
    return False


def verbatim_share(records: list[CaseRecord], chunks: dict[str, Chunk]) -> float:
    """Share of all field and mention quotes that are their passage's text at their offsets."""
    total = ok = 0
    for r in records:
        for q in [*r.mentions, *(q for f in FIELDS for q in r.field(f))]:
            total += 1
            c = chunks.get(q.chunk_id)
            if c is not None and c.text[q.char_start - c.char_start : q.char_end - c.char_start] == q.quote:
                ok += 1
    return ok / total if total else 1.0


def score(records: list[CaseRecord], gold: list[GoldCase], chunks: dict[str, Chunk]) -> CaseScore:
    required = [g for g in gold if not g.acceptable]
    wrong = [r.name for r in records if not any(is_case(r, g) for g in gold)]
    matched = {g.name: next((r for r in records if is_case(r, g)), None) for g in required}
    errors = []
    right = dict.fromkeys(FIELDS, 0)
    found_gold = [g for g in required if matched[g.name] is not None]
    for g in found_gold:
        record = matched[g.name]
        assert record is not None
        for f in FIELDS:
            quotes = [q.quote for q in record.field(f)]
            if field_right(quotes, g.fields[f]):
                right[f] += 1
            else:
                errors.append({"case": g.name, "field": f, "gold": g.fields[f], "found": quotes})
    n = len(found_gold)
    return CaseScore(
        precision=round((len(records) - len(wrong)) / len(records), 4) if records else 0.0,
        recall=round(n / len(required), 4) if required else 1.0,
        field_accuracy={f: round(right[f] / n, 4) if n else 0.0 for f in FIELDS},
        found=len(records), gold=len(required), verbatim=round(verbatim_share(records, chunks), 4),
        missed=[g.name for g in required if matched[g.name] is None], wrong=wrong, field_errors=errors,
    )  # fmt: skip


def report(s: CaseScore) -> str:
    """The score as Markdown, for a reader: figures first, then every miss and field error."""
    lines = ["# Case detection", "", "| measure | value |", "|---|---|",
             f"| precision | {s.precision:.2f} ({s.found - len(s.wrong)} of {s.found} are gold or acceptable) |",
             f"| recall | {s.recall:.2f} ({s.gold - len(s.missed)} of {s.gold} gold cases found) |",
             f"| quotes verbatim at their offsets | {s.verbatim:.2f} |"]  # fmt: skip
    lines += [f"| {f} accuracy | {v:.2f} |" for f, v in s.field_accuracy.items()]
    lines += ["", "Missed: " + ("; ".join(s.missed) or "none"), "", "Not gold cases: " + ("; ".join(s.wrong) or "none")]
    if s.field_errors:
        lines += ["", "Field errors:", ""]
        lines += [f"- {e['case']} / {e['field']}: gold {e['gold']!r}, found {e['found']!r}" for e in s.field_errors]
    return "\n".join(lines) + "\n"
