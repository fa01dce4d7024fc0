"""PDF text with its pages and structure: what a reader of the PDF sees, in reading order.

``pypdf`` checks the file (encryption, page count, decompression limits) and reads the outline and
document information; ``pdfplumber`` (MIT, on ``pdfminer.six``) gives each text line with its
position, size and font. From those lines:

- running headers and footers (a line repeated at the top or bottom of most pages, page numbers
  included) are dropped;
- a two-column page is read column by column;
- a word hyphenated across a line end is joined, and a paragraph's lines are joined with spaces;
- headings come from the outline (bookmarks) when the PDF has one, else from font size and weight,
  and are written as Markdown headings so the chunker gives each passage its section path;
- ``page_starts`` records where each page begins in the text, so every chunk and every quote knows
  its page.
"""

from __future__ import annotations

import io
import logging
import re
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ingest.ocr import MAX_OCR_PAGES
from ingest.pdf_layout import Line, Page, broken_word, page_lines
from ingest.tables import markdown_table

logger = logging.getLogger(__name__)

EDGE_LINES = 2  # lines at the top and at the bottom of a page that may be running furniture
PAGE_NUMBER = re.compile(r"^(?:page\s+)?(?:\d{1,4}|[ivx]{1,5})(?:\s*(?:of|/)\s*\d{1,4})?$", re.I)
BULLET_START = re.compile(r"^(?:[•▪◦·\-–*]|\d{1,2}[.)])\s+")
TERMINAL = re.compile(r"[.!?:;][\"”’)\]]*$")


class PdfError(Exception):
    """A PDF that cannot be read; the message says why (the loader reports it as the skip reason)."""


@dataclass
class PdfText:
    text: str
    page_starts: list[int]  # text offset where page i+1 begins
    metadata: dict[str, Any]
    ocr_pages: set[int] = field(default_factory=set)
    skipped_pages: list[tuple[int, str]] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)  # checks, layout, ocr, compose (for the benchmark)


def _outline(reader: Any) -> list[tuple[int, str, int]]:
    """The bookmarks as ``(level, title, page number)``, in order."""
    out: list[tuple[int, str, int]] = []

    def walk(items: list[Any], level: int) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item, level + 1)
                continue
            try:
                page = reader.get_destination_page_number(item) + 1
            except Exception:  # noqa: BLE001 - a bookmark to nowhere is left out
                continue
            title = " ".join(str(getattr(item, "title", "") or "").split())
            if title and page > 0:
                out.append((min(level, 6), title, page))

    try:
        walk(list(reader.outline), 1)
    except Exception:
        logger.debug("unreadable PDF outline", exc_info=True)
        return []
    return out


def _info(reader: Any) -> dict[str, Any]:
    """Title and author from the document information. Its creation date is not taken for the
    document's date: it is when the file was written (often a conversion), not when the document
    was published, and a wrong date misleads more than none."""
    meta: dict[str, Any] = {}
    try:
        info = reader.metadata
        title, author = (info.title, info.author) if info is not None else (None, None)
    except Exception:
        logger.debug("unreadable PDF document information", exc_info=True)
        return meta
    if title and str(title).strip():
        meta["title"] = " ".join(str(title).split())
    if author and str(author).strip():
        meta["authors"] = [" ".join(str(author).split())]
    return meta


def check(data: bytes, max_pages: int) -> tuple[Any, int]:
    """Open with pypdf and enforce the limits before any layout work: not encrypted, at most
    ``max_pages`` pages, and every page's content within pypdf's decompression limits."""
    from pypdf import PdfReader
    from pypdf.errors import LimitReachedError, PdfReadError

    if not data.startswith(b"%PDF-"):
        raise PdfError("not a PDF file (it does not start with %PDF-)")
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise PdfError("the PDF is encrypted; save an unprotected copy")
        n_pages = len(reader.pages)
        if n_pages > max_pages:
            raise PdfError(f"the PDF has {n_pages} pages, more than the limit of {max_pages}")
        for page in reader.pages:
            contents = page.get_contents()
            if contents is not None:
                contents.get_data()  # a decompression bomb stops here, under pypdf's limits
    except PdfError:
        raise
    except LimitReachedError as exc:  # pypdf's own guard against decompression bombs
        raise PdfError(f"the PDF expands beyond pypdf's safety limits ({exc})") from exc
    except (PdfReadError, ValueError, KeyError, TypeError, OSError, AttributeError, IndexError) as exc:
        raise PdfError(f"corrupt or unreadable PDF ({exc.__class__.__name__}: {exc})") from exc
    return reader, n_pages


def _furniture(pages: list[Page], title: str = "") -> None:
    """Drop running headers, footers and page numbers: edge lines seen on most pages (digits
    masked, so "Page 3 of 9" matches "Page 4 of 9"), edge lines that are a page number, and the
    document's title at a page's edge set no larger than the body (a running header, which a
    one-page document cannot show by repetition; a title set as a heading is larger)."""

    def key(line: Line) -> str:
        return re.sub(r"\d+", "#", line.text.lower())

    def edges(page: Page) -> list[Line]:
        lines = sorted((ln for ln in page.lines if ln.table is None), key=lambda ln: ln.top)  # by place, not order
        return lines[:EDGE_LINES] + lines[max(EDGE_LINES, len(lines) - EDGE_LINES) :]

    seen = Counter(k for page in pages for k in {key(ln) for ln in edges(page)})
    # on most pages of a longer document, or on each page of a two-page one
    repeated = {k for k, n in seen.items() if len(pages) >= 2 and n >= max(2, len(pages) // 2)}
    body = _body_size(pages)
    named = _normal(title)

    def furniture(line: Line) -> bool:
        header = bool(named) and _normal(line.text) == named and line.size <= body + 0.5
        return key(line) in repeated or bool(PAGE_NUMBER.match(line.text)) or header

    for page in pages:
        drop = {id(ln) for ln in edges(page) if furniture(ln)}
        page.lines = [ln for ln in page.lines if id(ln) not in drop]


def _body_size(pages: list[Page]) -> float:
    """The font size most of the text is set in (0 for a document without text)."""
    sizes = Counter(ln.size for page in pages for ln in page.lines for _ in range(len(ln.text)))
    return sizes.most_common(1)[0][0] if sizes else 0.0


def _normal(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def _headings(pages: list[Page], outline: list[tuple[int, str, int]]) -> None:
    """Mark heading lines: the outline's titles on their pages when the PDF has an outline, else
    short lines set larger than the body text (levels by size), or bold lines of body size."""
    if outline:
        for level, title, number in outline:
            page = pages[number - 1] if 0 < number <= len(pages) else None
            match = next((ln for ln in page.lines if _normal(ln.text) == _normal(title)), None) if page else None
            if match is not None:
                match.heading = level
            elif page is not None:  # the bookmark's title is not a line of its page: it still opens a section
                page.lines.insert(0, Line(title, 0, 0, -1, -1, 0, False, level))
        return
    body = _body_size(pages)
    if not body:
        return
    larger = sorted({ln.size for p in pages for ln in p.lines if ln.size >= body * 1.15}, reverse=True)[:3]
    for page in pages:
        for ln in page.lines:
            short = len(ln.text) <= 120 and not TERMINAL.search(ln.text)
            if short and ln.size in larger:
                ln.heading = larger.index(ln.size) + 1
            elif short and ln.bold and abs(ln.size - body) < 0.5 and len(ln.text) <= 80:
                ln.heading = len(larger) + 1


def _joins(prev: Line, line: Line, spacing: float) -> bool:
    """Whether ``line`` continues ``prev``'s paragraph."""
    if prev.heading or line.heading or prev.table or line.table or BULLET_START.match(line.text) or prev.top < 0:
        return False
    if line.paragraph != prev.paragraph:  # OCR's own paragraphs (or a text line after an OCR one)
        return False
    if line.top < prev.top - 1:  # back up the page: the next column, read like the next page
        return _continues(prev, line)
    if line.top - prev.bottom > spacing * 1.8 + 2:
        return False  # a blank line's worth of space: a new paragraph
    return not (TERMINAL.search(prev.text) and prev.x1 < line.x1 * 0.85)  # a short last line ends one


def _compose(pages: list[Page]) -> tuple[str, list[int]]:
    """The text, paragraph by paragraph, and where each page starts in it. A paragraph that runs
    over a page break stays one paragraph."""
    gaps = [b.top - a.bottom for p in pages for a, b in zip(p.lines, p.lines[1:], strict=False) if b.top > a.bottom]
    spacing = statistics.median(gaps) if gaps else 4.0
    text, starts = "", []
    prev: Line | None = None
    item = False  # the paragraph being written is a list item
    for page in pages:
        first = True
        for line in page.lines:
            if line.table is not None:
                sep, piece = ("\n\n" if text else ""), _table_text(line, prev if first else None)
                if not piece:
                    continue
            elif line.heading:
                sep = "\n\n" if text else ""
                piece = "#" * line.heading + " " + line.text
            elif prev is not None and (_joins(prev, line, spacing) if not first else _continues(prev, line)):
                sep = "" if re.search(r"[A-Za-z]-$", prev.text) and line.text[:1].islower() else " "
                if sep == "" and broken_word(prev.text, line.text):
                    text = text[:-1]  # "commun-" + "ity" is "community"; "one-" + "off" stays "one-off"
                piece = line.text
            else:  # a new paragraph; the next item of a list stays in the list's block, as in Markdown
                starts_item = bool(BULLET_START.match(line.text))
                sep = ("\n" if item and starts_item else "\n\n") if text else ""
                piece, item = line.text, starts_item
            if line.table is not None or line.heading:
                item = False
            if first:
                starts.append(len(text) + len(sep))
                first = False
            text += sep + piece
            prev = line
        if first:  # a page with no text starts where the next text will
            starts.append(len(text) + (2 if text else 0))
    return text, starts


def _table_text(line: Line, before: Line | None) -> str:
    """A table as Markdown parts. A table that opens a page right after one that closed the page
    before, with as many columns, continues it: it keeps that table's header (written again, as
    every part repeats it) rather than taking its first row for one."""
    rows = line.table or []
    header = None
    if before is not None and before.table and rows and len(before.table[0]) == len(rows[0]):
        header = before.table[0]
        if rows[0] == header:
            rows = rows[1:]
        line.table = [header, *rows]  # what a table continuing this one continues
    return "\n\n".join(markdown_table(rows, header))


def _continues(prev: Line, line: Line) -> bool:
    """A page's first line continues the last paragraph of the page before: that one did not end
    a sentence and this one does not open with a capital, a heading or a bullet."""
    if prev.table is not None or line.table is not None:
        return False
    return not (prev.heading or line.heading or TERMINAL.search(prev.text) or BULLET_START.match(line.text)) and (
        line.text[:1].islower()
    )


def read_pdf(data: bytes, max_pages: int) -> PdfText:
    import pdfplumber

    started = time.perf_counter()
    reader, n_pages = check(data, max_pages)
    metadata = _info(reader) | {"pages": n_pages}
    outline = _outline(reader)
    checked = time.perf_counter()
    try:
        with pdfplumber.open(io.BytesIO(data)) as pdf:
            pages: list[Page] = []
            for i, page in enumerate(pdf.pages, start=1):
                pages.append(page_lines(page, i, ocr=sum(p.ocr for p in pages) < MAX_OCR_PAGES))
    except Exception as exc:
        raise PdfError(f"corrupt or unreadable PDF ({exc.__class__.__name__}: {exc})") from exc
    laid_out = time.perf_counter()
    _furniture(pages, str(metadata.get("title", "")))
    _headings(pages, outline)
    text, starts = _compose(pages)
    ocr = sum(p.ocr_seconds for p in pages)
    seconds = {"checks": checked - started, "layout": laid_out - checked - ocr, "ocr": ocr,
               "compose": time.perf_counter() - laid_out}  # fmt: skip
    skipped = [(p.number, p.skipped) for p in pages if p.skipped]
    if not text.strip():
        why = f" (pages skipped: {', '.join(str(n) for n, _ in skipped)}; {skipped[0][1]})" if skipped else ""
        raise PdfError(f"the PDF has no extractable text{why}")
    return PdfText(text + "\n", starts, metadata, {p.number for p in pages if p.ocr}, skipped, seconds)
