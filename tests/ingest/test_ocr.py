"""A scanned page is read with Tesseract and found by a search for a phrase on it, marked ``ocr``;
without Tesseract it is skipped with that reason and the rest of the file is still indexed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ingest.pipeline import Ingestor
from rag.compose import compose
from rag.core.config import Settings
from rag.index.embeddings import MiniLMEmbeddings
from tests.fixtures.pdfs import scanned_pdf


def ingest(root: Path, embeddings: MiniLMEmbeddings):  # type: ignore[no-untyped-def]
    (root / "corpus").mkdir(parents=True)
    (root / "corpus" / "minutes.pdf").write_bytes(scanned_pdf())
    settings = Settings(data_dir=root / "data", corpus_dir=root / "corpus")
    index = compose(settings, embeddings).index
    return Ingestor(settings, index).run(), index


def test_a_scanned_page_is_read_and_found(tmp_path: Path, embeddings: MiniLMEmbeddings) -> None:
    report, index = ingest(tmp_path, embeddings)
    assert report.files_ingested == 1 and not report.warnings
    hit = index.search("cooperative bakery peppercorn rent", k=1)[0]
    # the scan's heading, a paragraph of its own in Tesseract's reading, is not run into the text
    assert re.search(r"(?m)^(?:#+ )?Scanned minutes$", hit.text), hit.text
    assert hit.ocr and hit.chunk is not None and hit.chunk.ocr_pages == (2,)
    at = hit.char_start + hit.text.index("lease the old library to a cooperative bakery")
    assert hit.chunk.page_at(at) == 2 and hit.chunk.read_by_ocr(at, at + 20)
    typed = hit.char_start + hit.text.index("These minutes were typed up")
    assert hit.chunk.page_at(typed) == 1 and not hit.chunk.read_by_ocr(typed, typed + 20)


def test_without_tesseract_the_page_is_skipped_with_a_reason(
    tmp_path: Path, embeddings: MiniLMEmbeddings, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pytesseract

    monkeypatch.setattr(pytesseract.pytesseract, "tesseract_cmd", str(tmp_path / "no-tesseract-here"))
    report, index = ingest(tmp_path, embeddings)
    assert report.files_ingested == 1 and not report.files_skipped
    assert [w["kind"] for w in report.warnings] == ["page_skipped"]
    assert "page 2" in report.warnings[0]["reason"] and "Tesseract" in report.warnings[0]["reason"]
    assert index.search("minutes typed up after the meeting", k=1)[0].page_start == 1
    assert all("bakery" not in c.text for c in index.store.iter_all(include_documents=True))


def test_scanned_pages_past_the_files_ocr_budget_are_skipped_with_a_reason(
    tmp_path: Path, embeddings: MiniLMEmbeddings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("ingest.pdf.MAX_OCR_PAGES", 0)  # a budget of none: the one scanned page is past it
    report, _ = ingest(tmp_path, embeddings)
    assert report.files_ingested == 1 and len(report.warnings) == 1
    assert "page 2" in report.warnings[0]["reason"] and "read by OCR" in report.warnings[0]["reason"]
