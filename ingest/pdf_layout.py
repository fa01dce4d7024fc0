"""One PDF page as text lines with position, size and weight, in reading order (``pdfplumber``):
ruled tables found and kept as rows, the rest read by region, two columns one after the other."""

from __future__ import annotations

import logging
import statistics
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


@dataclass
class Page:
    number: int  # 1-based, as a PDF viewer shows it
    width: float
    lines: list[Line] = field(default_factory=list)
    ocr: bool = False  # read from a scanned image
    skipped: str = ""  # why the page's text could not be read


def page_lines(page: Any, number: int, ocr: bool = True) -> Page:
    """The page's text lines in reading order, with size and weight; a scanned page's by OCR
    (unless ``ocr`` is off: the file has used its OCR budget)."""
    out = Page(number, float(page.width))
    if is_scanned(page):
        reader = tesseract()
        if reader is None or not ocr:
            out.skipped = NO_TESSERACT if reader is None else OVER_BUDGET
        else:
            out.ocr = True
            out.lines = [Line(text, x0, x1, top, bottom, size, False) for text, x0, x1, top, bottom, size in
                         ocr_lines(page, reader)]  # fmt: skip
        return out
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
    """The page, or on a two-column page: what is above the columns, the left column, the right
    column, and what is below them, in that order. Columns are found by a gutter: a vertical line
    in the middle third that (almost) no word crosses, with text on both sides of it."""
    words = page.extract_words()
    if len(words) < 16:
        return [page]
    width, height = float(page.width), float(page.height)
    crossing, gutter = min(
        (sum(1 for w in words if w["x0"] < x < w["x1"]), x) for x in (width * (0.35 + 0.01 * i) for i in range(31))
    )
    left = [w for w in words if w["x1"] <= gutter]
    right = [w for w in words if w["x0"] >= gutter]
    if crossing > 0.05 * len(words) or len(left) < 8 or len(right) < 8:
        return [page]
    top = min(w["top"] for w in right)
    bottom = max(w["bottom"] for w in right)
    rows: dict[int, list[Any]] = {}
    for w in words:
        rows.setdefault(round(float(w["top"]) / 3), []).append(w)
    gaps = [min(w["x0"] for w in row if w["x0"] >= gutter) - max(w["x1"] for w in row if w["x1"] <= gutter)
            for row in rows.values()
            if any(w["x0"] >= gutter for w in row) and any(w["x1"] <= gutter for w in row)]  # fmt: skip
    if len(gaps) < 4 or statistics.median(gaps) < 0.03 * width:  # word spaces, not a gutter
        return [page]
    boxes = [(0, 0, width, top - 0.5), (0, top - 0.5, gutter, bottom + 0.5), (gutter, top - 0.5, width, bottom + 0.5),
             (0, bottom + 0.5, width, height)]  # fmt: skip
    return [page.within_bbox(box) for box in boxes if box[3] > box[1]]
