"""Properties that must hold for any input: chunk offsets, order and coverage; loaders on
arbitrary or damaged bytes give a clear ``LoadError`` (or a document), never a crash or a hang."""

from __future__ import annotations

import io
import re
from functools import cache
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ingest.chunking import HEADING, WORD, SectionChunker, word_count
from ingest.loaders import SUPPORTED, LoadedDocument, LoadError, load_bytes

# Markdown-ish text: headings, bullets, blank lines, sentence ends, odd whitespace and non-ASCII.
_line = st.one_of(
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=120),
    st.builds(lambda lvl, t: "#" * lvl + " " + t, st.integers(1, 6), st.text("abc XYZ é", min_size=1, max_size=20)),
    st.builds(lambda t: "  • " + t, st.text("abc def. ", max_size=60)),
    st.sampled_from(["", " ", "\t", "End. Next!", "word " * 40, "…", "\u00a0"]),
)
documents = st.lists(_line, max_size=60).map("\n".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=documents, max_words=st.integers(20, 80), overlap=st.integers(0, 25), min_words=st.integers(1, 60))
@example(text="0000000000000000", max_words=20, overlap=5, min_words=1)  # one long word was cut into characters
def test_chunks_slice_back_cover_the_text_in_order_and_are_never_empty(
    text: str, max_words: int, overlap: int, min_words: int
) -> None:
    chunker = SectionChunker(max_words, overlap, min_words)
    chunks = chunker.split(text)
    for c in chunks:
        assert text[c.char_start : c.char_end] == c.text
        assert c.text.strip()
        assert word_count(c.text) <= max_words
    starts = [c.char_start for c in chunks]
    assert starts == sorted(starts) and len(set(starts)) == len(starts)
    headings = [(m.start(), m.end()) for m in HEADING.finditer(text)]
    for m in WORD.finditer(text):
        if any(a <= m.start() < b for a, b in headings):
            continue
        assert any(c.char_start <= m.start() and m.end() <= c.char_end for c in chunks), (m.group(), text)


@cache
def _valid_samples() -> dict[str, bytes]:
    """One small valid file per type, for mutation."""
    from docx import Document
    from fpdf import FPDF

    docx_buf = io.BytesIO()
    doc = Document()
    doc.add_heading("Shared spaces", 1)
    doc.add_paragraph("The council and local business opened a shared space. It worked.")
    doc.save(docx_buf)
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    pdf.multi_cell(0, 10, "The council and local business opened a shared space. It worked.")
    md = "---\ntitle: T\n---\n# Shared spaces\nThe council opened a shared space.\n"
    return {
        ".md": md.encode(),
        ".markdown": md.encode(),
        ".txt": b"Shared spaces\n\nThe council opened a shared space.\n",
        ".html": b"<html><body><h1>Shared</h1><p>The council opened a space.</p><script>x()</script></body></html>",
        ".htm": b"<p>The council opened a space.</p>",
        ".pdf": bytes(pdf.output()),
        ".docx": docx_buf.getvalue(),
    }


@st.composite
def damaged(draw: st.DrawFn, suffix: str) -> bytes:
    """Arbitrary bytes, or a valid file truncated, overwritten in places, or with bytes spliced in."""
    if draw(st.booleans()):
        return draw(st.binary(max_size=2048))
    data = bytearray(_valid_samples()[suffix])
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["truncate", "overwrite", "insert"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "truncate":
            del data[at:]
        elif op == "overwrite":
            chunk = draw(st.binary(min_size=1, max_size=16))
            data[at : at + len(chunk)] = chunk
        else:
            data[at:at] = draw(st.binary(min_size=1, max_size=64))
    return bytes(data)


@settings(max_examples=60, deadline=5000, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), suffix=st.sampled_from(SUPPORTED))
def test_every_loader_on_arbitrary_bytes_gives_a_document_or_a_clear_error(data: st.DataObject, suffix: str) -> None:
    payload = data.draw(damaged(suffix))
    try:
        doc = load_bytes(payload, Path(f"fuzz{suffix}"))
    except LoadError as exc:
        assert str(exc).strip() and not re.search(r"Traceback|File \"", str(exc))
    else:
        assert isinstance(doc, LoadedDocument) and isinstance(doc.text, str)
        assert 0 <= doc.content_start <= len(doc.text)
