"""Structure-aware chunking: heading sections first, then paragraph/sentence-bounded windows.

Chunk text is always a verbatim slice ``text[char_start:char_end]`` of the loaded document, so
a citation can be checked against the file.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass
from itertools import pairwise

from langchain_text_splitters import RecursiveCharacterTextSplitter

HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$", re.MULTILINE)
# A run of over 40 characters without a space counts as several words, so a line with no spaces
# (a data dump, a hostile document) is cut into windows like any other text.
WORD = re.compile(r"\S{1,40}")
# Paragraphs, then lines (list items), then sentence ends, then words, then characters.
SEPARATORS = [r"\n[ \t]*\n", r"\n", r"(?<=[.!?…])[ \t]+", r"[ \t]+", ""]
# A Markdown table: a row, a rule, then rows, each a line of its own.
TABLE_BLOCK = re.compile(r"(?m)^\|.*\|[ \t]*\n\|(?:[ \t]*:?-{3,}:?[ \t]*\|)+[ \t]*(?:\n\|.*\|[ \t]*)*$")
BOUNDARY = re.compile(r"\n\s*|(?<=[.!?…])[ \t]+")


def word_count(text: str) -> int:
    return len(WORD.findall(text))


@dataclass(frozen=True)
class TextChunk:
    text: str
    section: str
    char_start: int
    char_end: int
    table: bool = False  # a Markdown table (or part of one), kept whole: no overlap, no merging


@dataclass(frozen=True)
class Section:
    path: str
    start: int
    end: int


def sections(text: str, start: int = 0) -> list[Section]:
    """Split ``text[start:]`` at Markdown headings; each section knows its heading path."""
    out: list[Section] = []
    stack: list[tuple[int, str]] = []
    cursor, path = start, ""
    for m in HEADING.finditer(text, start):
        if m.start() > cursor:
            out.append(Section(path, cursor, m.start()))
        level, title = len(m.group(1)), m.group(2).strip()
        stack = [(lvl, t) for lvl, t in stack if lvl < level] + [(level, title)]
        path = " > ".join(t for _, t in stack)
        cursor = m.end()
    if cursor < len(text):
        out.append(Section(path, cursor, len(text)))
    return [s for s in out if text[s.start : s.end].strip()]


def _runs(body: str) -> list[tuple[int, int, bool]]:
    """``body`` cut into runs of prose and Markdown tables, as ``(start, end, is_table)``."""
    runs: list[tuple[int, int, bool]] = []
    start = 0
    for m in TABLE_BLOCK.finditer(body):
        if body[start : m.start()].strip():
            runs.append((start, m.start(), False))
        runs.append((m.start(), m.end(), True))
        start = m.end()
    if body[start:].strip():
        runs.append((start, len(body), False))
    return runs


class SectionChunker:
    """Windows of at most ``max_words`` words that end on paragraph, line or sentence boundaries."""

    def __init__(self, max_words: int = 150, overlap_words: int = 25, min_words: int = 60) -> None:
        self.max_words = max_words
        self.overlap_words = min(overlap_words, max_words // 3)
        self.min_words = min(min_words, max_words)
        # Windows leave room for the overlap added in front of them, so the total stays <= max_words.
        self.splitter = RecursiveCharacterTextSplitter(
            chunk_size=max_words - self.overlap_words,
            chunk_overlap=0,
            length_function=word_count,
            separators=SEPARATORS,
            is_separator_regex=True,
            keep_separator="start",
            add_start_index=True,
            strip_whitespace=True,
        )

    def split(self, text: str, content_start: int = 0) -> list[TextChunk]:
        chunks: list[TextChunk] = []
        for sec in sections(text, content_start):
            body = text[sec.start : sec.end]
            for run_start, run_end, table in _runs(body):
                run = body[run_start:run_end]
                cursor = 0
                for chunk_text, local in self._windows(run, table):
                    if local < 0 or run[local : local + len(chunk_text)] != chunk_text:
                        local = run.find(chunk_text, cursor)
                    if local < 0 or not chunk_text.strip():
                        continue
                    cursor = local + 1
                    begin = sec.start + run_start + local
                    chunks.append(TextChunk(chunk_text, sec.path, begin, begin + len(chunk_text), table))
        return self._add_overlap(text, self._merge_small_tail(text, chunks))

    def _windows(self, body: str, table: bool = False) -> list[tuple[str, int]]:
        """A run's windows as ``(text, offset in the run)`` (offset -1 when unknown). A run that
        fits in one window is one window: LangChain's splitter would cut a single long word (no
        separator but the empty one) into characters and count each as a word. A table fits in a
        whole window (the loaders write long tables in parts)."""
        if word_count(body) <= (self.max_words if table else self.max_words - self.overlap_words):
            stripped = body.strip()
            return [(stripped, body.find(stripped))]
        return [(d.page_content, d.metadata.get("start_index", -1)) for d in self.splitter.create_documents([body])]

    def _add_overlap(self, text: str, chunks: list[TextChunk]) -> list[TextChunk]:
        """Start each window with the previous window's last sentences (whole sentences only)."""
        if not self.overlap_words:
            return chunks
        out = chunks[:1]
        for prev, cur in pairwise(chunks):
            start = cur.char_start
            if prev.section == cur.section and prev.char_end <= cur.char_start and not (prev.table or cur.table):
                for m in BOUNDARY.finditer(text, prev.char_start, cur.char_start):
                    if m.end() < cur.char_start and word_count(text[m.end() : cur.char_start]) <= self.overlap_words:
                        start = m.end()
                        break
            out.append(TextChunk(text[start : cur.char_end], cur.section, start, cur.char_end, cur.table))
        return out

    def _merge_small_tail(self, text: str, chunks: list[TextChunk]) -> list[TextChunk]:
        """A short last window of a section joins its predecessor when the two still fit."""
        out: list[TextChunk] = []
        for chunk in chunks:
            prev = out[-1] if out else None
            if (
                prev is not None
                and not (prev.table or chunk.table)
                and prev.section == chunk.section
                and word_count(chunk.text) < self.min_words
                and chunk.char_end > prev.char_end
                and word_count(text[prev.char_start : chunk.char_end]) <= self.max_words - self.overlap_words
            ):
                out[-1] = TextChunk(
                    text[prev.char_start : chunk.char_end], prev.section, prev.char_start, chunk.char_end
                )
            else:
                out.append(chunk)
        return out


def chunk_ids(doc_id: str, chunks: list[TextChunk]) -> list[str]:
    """Content-hash ids: unchanged passages keep their id (and their embedding) across edits."""
    seen: Counter[str] = Counter()
    ids = []
    for c in chunks:
        base = hashlib.sha256(f"{doc_id}\x1f{c.section}\x1f{c.text}".encode()).hexdigest()[:24]
        seen[base] += 1
        ids.append(base if seen[base] == 1 else f"{base}-{seen[base]}")
    return ids
