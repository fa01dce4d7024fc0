"""Tables as Markdown: a header row, a rule, then the rows, each row one line.

Every loader (PDF, Word, HTML) writes its tables through :func:`markdown_table`, so a table reads
the same whatever it came from. A long table is written as several tables of whole rows, each
repeating the header, so every part the chunker keeps whole says what its columns are, and an
answer can cite a row with its header.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

TABLE_PART_WORDS = 110  # a part stays below one chunk window (chunk_max_words - overlap by default)
ROW = re.compile(r"^\|.*\|\s*$")
RULE = re.compile(r"^\|(?:\s*:?-{3,}:?\s*\|)+\s*$")


def _cell(value: object) -> str:
    return " ".join(str(value or "").split()).replace("|", "/")


def clean_rows(rows: Sequence[Sequence[object]]) -> list[list[str]]:
    """Rows of text cells, blank rows and blank trailing columns left out, every row as wide as the widest."""
    cells = [[_cell(v) for v in row] for row in rows]
    cells = [row for row in cells if any(row)]
    if not cells:
        return []
    width = max(len(row) for row in cells)
    while width > 1 and not any(len(row) >= width and row[width - 1] for row in cells):
        width -= 1
    return [(row + [""] * width)[:width] for row in cells]


def _line(row: list[str]) -> str:
    return "| " + " | ".join(row) + " |"


def markdown_table(rows: Sequence[Sequence[object]], header: list[str] | None = None) -> list[str]:
    """The table as Markdown, in parts of at most ``TABLE_PART_WORDS`` words, each headed by the
    header row (the first row, unless ``header`` is given: a table continued from a page before)."""
    body = clean_rows(rows)
    if header is None:
        if len(body) < 2:
            return [" ".join(c for c in body[0] if c)] if body else []  # one row: a line of text
        header, body = body[0], body[1:]
    width = len(header)
    body = [(row + [""] * width)[:width] for row in body]
    head = _line(header) + "\n" + "| " + " | ".join("---" for _ in header) + " |"
    parts: list[str] = []
    part: list[str] = []
    words = len(head.split())
    for row in body:
        line = _line(row)
        if part and words + len(line.split()) > TABLE_PART_WORDS:
            parts.append("\n".join([head, *part]))
            part, words = [], len(head.split())
        part.append(line)
        words += len(line.split())
    if part:
        parts.append("\n".join([head, *part]))
    return parts


def is_table(block: str) -> bool:
    """A Markdown table block: every line a row, the second a rule."""
    lines = block.strip().splitlines()
    return len(lines) >= 2 and bool(RULE.match(lines[1])) and all(ROW.match(ln) for ln in lines)


def header_of(block: str) -> list[str]:
    first = block.strip().splitlines()[0].strip()
    return [c.strip() for c in first.strip("|").split("|")]
