"""Pure helpers for the page (tested without Streamlit)."""

from __future__ import annotations

import html
from typing import Any


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
