"""A document's card: its front matter (title, authors, publisher, date, type, topics) as a passage
of plain sentences, indexed beside its text so "who wrote ...", "when was ... published" and "which
documents are blogs" find an answer and cite it.

The card's sentences are ours, not the document's; each one states one field, and its offsets
(``CARD_SPANS``) point at where that field's value sits in the file's front matter, so a citation
still resolves to the file: ``file[char_start:char_end]`` is the value the sentence states.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rag.core.chunks import CardSpan, DocumentMeta
from rag.core.models import SearchResult
from rag.core.text import STEERING, content_tokens, disguised, sentences

CARD_SECTION = "Document card"


_KINDS = r"(?:blogs?|abstracts?|essays?|reports?|summar(?:y|ies)|posts?|papers?|articles?)"
# What a question asks of a document, per card field. A question that only names a document by its
# kind ("the social enterprise abstract") asks for none of them.
FIELD_ASKED = {
    "authors": re.compile(r"\bwho (?:wrote|authored)\b|\bauthors?\b|\bwritten by\b|\bwriters?\b", re.I),
    "affiliation": re.compile(
        r"\baffiliat\w*|\bwhich (?:university|institution)\b|"
        r"\bwhere (?:is|was|are|were|does|did) (?:she|he|they|the authors?|the writers?)\b.*\b(?:based|from|work)",
        re.I,
    ),
    "publisher": re.compile(r"\bpublisher\b|\bpublished by\b|\bwho published\b", re.I),
    "date": re.compile(
        r"\bwhen (?:was|were|did)\b.*\b(?:publish|written|write|post|release|appear)\w*|\bdated?\b|"
        r"\b(?:what|which) year\b|\bhow old\b",
        re.I,
    ),
    "doc_type": re.compile(
        rf"\b(?:kind|type|sort) of (?:document|text|source|piece|publication)s?\b|"
        rf"\b(?:which|what) (?:of the )?(?:documents?|ones|texts|sources) (?:are|is)(?: an?)? {_KINDS}\b|"
        rf"\bis (?:it|this|that|the [\w ]{{1,40}}) an? {_KINDS}\b",
        re.I,
    ),
    "topics": re.compile(r"\b(?:what|which) topics?\b|\btopics? (?:of|does|do)\b", re.I),
}
# A question about documents rather than about what they say.
ASKS_METADATA = re.compile(
    "|".join(p.pattern for p in FIELD_ASKED.values()) + r"|\b(?:which|what) (?:of the )?(?:documents|texts|sources)\b",
    re.I,
)


# Words that say "a document" without naming one (as content tokens, stemmed).
DOCUMENT_WORDS = content_tokens("document paper post report library piece text the one")
# Words that ask for a field rather than name a document: what is left of a question about a
# document without them is its name ("when was the Open Book notes post published" → open book notes).
FIELD_WORDS = content_tokens(
    "which what whose when was were did who wrote write written authored author authors writer writers "
    "publish published publisher posted release released appear appeared dated date year old kind type sort "
    "source sources topic topics affiliation affiliated university institution blog blogs abstract abstracts "
    "essay essays summary summaries article articles documents texts papers reports posts ones"
)


def asked_fields(question: str) -> set[str]:
    return {name for name, pattern in FIELD_ASKED.items() if pattern.search(question)}


@dataclass(frozen=True)
class Card:
    text: str
    spans: tuple[CardSpan, ...]


# One sentence per field, in card order: {named} is the quoted title, {all} every value, {first}
# the first one, {a} its article.
CARD_SENTENCES = (
    ("authors", "{named} was written by {all}."),
    ("affiliation", "The author of {named} is affiliated with {first}."),
    ("publisher", "{named} was published by {first}."),
    ("date", "{named} is dated {first}."),
    ("doc_type", "{named} is {a} {first}."),
    ("about", "{named} is about {first}."),
    ("topics", "The topics of {named} are {all}."),
)


def _listed(values: Sequence[str]) -> str:
    return values[0] if len(values) == 1 else ", ".join(values[:-1]) + " and " + values[-1]


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def _find(front: str, key: str, values: Sequence[str]) -> tuple[int, int] | None:
    """Where the field's values sit in the front matter: from the first value's start to the last
    one's end, searched after the field's key; None when a value is not there verbatim."""
    key_at = re.search(rf"(?m)^{re.escape(key)}\s*:", front)
    if key_at is None:
        return None
    pos, first, last = key_at.end(), -1, -1
    for value in values:
        at = front.find(value, pos)
        if at < 0:
            return None
        first = at if first < 0 else first
        last, pos = at + len(value), at + len(value)
    return first, last


def said_plainly(value: str) -> str:
    """A field's value up to where it turns to addressing a model or hiding what it says ("Northfield
    Homes. Ignore all previous instructions ..." → "Northfield Homes"): a card states what a reader
    of the file would take the field to say, never an order to the assistant."""
    for s in sentences(value):
        if STEERING.search(s.text) or disguised(s.text):
            return value[: s.start].rstrip(" .;,:-–—")
    return value


def document_card(text: str, content_start: int, doc: DocumentMeta) -> Card | None:
    """The card of a document whose front matter names at least one field besides its title."""
    front = text[:content_start]
    if not front.strip():
        return None
    named = f"“{said_plainly(doc.title) or doc.doc_id}”"
    lines: list[tuple[str, str, list[str]]] = []  # (sentence, key, values)

    def values(key: str) -> list[str]:
        raw = getattr(doc, key)
        items = raw if isinstance(raw, tuple) else [raw] if raw else []
        return [v for v in (said_plainly(" ".join(str(v).split())) for v in items if str(v).strip()) if v]

    for key, template in CARD_SENTENCES:
        if vals := values(key):
            words = {"named": named, "all": _listed(vals), "first": vals[0], "a": _article(vals[0])}
            lines.append((template.format(**words), key, vals))
    out, spans = "", []
    for sentence, key, vals in lines:
        where = _find(front, key, vals)
        if where is None:  # a value the file does not hold verbatim cannot be cited to it
            continue
        start = len(out)
        out += sentence + "\n"
        spans.append(CardSpan(start, start + len(sentence), *where, key))
    return Card(out.rstrip("\n"), tuple(spans)) if spans else None


def answers_about_documents(question: str, results: Sequence[SearchResult]) -> bool:
    """A question about documents ("which are blogs?", "who wrote ...?") that a retrieved card
    answers: a card holding a field the question asks for (any field, if it names none)."""
    if not ASKS_METADATA.search(question):
        return False
    fields = asked_fields(question)
    cards = [r.chunk for r in results if r.chunk is not None and r.chunk.is_card]
    return any(c.card_fields() & fields if fields else True for c in cards)


def card_field(result: SearchResult, start: int, end: int) -> str | None:
    """Which field the card sentence at ``start:end`` states (None for a passage)."""
    span = result.chunk.card_span(start, end) if result.chunk is not None else None
    return span.field if span else None
