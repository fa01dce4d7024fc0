from __future__ import annotations

from pathlib import Path

import pytest

from ingest.loaders import LoadError, load_bytes


def test_markdown_front_matter_and_offsets_into_the_file() -> None:
    raw = "---\ntitle: Guide\ndate: 2012-05-10\ntopics: [a, b]\n---\n\n# Heading\n\nBody text.\n"
    doc = load_bytes(raw.encode(), Path("g.md"))
    assert doc.metadata == {"title": "Guide", "date": "2012-05-10", "topics": ["a", "b"]}
    assert doc.text == raw and raw[doc.content_start :].lstrip().startswith("# Heading")


def test_markdown_bad_front_matter_is_reported() -> None:
    with pytest.raises(LoadError, match="front matter"):
        load_bytes(b"---\ntitle: [unclosed\n---\nbody\n", Path("x.md"))


def test_html_keeps_structure_and_drops_scripts_and_navigation() -> None:
    html = b"""<html><head><title>Shared spaces</title><meta name="author" content="A. Writer">
    <script>alert('x')</script></head><body><nav>Home | About</nav><h1>Shared spaces</h1>
    <p>Councils can <b>open</b> a hub.</p><ul><li>Find a partner</li><li>Agree a charter</li></ul>
    <footer>Leave a Reply</footer></body></html>"""
    doc = load_bytes(html, Path("s.html"))
    assert doc.metadata["title"] == "Shared spaces" and doc.metadata["authors"] == ["A. Writer"]
    assert (
        doc.text[doc.content_start :]
        == "# Shared spaces\n\nCouncils can open a hub.\n\n- Find a partner\n\n- Agree a charter\n"
    )
    # the page's own properties stand before its text, where a card can cite them
    assert doc.text[: doc.content_start] == "---\ntitle: Shared spaces\nauthors:\n  - A. Writer\n---\n\n"
    assert "alert" not in doc.text and "Leave a Reply" not in doc.text and "Home" not in doc.text


def test_pdf_text_and_metadata(tmp_path: Path) -> None:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_title("Regulation plus")
    pdf.set_author("Hub Team")
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    pdf.multi_cell(0, 10, "The hub took responsibility for carbon neutral homes.")
    pdf.add_page()
    pdf.multi_cell(0, 10, "Second page about seed funding.")
    data = bytes(pdf.output())
    doc = load_bytes(data, Path("r.pdf"))
    assert "carbon neutral homes" in doc.text and "seed funding" in doc.text
    assert doc.metadata["title"] == "Regulation plus" and doc.metadata["authors"] == ["Hub Team"]
    assert doc.metadata["pages"] == 2


def test_docx_headings_lists_and_properties(tmp_path: Path) -> None:
    import docx

    d = docx.Document()
    d.core_properties.title = "Back office"
    d.core_properties.author = "Council"
    d.add_heading("Virtual back office", level=1)
    d.add_paragraph("Entrepreneurs share services.")
    d.add_paragraph("Register online", style="List Bullet")
    path = tmp_path / "b.docx"
    d.save(str(path))
    doc = load_bytes(path.read_bytes(), path)
    assert (
        doc.text[doc.content_start :] == "# Virtual back office\n\nEntrepreneurs share services.\n\n- Register online\n"
    )
    assert doc.metadata["title"] == "Back office" and doc.metadata["authors"] == ["Council"]


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("empty.md", b"", "empty file"),
        ("blank.txt", b"  \n\n ", "empty file"),
        ("binary.txt", b"\x00\x01\x02\x89PNG" * 10, "binary content"),
        ("latin1.txt", "café policy".encode("latin-1"), "not UTF-8"),
        ("corrupt.pdf", b"%PDF-1.7\n this is not really a pdf \x00\xff", "PDF"),
        ("fake.pdf", b"hello, I am text", "not a PDF"),
        ("broken.docx", b"PK\x03\x04 not a zip at all", "Word document"),
        ("image.png", b"\x89PNG....", "unsupported file type .png"),
        ("frontonly.md", b"---\ntitle: x\n---\n\n", "no text after the front matter"),
    ],
)
def test_bad_files_raise_a_readable_reason(name: str, data: bytes, reason: str) -> None:
    with pytest.raises(LoadError, match=reason):
        load_bytes(data, Path(name))
