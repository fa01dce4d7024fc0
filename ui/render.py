"""Pure helpers for the page (tested without Streamlit)."""

from __future__ import annotations

import html
import re
from typing import Any

CITATION = re.compile(r"\[\d{1,3}\]")
# Markdown that could fetch or run something (images, links, raw HTML) or fake a citation.
ANSWER_SPECIALS = re.compile(r"([\\`<>\[\]!])")


def answer_markdown(text: str) -> str:
    """An answer as Markdown that keeps its structure (paragraphs, lists, bold) and its ``[n]``
    markers, but cannot become a link, an image or HTML: quoted sentences are document text."""
    out, pos = [], 0
    for m in CITATION.finditer(text):
        out.append(ANSWER_SPECIALS.sub(r"\\\1", text[pos : m.start()]))
        out.append(m.group())
        pos = m.end()
    out.append(ANSWER_SPECIALS.sub(r"\\\1", text[pos:]))
    return "".join(out)


def plain(text: str) -> str:
    """Document-supplied text (titles, metadata, a question) shown literally inside Markdown."""
    return ANSWER_SPECIALS.sub(r"\\\1", " ".join(str(text).split()))


def highlight(passage: str, quote: str) -> str:
    """The passage as escaped HTML, with the verbatim quote marked."""
    at = passage.find(quote) if quote else -1
    if at < 0:
        return f"<mark>{html.escape(quote)}</mark>" if quote else html.escape(passage)
    before, after = passage[:at], passage[at + len(quote) :]
    body = f"{html.escape(before)}<mark>{html.escape(quote)}</mark>{html.escape(after)}"
    return body.replace("\n", "<br>")


def card_meta(doc: dict[str, Any] | None, section: str) -> str:
    """'Author · Publisher · 2012-05-10 · blog · Section' from what the document states."""
    if not doc:
        return section
    who = ", ".join(doc.get("authors") or [])
    parts = [who, doc.get("publisher") or "", doc.get("date") or "", doc.get("doc_type") or "", section]
    return " · ".join(p for p in parts if p)


def refusal_documents(answer: dict[str, Any]) -> list[str]:
    return list(dict.fromkeys(r["title"] for r in answer.get("retrieved", [])))[:3]
