"""Scanned pages read with Tesseract (Debian's ``tesseract-ocr`` and ``tesseract-ocr-eng``, through
``pytesseract``; local, no network). A page with no text layer but an image is rendered at 300 dpi
and read line by line; without Tesseract the page is skipped and the reason reported."""

from __future__ import annotations

import logging
import shutil
from typing import Any

logger = logging.getLogger(__name__)

DPI = 300
MAX_OCR_PAGES = 100  # per file: at one to two seconds a page, a scanned book is work for a batch, not an ingest
OVER_BUDGET = f"it is a scanned image beyond the first {MAX_OCR_PAGES} scanned pages of the file read by OCR"
NO_TESSERACT = (
    "it is a scanned image and Tesseract OCR is not installed (apt-get install tesseract-ocr tesseract-ocr-eng)"
)


def tesseract() -> Any | None:
    """The ``pytesseract`` module when the Tesseract program can be run, else None."""
    try:
        import pytesseract
    except ImportError:
        return None
    return pytesseract if shutil.which(pytesseract.pytesseract.tesseract_cmd) else None


def is_scanned(page: Any) -> bool:
    """No text layer, but an image: a scan (a blank page has neither)."""
    return not page.chars and bool(page.images)


def ocr_lines(page: Any, reader: Any) -> list[tuple[str, float, float, float, float, float, int]]:
    """The page's text lines as ``(text, x0, x1, top, bottom, height, paragraph)`` in PDF points,
    in Tesseract's reading order (block, paragraph, line); ``paragraph`` numbers Tesseract's
    paragraphs, so a heading it sets apart stays apart."""
    image = page.to_image(resolution=DPI).original
    data = reader.image_to_data(image, output_type=reader.Output.DICT, config="--psm 3")
    scale = 72 / DPI
    lines: dict[tuple[int, int, int], list[int]] = {}
    for i, word in enumerate(data["text"]):
        if str(word).strip() and float(data["conf"][i]) >= 0:
            lines.setdefault((data["block_num"][i], data["par_num"][i], data["line_num"][i]), []).append(i)
    out = []
    paragraphs = {key[:2]: n for n, key in enumerate(dict.fromkeys(k[:2] for k in lines))}
    for key, words in lines.items():
        text = " ".join(str(data["text"][i]).strip() for i in words)
        x0 = min(data["left"][i] for i in words) * scale
        x1 = max(data["left"][i] + data["width"][i] for i in words) * scale
        top = min(data["top"][i] for i in words) * scale
        bottom = max(data["top"][i] + data["height"][i] for i in words) * scale
        out.append((text, x0, x1, top, bottom, round(bottom - top, 1), paragraphs[key[:2]]))
    return out
