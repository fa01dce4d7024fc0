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


CASE_FIELDS = {"who": "Who", "where": "Where", "what": "What was done", "funding": "Funding", "outcome": "Outcome"}


def first_quote(case: dict[str, Any], name: str) -> str:
    """A case field as the table shows it: its first quote, or "not stated"."""
    quotes = case.get(name) or []
    return " ".join(quotes[0]["quote"].split()) if quotes else "not stated"


def case_sentence(mention: dict[str, Any], case: dict[str, Any]) -> str:
    """A sentence naming the case as escaped HTML, with every field quote inside it marked."""
    text, start = mention["quote"], mention["char_start"]
    marks: list[tuple[int, int]] = []
    for name in CASE_FIELDS:
        for q in case.get(name) or []:
            s, e = q["char_start"] - start, q["char_end"] - start
            if q["doc_id"] == mention["doc_id"] and 0 <= s < e <= len(text):
                marks.append((s, e))
    out, pos = [], 0
    for s, e in sorted(marks):
        if s < pos:
            continue
        out += [html.escape(text[pos:s]), f"<mark>{html.escape(text[s:e])}</mark>"]
        pos = e
    out.append(html.escape(text[pos:]))
    return "".join(out)
