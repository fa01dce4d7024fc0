"""Briefing exports: an answer or a whole conversation as Markdown or Word, with numbered references."""

from __future__ import annotations

import io
import re
from datetime import date
from typing import Any

from docx import Document

Turn = dict[str, Any]  # {"question": str, "answer": Answer as a dict}


def _refs(answer: dict[str, Any]) -> list[str]:
    out = []
    for c in answer.get("citations", []):
        where = f", {c['section']}" if c.get("section") else ""
        quote = " ".join(str(c["quote"]).split())
        out.append(f"[{c['n']}] {c['title']}{where} ({c['doc_id']}): “{quote}”")
    return out


def to_markdown(turns: list[Turn], title: str = "Briefing note") -> str:
    note = f"Prepared {date.today().isoformat()} with policyrag. Every sentence cites its source."
    lines = [f"# {title}", "", note, ""]
    for i, turn in enumerate(turns, start=1):
        answer = turn["answer"]
        lines += [f"## {i}. {turn['question']}", "", answer.get("answer", ""), ""]
        refs = _refs(answer)
        if refs:
            lines += ["### References", "", *refs, ""]
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
            for ref in refs:
                doc.add_paragraph(ref)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()
