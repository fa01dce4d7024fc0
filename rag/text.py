"""Sentence segmentation with exact offsets, and the small text measures answers are scored with."""

from __future__ import annotations

import re
from dataclasses import dataclass

import sentencex

from rag.lexical import tokenize

BULLET = re.compile(r"^\s*(?:[•\-–—*·▪]|\d{1,2}[.)])\s+")
MARKER = re.compile(r"\s*\[(\d{1,3})\]")
CLOSING = re.compile(r"^[)\]”’\"»]+")


@dataclass(frozen=True)
class Span:
    """A sentence as a verbatim slice ``text[start:end]`` of the text it came from."""

    text: str
    start: int
    end: int


def sentences(text: str) -> list[Span]:
    """Sentences (and list items, which are sentences to a reader) with exact offsets into ``text``."""
    out: list[Span] = []
    pos = 0
    for seg in sentencex.segment("en", text):
        start = text.find(seg, pos) if seg else -1
        if start < 0:
            continue
        pos = start + len(seg)
        # sentencex keeps line breaks inside a segment; a new line in prose starts a new item.
        for m in re.finditer(r"[^\n]+", seg):
            piece = m.group(0)
            lead = len(piece) - len(piece.lstrip())
            body = piece.strip()
            if not body:
                continue
            s = start + m.start() + lead
            closing = CLOSING.match(body)
            if closing and out and m.start() == 0:  # "...their policy?" + ")" is one sentence
                prev = out.pop()
                end = s + closing.end()
                out.append(Span(text[prev.start : end], prev.start, end))
                body, s = body[closing.end() :].lstrip(), s + closing.end()
                s = text.find(body, s) if body else s
            if body:
                out.append(Span(body, s, s + len(body)))
    return out


def display(sentence: str) -> str:
    """How a quoted sentence reads inside an answer: no list bullet, single spaces."""
    return " ".join(BULLET.sub("", sentence).split())


def content_tokens(text: str) -> set[str]:
    return set(tokenize([text])[0]) - {""}


def overlap(query: str, sentence: str) -> float:
    """Share of the query's content words (stemmed) that the sentence contains."""
    q = content_tokens(query)
    return len(q & content_tokens(sentence)) / len(q) if q else 0.0
