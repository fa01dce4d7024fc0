"""One PDF page as text lines with position, size and weight, in reading order (``pdfplumber``):
ruled tables found and kept as rows, the rest read by region, two columns one after the other."""

from __future__ import annotations

import functools
import logging
import re
import statistics
import time
from dataclasses import dataclass, field
from typing import Any

from ingest.ocr import NO_TESSERACT, OVER_BUDGET, is_scanned, ocr_lines, tesseract
from ingest.tables import clean_rows

logger = logging.getLogger(__name__)


@dataclass
class Line:
    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    size: float
    bold: bool
    heading: int = 0  # Markdown level, 0 for body text
    table: list[list[str]] | None = None  # a table's rows (the line's text is then empty)
    paragraph: int = -1  # the paragraph OCR put the line in (-1: a text-layer line)


@dataclass
class Page:
    number: int  # 1-based, as a PDF viewer shows it
    width: float
    lines: list[Line] = field(default_factory=list)
    ocr: bool = False  # read from a scanned image
    ocr_seconds: float = 0.0
    skipped: str = ""  # why the page's text could not be read


def _white(color: Any) -> bool:
    """A fill colour a reader cannot tell from the white page (gray 1, RGB 1 1 1, CMYK 0 0 0 0): text
    drawn in it is not the document's content (see ``ingest.hidden``)."""
    if not isinstance(color, list | tuple) or not color:
        return False
    values = [float(v) for v in color if isinstance(v, int | float)]
    if len(values) != len(color):
        return False
    return all(v >= 0.97 for v in values) if len(values) in (1, 3) else len(values) == 4 and max(values) <= 0.03


def page_lines(page: Any, number: int, ocr: bool = True) -> Page:
    """The page's text lines in reading order, with size and weight; a scanned page's by OCR
    (unless ``ocr`` is off: the file has used its OCR budget)."""
    out = Page(number, float(page.width))
    if is_scanned(page):
        reader = tesseract()
        if reader is None or not ocr:
            out.skipped = NO_TESSERACT if reader is None else OVER_BUDGET
        else:
            out.ocr, started = True, time.perf_counter()
            out.lines = [Line(text, x0, x1, top, bottom, size, False, paragraph=par)
                         for text, x0, x1, top, bottom, size, par in ocr_lines(page, reader)]  # fmt: skip
            out.ocr_seconds = time.perf_counter() - started
        return out
    page = page.filter(lambda obj: not (obj.get("object_type") == "char" and _white(obj.get("non_stroking_color"))))
    tables = _tables(page)
    boxes = [box for box, _ in tables]
    text_only = page.filter(lambda obj: not any(_inside(obj, box) for box in boxes)) if boxes else page
    for region in _regions(text_only):  # a table's columns are not the page's
        for raw in region.extract_text_lines(return_chars=True, strip=True):
            text = " ".join(str(raw["text"]).split())
            chars = [c for c in raw.get("chars", []) if str(c.get("text", "")).strip()]
            if not text or not chars:
                continue
            size = statistics.median(float(c.get("size", 0.0)) for c in chars)
            bold = all("bold" in str(c.get("fontname", "")).lower() for c in chars)
            out.lines.append(Line(text, float(raw["x0"]), float(raw["x1"]), float(raw["top"]), float(raw["bottom"]),
                                  round(size, 1), bold))  # fmt: skip
    for (x0, top, x1, bottom), rows in tables:  # each table where it stands, between the lines
        at = next((i for i, ln in enumerate(out.lines) if ln.top > top), len(out.lines))
        out.lines.insert(at, Line("", x0, x1, top, bottom, 0.0, False, table=rows))
    return out


def _tables(page: Any) -> list[tuple[tuple[float, float, float, float], list[list[str]]]]:
    """The page's ruled tables: bounding box and rows of cell text."""
    try:
        found = page.find_tables()
    except Exception:
        logger.debug("table detection failed on page %s", page.page_number, exc_info=True)
        return []
    out = []
    for table in found:
        rows = clean_rows(table.extract())
        if len(rows) >= 2 and len(rows[0]) >= 2:
            x0, top, x1, bottom = (float(v) for v in table.bbox)
            out.append(((x0, top, x1, bottom), rows))
    return out


def _inside(obj: dict[str, Any], box: tuple[float, float, float, float]) -> bool:
    x0, top, x1, bottom = box
    cx, cy = (obj["x0"] + obj["x1"]) / 2, (obj["top"] + obj["bottom"]) / 2
    return x0 <= cx <= x1 and top <= cy <= bottom


def _regions(page: Any) -> list[Any]:
    """The page, or on a page with two columns: what is above them, the left column, the right
    column, and what is below them, in that order. A gutter is a vertical line in the middle third
    that no word crosses on at least four rows with text well apart on both sides of it; the
    columns are the band of such rows, and lines above and below the band are read across."""
    words = page.extract_words()
    if len(words) < 16:
        return [page]
    width, height = float(page.width), float(page.height)
    rows: list[list[Any]] = []  # words whose tops are within 3 pt of the row's first: one row
    for w in sorted(words, key=lambda w: float(w["top"])):
        if rows and float(w["top"]) - float(rows[-1][0]["top"]) <= 3:
            rows[-1].append(w)
        else:
            rows.append([w])

    def split_rows(x: float) -> list[list[Any]]:
        out = []
        for row in rows:
            left = [w["x1"] for w in row if w["x1"] <= x]
            right = [w["x0"] for w in row if w["x0"] >= x]
            if left and right and len(left) + len(right) == len(row) and min(right) - max(left) >= 0.03 * width:
                out.append(row)
        return out

    counts = {x: len(split_rows(x)) for x in (width * (0.35 + 0.01 * i) for i in range(31))}
    best = [x for x, n in counts.items() if n == max(counts.values())]
    gutter = best[len(best) // 2]  # the middle of the widest clear band, not its edge
    band = split_rows(gutter)
    if len(band) < 4:
        return [page]
    top = min(float(w["top"]) for row in band for w in row)
    bottom = max(float(w["bottom"]) for row in band for w in row)
    for row in rows:  # the columns run on, one side at a time, until a line runs across the gutter
        if min(float(w["top"]) for w in row) < top:
            continue
        if any(w["x0"] < gutter < w["x1"] for w in row) or min(float(w["top"]) for w in row) - bottom > 0.06 * height:
            break  # a line across the gutter, or a wide gap (a footer far below): the columns have ended
        bottom = max(bottom, max(float(w["bottom"]) for w in row))
    inside = [w for w in words if w["top"] >= top - 1 and w["bottom"] <= bottom + 1]
    if sum(1 for w in inside if w["x0"] < gutter < w["x1"]) > 0.05 * len(inside):
        return [page]  # words run across the gutter inside the band: not columns after all
    boxes = [(0, 0, width, top - 0.5), (0, top - 0.5, gutter, bottom + 0.5), (gutter, top - 0.5, width, bottom + 0.5),
             (0, bottom + 0.5, width, height)]  # fmt: skip
    return [page.within_bbox(box) for box in boxes if box[3] > box[1]]


@functools.cache
def _words() -> frozenset[str]:
    """Whole English words: the embedding model's WordPiece vocabulary (its wheel is installed
    with the product), to tell a word broken at a line end from a hyphenated compound."""
    try:
        from rag.index.embeddings import default_model_path

        vocab = (default_model_path() / "vocab.txt").read_text(encoding="utf-8").split()
    except Exception:
        logger.debug("no word list for de-hyphenation", exc_info=True)
        return frozenset()
    return frozenset(w for w in vocab if w.isalpha())


def broken_word(line: str, following: str) -> bool:
    """``commun-`` + ``ity`` is one word broken at the line end; ``one-`` + ``off`` is the compound
    "one-off" (both halves words, the whole not): its hyphen stays."""
    left = re.search(r"([A-Za-z]+)-$", line)
    right = re.match(r"[a-z]+", following)
    if left is None or right is None:
        return False
    a, b, words = left.group(1).lower(), right.group(0), _words()
    return not (a in words and b in words and a + b not in words)
