"""Briefing exports: an answer or a whole conversation as Markdown or Word, with numbered references.

Pure rendering over answers as the API sends them (``Answer.model_dump(mode="json")``), shared by
the chat UI and the terminal chat; and one ``Answer`` with its references, for a terminal or a
streamed reply's closing text (:func:`render_markdown`).
"""

from __future__ import annotations

import io
import re
from datetime import date
from typing import Any

from rag.answer.model import Answer
from rag.core.chunks import page_label

Turn = dict[str, Any]  # {"question": str, "answer": Answer as a dict}


QUOTE_FIELDS = ("n", "chunk_id", "section", "quote", "char_start", "char_end", "page_start", "page_end", "highlight",
                "highlights")  # fmt: skip


def references(answer: dict[str, Any]) -> list[dict[str, Any]]:
    """The answer's references, one per document with its quotes (from the API; grouped here for an
    answer saved before the API sent them). Each quote keeps its passage for the source card."""
    passages = {c["n"]: c.get("passage") or c["quote"] for c in answer.get("citations", [])}
    refs = answer.get("references")
    if refs is None:
        grouped: dict[str, dict[str, Any]] = {}
        for c in answer.get("citations", []):
            about = {k: c.get(k) for k in ("evidence_type", "jurisdiction", "warning")}
            ref = grouped.setdefault(c["doc_id"], {"doc_id": c["doc_id"], "title": c["title"], "quotes": [], **about})
            ref["quotes"].append({k: c.get(k) for k in QUOTE_FIELDS})
        refs = list(grouped.values())
    return [{**r, "quotes": [{**q, "passage": passages.get(q["n"], q["quote"])} for q in r["quotes"]]} for r in refs]


def _refs(answer: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """One reference per document, with the quotes the answer takes from it."""
    out = []
    for ref in references(answer):
        quotes = []
        for q in ref["quotes"]:
            page = page_label(q.get("page_start"), q.get("page_end"))
            place = ", ".join(p for p in (q.get("section") or "", page) if p)
            where = f" ({place})" if place else ""
            quotes.append(f"[{q['n']}] “{' '.join(str(q['quote']).split())}”{where}")
        kind = ", ".join(x for x in (ref.get("evidence_type"), ref.get("jurisdiction")) if x)
        warning = [f"Warning: {ref['warning']}"] if ref.get("warning") else []
        out.append((f"{ref['title']} ({ref['doc_id']})" + (f" [{kind}]" if kind else ""), warning + quotes))
    return out


def _cases(answer: dict[str, Any]) -> list[str]:
    """The case-library cases the cited sentences name, so a reader can look each one up."""
    return [
        f"{c['name']} (case {c['id']}; policyrag cases, or GET /v1/cases/{c['id']})" for c in answer.get("cases", [])
    ]


def to_markdown(turns: list[Turn], title: str = "Briefing note") -> str:
    note = f"Prepared {date.today().isoformat()} with policyrag. Every sentence cites its source."
    lines = [f"# {title}", "", note, ""]
    for i, turn in enumerate(turns, start=1):
        answer = turn["answer"]
        lines += [f"## {i}. {turn['question']}", "", answer.get("answer", ""), ""]
        refs = _refs(answer)
        if refs:
            lines += ["### References", ""]
            for doc, quotes in refs:
                lines += [f"- {doc}", *(f"  - {q}" for q in quotes)]
            lines.append("")
        if _cases(answer):
            lines += ["### Cases", "", *(f"- {c}" for c in _cases(answer)), ""]
    return "\n".join(lines).rstrip() + "\n"


def to_docx(turns: list[Turn], title: str = "Briefing note") -> bytes:
    from docx import Document  # only when a Word file is asked for

    doc = Document()
    doc.add_heading(title, level=1)
    doc.add_paragraph(f"Prepared {date.today().isoformat()} with policyrag. Every sentence cites its source.")
    for i, turn in enumerate(turns, start=1):
        answer = turn["answer"]
        doc.add_heading(f"{i}. {turn['question']}", level=2)
        for block in str(answer.get("answer", "")).split("\n"):
            text = block.strip()
            if not text:
                continue
            if re.match(r"^\d{1,2}[.)]\s", text):
                doc.add_paragraph(re.sub(r"^\d{1,2}[.)]\s+", "", text), style="List Number")
            elif text.startswith(("- ", "* ")):
                doc.add_paragraph(text[2:].replace("**", ""), style="List Bullet")
            else:
                doc.add_paragraph(text.replace("**", ""))
        refs = _refs(answer)
        if refs:
            doc.add_heading("References", level=3)
            for source, quotes in refs:
                doc.add_paragraph(source, style="List Bullet")
                for q in quotes:
                    doc.add_paragraph(q, style="List Bullet 2")
        if _cases(answer):
            doc.add_heading("Cases", level=3)
            for case in _cases(answer):
                doc.add_paragraph(case, style="List Bullet")
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def render_markdown(answer: Answer) -> str:
    """The answer followed by its references, one per document with its quotes beneath, for
    terminals and exports."""
    if answer.refused or not answer.citations:
        return answer.answer
    refs = []
    for ref in answer.references:
        refs.append(f"- {ref.describe()}" + (f"\n   Warning: {ref.warning}" if ref.warning else ""))
        for q in ref.quotes:
            where = "".join(f"{part}, " for part in (q.section, page_label(q.page_start, q.page_end)) if part)
            quote = " ".join(q.quote.split())
            refs.append(f"   [{q.n}] “{quote}” ({where}chars {q.char_start}-{q.char_end})")
    return answer.answer + "\n\nReferences\n" + "\n".join(refs)
