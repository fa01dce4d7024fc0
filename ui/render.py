"""Pure helpers for the page (tested without Streamlit)."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
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


def highlight(passage: str, quote: str, answering: bool = False, bold: Sequence[Sequence[int]] = ()) -> str:
    """The passage as escaped HTML with the verbatim quote marked: in bold where it bears most on
    the question (``bold``: offsets in the quote of those sentences; ``answering``: all of it)."""
    runs = [(int(a), int(b)) for a, b in bold] or ([(0, len(quote))] if answering else [])
    inner, at = [], 0
    for a, b in sorted(runs):
        inner += [html.escape(quote[at:a]), f"<b>{html.escape(quote[a:b])}</b>"]
        at = b
    mark = f"<mark>{''.join(inner)}{html.escape(quote[at:])}</mark>"
    at = passage.find(quote) if quote else -1
    if at < 0:
        return mark.replace("\n", "<br>") if quote else html.escape(passage)
    before, after = passage[:at], passage[at + len(quote) :]
    return f"{html.escape(before)}{mark}{html.escape(after)}".replace("\n", "<br>")


def ask_prompt(documents: list[dict[str, Any]], most: int = 3) -> str:
    """The chat box's prompt, in the words of the library in use: its most common topics, else
    its titles; never words of a corpus the user did not bring."""
    counts: dict[str, int] = {}
    for doc in documents:
        for topic in doc.get("topics") or []:
            key = " ".join(str(topic).split())
            counts[key] = counts.get(key, 0) + 1
    named = sorted(counts, key=lambda t: (-counts[t], t))[:most]
    if not named:
        named = [" ".join(str(d.get("title", "")).split()) for d in documents[:most] if d.get("title")]
    if not named:
        return "Ask a question about the documents in the library"
    listed = named[0] if len(named) == 1 else f"{', '.join(named[:-1])} or {named[-1]}"
    return f"Ask about {listed}"[:120]


def cases_placeholder(cases: list[dict[str, Any]], most: int = 2) -> str:
    """An example search for the Cases page, from the library's own case names."""
    names = [" ".join(str(c.get("name", "")).split())[:40] for c in cases[:most] if c.get("name")]
    return f"e.g. {', '.join(names)}" if names else "Search the cases the library names"


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
