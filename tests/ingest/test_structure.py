"""Structure kept from real files: a PDF table across a page break, a Word document's tables in
place and its footnotes, an HTML page's tables, and a page saved from GOV.UK read to its content."""

from __future__ import annotations

import io
import re
import subprocess
import zipfile
from pathlib import Path

import pytest

from ingest.loaders import load_bytes
from ingest.pipeline import Ingestor
from rag.answer.pipeline import AnswerPipeline
from rag.compose import compose
from rag.core.config import Settings
from rag.index.embeddings import MiniLMEmbeddings
from rag.index.retrieval import SearchIndex
from tests.fixtures.pdfs import COSTS_HEADER, TOWNS, cost_row, table_pdf

HEADER_ROW = "| " + " | ".join(COSTS_HEADER) + " |"


@pytest.fixture(scope="module")
def table_index(tmp_path_factory: pytest.TempPathFactory, embeddings: MiniLMEmbeddings) -> SearchIndex:
    root = tmp_path_factory.mktemp("tables")
    (root / "corpus").mkdir()
    (root / "corpus" / "costs.pdf").write_bytes(table_pdf())
    settings = Settings(data_dir=root / "data", corpus_dir=root / "corpus")
    index = compose(settings, embeddings).index
    assert Ingestor(settings, index).run().files_ingested == 1
    return index


def test_a_pdf_table_is_kept_in_whole_rows_each_part_with_its_header(table_index: SearchIndex) -> None:
    parts = sorted((c for c in table_index.store.iter_all(include_documents=True) if "| Town" in c.text),
                   key=lambda c: c.chunk_index)  # fmt: skip
    assert len(parts) >= 2 and any(p.page_start == 2 for p in parts)  # it runs onto page 2
    rows = []
    for part in parts:
        lines = part.text.splitlines()
        assert lines[0] == HEADER_ROW and set(lines[1].replace("|", "").split()) == {"---"}
        rows += lines[2:]
    assert rows == ["| " + " | ".join(cost_row(i)) + " |" for i in range(len(TOWNS))]  # every row once, in order


def test_a_table_row_answers_and_is_cited_with_its_header_and_page(table_index: SearchIndex) -> None:
    answer = AnswerPipeline(table_index.settings, table_index).ask("What was the first-year cost in Town 38?")
    quotes = [c.quote for c in answer.citations]
    assert "| Town 38 | 2011 | £40,000 |" in quotes and HEADER_ROW in quotes, answer.answer
    row = next(c for c in answer.citations if "Town 38" in c.quote)
    pdf = table_index.settings.corpus_dir / "costs.pdf"
    page = subprocess.run(["pdftotext", "-f", str(row.page_start), "-l", str(row.page_start), str(pdf), "-"],
                          capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert row.page_start == row.page_end == 2 and re.search(r"Town 38\s+2011\s+£40,000", page)


FOOTNOTES_REL = (
    b'<Relationship Id="rIdFn" Target="footnotes.xml" '
    b'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/footnotes"/>'
)
FOOTNOTES_TYPE = (
    b'<Override PartName="/word/footnotes.xml" '
    b'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.footnotes+xml"/>'
)


def _with_footnote(doc_bytes: bytes, note: str) -> bytes:
    """Give the document's second paragraph a footnote, as Word writes one (python-docx cannot)."""
    w = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    notes = (f'<w:footnotes xmlns:w="{w}"><w:footnote w:id="0"><w:p/></w:footnote><w:footnote w:id="1">'
             f"<w:p><w:r><w:t>{note}</w:t></w:r></w:p></w:footnote></w:footnotes>")  # fmt: skip
    src, out = zipfile.ZipFile(io.BytesIO(doc_bytes)), io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "word/document.xml":
                text = data.decode()
                at = [m.end() for m in re.finditer(r"</w:r>", text)][1]  # after the second paragraph's run
                data = (text[:at] + '<w:r><w:footnoteReference w:id="1"/></w:r>' + text[at:]).encode()
            elif item.filename == "word/_rels/document.xml.rels":
                data = data.replace(b"</Relationships>", FOOTNOTES_REL + b"</Relationships>")
            elif item.filename == "[Content_Types].xml":
                data = data.replace(b"</Types>", FOOTNOTES_TYPE + b"</Types>")
            dst.writestr(item, data)
        dst.writestr("word/footnotes.xml", notes)
    return out.getvalue()


def test_word_tables_stand_where_they_are_and_footnotes_are_kept(tmp_path: Path) -> None:
    import docx

    d = docx.Document()
    d.add_heading("Shared back office", level=1)
    d.add_paragraph("Sunderland set up a virtual back office for new businesses.")
    table = d.add_table(rows=3, cols=2)
    for r, (a, b) in enumerate([("Service", "Provider"), ("Payroll", "The council"), ("Legal advice", "A local firm")]):
        table.cell(r, 0).text, table.cell(r, 1).text = a, b
    d.add_heading("Results", level=2)
    d.add_paragraph("Forty firms used it in the first year.", style="List Bullet")
    buf = io.BytesIO()
    d.save(buf)
    data = _with_footnote(buf.getvalue(), "Sunderland City Council, annual report 2012.")
    doc = load_bytes(data, Path("office.docx"))
    assert doc.text[doc.content_start :] == (
        "# Shared back office\n\nSunderland set up a virtual back office for new businesses. (note 1)\n\n"
        "| Service | Provider |\n| --- | --- |\n| Payroll | The council |\n| Legal advice | A local firm |\n\n"
        "## Results\n\n- Forty firms used it in the first year.\n\n"
        "## Notes\n\n1. Sunderland City Council, annual report 2012.\n"
    )


GOVUK = b"""<!DOCTYPE html><html lang="en" class="govuk-template"><head><title>Shared spaces - GOV.UK</title>
<meta name="govuk:first-published-at" content="2021-03-04T09:30:00+00:00"></head>
<body class="govuk-template__body"><a href="#main-content" class="govuk-skip-link">Skip to main content</a>
<div class="gem-c-cookie-banner govuk-cookie-banner" role="region"><p>Cookies on GOV.UK</p></div>
<header role="banner"><a href="https://www.gov.uk">GOV.UK</a><nav>Menu Search</nav></header>
<div class="govuk-width-container"><div class="govuk-phase-banner">BETA This is a new service</div>
<div class="govuk-breadcrumbs"><ol><li>Home</li><li>Housing, local and community</li></ol></div>
<main class="govuk-main-wrapper" id="main-content" role="main">
<h1 class="gem-c-title">Opening a shared space with local business</h1>
<nav class="gem-c-contents-list" aria-label="Contents"><h2>Contents</h2><ol><li>Who it is for</li></ol></nav>
<div class="govuk-govspeak"><h2>Who it is for</h2><p>Councils that want to bring empty shops back into use.</p>
<table><thead><tr><th>Step</th><th>Who</th></tr></thead><tbody><tr><td>Map empty buildings</td><td>Officers</td></tr>
<tr><td>Agree a licence</td><td>Legal team</td></tr></tbody></table></div>
<div class="gem-c-print-link"><button>Print this page</button></div>
<div class="gem-c-feedback"><h2>Is this page useful?</h2><p>Report a problem with this page</p></div>
</main></div><footer class="govuk-footer"><p>All content is available under the Open Government Licence v3.0</p>
</footer></body></html>"""


def test_a_page_saved_from_govuk_ingests_to_its_content_only() -> None:
    doc = load_bytes(GOVUK, Path("shared.html"))
    assert doc.text[doc.content_start :] == (
        "# Opening a shared space with local business\n\n## Who it is for\n\n"
        "Councils that want to bring empty shops back into use.\n\n"
        "| Step | Who |\n| --- | --- |\n| Map empty buildings | Officers |\n| Agree a licence | Legal team |\n"
    )
    assert doc.metadata["date"] == "2021-03-04"


def test_a_metadata_file_gives_a_pdf_the_fields_it_cannot_carry(tmp_path: Path, embeddings: MiniLMEmbeddings) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "costs.pdf").write_bytes(table_pdf())
    meta = corpus / "costs.pdf.meta.yaml"
    meta.write_text("authors: [Ann Lee]\ndate: 2019-04-01\ndoc_type: evaluation\ntopics: [shared spaces]\n")
    (corpus / "gone.pdf.meta.yaml").write_text("authors: [Nobody]\n")
    settings = Settings(data_dir=tmp_path / "data", corpus_dir=corpus)
    index = compose(settings, embeddings).index
    report = Ingestor(settings, index).run()
    assert report.files_ingested == 1
    assert [(Path(s["path"]).name, s["kind"]) for s in report.files_skipped] == [
        ("gone.pdf.meta.yaml", "orphan_metadata")
    ]
    doc = index.documents()["costs"].meta
    assert (doc.authors, doc.date, doc.doc_type, doc.topics) == (
        ("Ann Lee",),
        "2019-04-01",
        "evaluation",
        ("shared spaces",),
    )
    answer = AnswerPipeline(settings, index).ask("Who wrote the costs by town document?")
    assert "Ann Lee" in answer.answer and answer.citations[0].quote.endswith("was written by Ann Lee.")
    meta.write_text("authors: [Bo Chen]\n")  # an edited metadata file re-indexes its document
    assert Ingestor(settings, index).run().files_ingested == 1
    assert index.documents()["costs"].meta.authors == ("Bo Chen",)
