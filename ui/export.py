"""Briefing exports: an answer or a whole conversation as Markdown or Word, with numbered references."""

from __future__ import annotations

import io
import re
from datetime import date
from typing import Any

from docx import Document

from ui.render import references

Turn = dict[str, Any]  # {"question": str, "answer": Answer as a dict}


def _refs(answer: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """One reference per document, with the quotes the answer takes from it."""
    out = []
    for ref in references(answer):
        quotes = []
        for q in ref["quotes"]:
            where = f" ({q['section']})" if q.get("section") else ""
            quotes.append(f"[{q['n']}] “{' '.join(str(q['quote']).split())}”{where}")
        out.append((f"{ref['title']} ({ref['doc_id']})", quotes))
    return out


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
    return "\n".join(lines).rstrip() + "\n"


def to_docx(turns: list[Turn], title: str = "Briefing note") -> bytes:
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
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()
