"""A PDF is read as its reader sees it: each chunk and each quote knows its page, checked against
``pdftotext -f N -l N`` (poppler, a separate PDF reader); running headers and footers are gone;
a hyphenated word is joined; two columns read in order; sections come from the outline, or from
font sizes when there is none."""

from __future__ import annotations

import io
import re
import subprocess
from pathlib import Path

import docx
import pytest

from ingest.pipeline import Ingestor
from rag.answer.pipeline import AnswerPipeline
from rag.compose import compose
from rag.core.chunks import Chunk
from rag.core.config import Settings
from rag.export import to_docx, to_markdown
from rag.index.embeddings import MiniLMEmbeddings
from rag.index.retrieval import SearchIndex
from tests.fixtures.pdfs import HEADER, LEFT_COLUMN, RIGHT_COLUMN, plain_pdf, report_pdf


@pytest.fixture(scope="module")
def pdf_index(tmp_path_factory: pytest.TempPathFactory, embeddings: MiniLMEmbeddings) -> SearchIndex:
    root = tmp_path_factory.mktemp("pdf-corpus")
    corpus = root / "corpus"
    corpus.mkdir()
    (corpus / "review.pdf").write_bytes(report_pdf())
    (corpus / "plain.pdf").write_bytes(plain_pdf())
    settings = Settings(data_dir=root / "data", corpus_dir=corpus)
    index = compose(settings, embeddings).index
    report = Ingestor(settings, index).run()
    assert report.files_ingested == 2 and not report.files_skipped
    return index


def page_text(pdf: Path, page: int) -> str:
    """What poppler's ``pdftotext`` reads on one page, words only (line ends and hyphens aside)."""
    out = subprocess.run(["pdftotext", "-f", str(page), "-l", str(page), str(pdf), "-"],
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    return " ".join(re.sub(r"-\n", "", out).split())


def on_page(quote: str, pdf: Path, page: int) -> bool:
    return " ".join(quote.split()) in page_text(pdf, page)


def chunks(index: SearchIndex, doc_id: str) -> list[Chunk]:
    return sorted((c for c in index.store.iter_all(include_documents=True) if c.doc_id == doc_id),
                  key=lambda c: c.chunk_index)  # fmt: skip


def test_every_chunk_knows_its_pages_and_no_running_furniture_is_indexed(pdf_index: SearchIndex) -> None:
    review = pdf_index.settings.corpus_dir / "review.pdf"
    for c in chunks(pdf_index, "review"):
        if c.is_card:  # the PDF's own properties (title, author), cited where its properties block states them
            assert "was written by Local Government Unit" in c.text
            continue
        assert c.page_start is not None and c.page_end is not None and c.page_start <= c.page_end
        assert HEADER not in c.text and not re.search(r"Page \d of 5", c.text)
        # the chunk's first and last sentences are on its first and last pages, by poppler's reading
        first, last = c.text.split(". ")[0], c.text.rstrip(".").split(". ")[-1]
        assert on_page(first[:40], review, c.page_start), (first, c.page_start)
        assert on_page(last[-40:], review, c.page_end), (last, c.page_end)
    docs = pdf_index.documents()
    assert docs["review"].meta.pages == 5


def test_a_quote_over_a_page_break_is_cited_with_both_pages(pdf_index: SearchIndex) -> None:
    pipeline = AnswerPipeline(pdf_index.settings, pdf_index)
    answer = pipeline.ask("What did the steering group agree with the traders?")
    assert not answer.refused
    cited = [c for c in answer.citations if "steering group" in c.quote]
    assert cited, answer.answer
    c = cited[0]
    assert (c.page_start, c.page_end) == (2, 3)
    pdf = pdf_index.settings.corpus_dir / f"{c.doc_id}.pdf"
    assert on_page(c.quote[:50], pdf, 2) and on_page(c.quote[-50:], pdf, 3)
    turn = {"question": "q", "answer": answer.model_dump()}
    assert "pp. 2-3" in to_markdown([turn])
    word = docx.Document(io.BytesIO(to_docx([turn])))
    assert any("pp. 2-3" in p.text for p in word.paragraphs)


def test_a_quote_on_one_page_is_cited_with_that_page(pdf_index: SearchIndex) -> None:
    pipeline = AnswerPipeline(pdf_index.settings, pdf_index)
    answer = pipeline.ask("How much did each town spend in the first year?")
    cited = answer.citations
    assert cited, answer.answer
    for c in cited:  # the two PDFs hold the same report: either may be cited
        assert c.page_start == c.page_end and c.page_start is not None
        pdf = pdf_index.settings.corpus_dir / f"{c.doc_id}.pdf"
        assert on_page(c.quote, pdf, c.page_start), (c.quote, c.page_start)
    assert any("nine thousand pounds" in c.quote and c.page_start == 3 for c in cited)
    hits = pdf_index.search("four and nine thousand pounds", k=3)
    assert hits[0].page_start == 3  # search hits carry the page too


def test_hyphenation_columns_and_sections(pdf_index: SearchIndex) -> None:
    for doc_id in ("review", "plain"):
        text = " ".join(c.text for c in chunks(pdf_index, doc_id))
        assert "local community to run the space" in text and "commun-" not in text
        left_end, right_start = text.index(LEFT_COLUMN[-1]), text.index(RIGHT_COLUMN[0])
        assert text.index(LEFT_COLUMN[0]) < left_end < right_start < text.index(RIGHT_COLUMN[-1])
        cost = next(c for c in chunks(pdf_index, doc_id) if "nine thousand pounds" in c.text)
        assert cost.section == "How the spaces were set up > What it cost", doc_id
        lessons = next(c for c in chunks(pdf_index, doc_id) if "traders' contact" in c.text)
        assert lessons.section == "Lessons" and lessons.page_start == 5
